"""TensorFlow's tensor bundle: the `.index` table and `.data-*` shards of a checkpoint.

A checkpoint `prefix` is two kinds of files:

* `prefix.index`: a LevelDB-style sorted string table. Its keys are checkpoint keys
  (`'model/_kernel/.ATTRIBUTES/VARIABLE_VALUE'`, ...), its values serialized
  `BundleEntryProto`s (dtype, shape, shard, offset, size, masked CRC32C of the
  bytes); the empty key holds the `BundleHeaderProto`. The table is data blocks
  (keys prefix-compressed, a restart point every 16 keys), an empty meta-index
  block, an index block (one entry per data block) and a 48-byte footer; every block
  is followed by a type byte (0: uncompressed) and the masked CRC32C of block + type.
* `prefix.data-00000-of-00001`: the tensors' bytes, back to back (C order, little
  endian; strings as TensorFlow lays them out, see `_string_bytes`).

Varints are read and written with protobuf's own coder; messages with the
`protobuf` package (`_protos`).

    >>> import os, tempfile, numpy as np
    >>> prefix = os.path.join(tempfile.mkdtemp(), 'ckpt')
    >>> write_bundle(prefix, {'w': np.arange(3, dtype=np.float32)})
    >>> BundleReader(prefix).tensor('w')
    array([0., 1., 2.], dtype=float32)
"""
from __future__ import annotations

import os
import struct

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.train import crc as crc32c
from tapeflow.train._protos import messages

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
_BLOCK_SIZE = 262144          # TensorFlow's table default
_RESTART_INTERVAL = 16
HEADER_KEY = ""

DT_STRING = 7


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, corrupted, not a checkpoint)."""


def _varint():
    from google.protobuf.internal import decoder, encoder
    return encoder._VarintBytes, decoder._DecodeVarint


def dtype_enum(dtype) -> int:
    """TensorFlow's DataType number of a NumPy dtype."""
    number = dtypes.enum_of_numpy(dtype)
    if number is None:
        raise TypeError(f"Cannot store dtype {np.dtype(dtype)} in a checkpoint")
    return number


def numpy_dtype(enum: int):
    """The NumPy dtype of a TensorFlow DataType number."""
    dtype = dtypes.from_enum(enum)
    if dtype is None:
        raise CheckpointError(f"unsupported tensor dtype number {enum} in the checkpoint")
    return dtype.as_numpy_dtype


# -- writing ---------------------------------------------------------------------------------

class _Block:
    def __init__(self, restart_interval):
        self.interval = restart_interval
        self.buf = bytearray()
        self.restarts = [0]
        self.count = 0
        self.last = b""

    def add(self, key: bytes, value: bytes):
        put = _varint()[0]
        shared = 0
        if self.count < self.interval:
            limit = min(len(key), len(self.last))
            while shared < limit and key[shared] == self.last[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buf))
            self.count = 0
        self.buf += put(shared) + put(len(key) - shared) + put(len(value))
        self.buf += key[shared:] + value
        self.last = key
        self.count += 1

    def finish(self) -> bytes:
        return bytes(self.buf) + struct.pack(f"<{len(self.restarts) + 1}I", *self.restarts,
                                             len(self.restarts))


def _write_block(out: bytearray, contents: bytes):
    handle = (len(out), len(contents))
    trailer = b"\x00"
    checksum = crc32c.mask(crc32c.value(contents + trailer))
    out += contents + trailer + struct.pack("<I", checksum)
    return handle


def _handle_bytes(handle) -> bytes:
    put = _varint()[0]
    return put(handle[0]) + put(handle[1])


def table_bytes(items) -> bytes:
    """An SSTable of sorted (key bytes, value bytes) pairs, as TensorFlow writes it."""
    out = bytearray()
    index = _Block(1)
    block = _Block(_RESTART_INTERVAL)
    for key, value in items:
        block.add(key, value)
        if len(block.buf) >= _BLOCK_SIZE:
            index.add(block.last, _handle_bytes(_write_block(out, block.finish())))
            block = _Block(_RESTART_INTERVAL)
    if block.count or not index.count:
        index.add(block.last, _handle_bytes(_write_block(out, block.finish())))
    meta = _write_block(out, _Block(_RESTART_INTERVAL).finish())
    idx = _write_block(out, index.finish())
    footer = _handle_bytes(meta) + _handle_bytes(idx)
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", _MAGIC)
    return bytes(out + footer)


def _length_bytes(n: int) -> bytes:
    # The checksum covers each length as a 4-byte integer (8 bytes past 4 GiB), as
    # TensorFlow's writer does for compatibility with its older files.
    return struct.pack("<I", n) if n <= 0xFFFFFFFF else struct.pack("<Q", n)


def _string_bytes(array):
    """TensorFlow's layout of a string tensor: every length as a varint, the masked CRC32C
    of the lengths, then the strings. Returns (bytes, crc of all)."""
    put = _varint()[0]
    items = [x if isinstance(x, bytes) else str(x).encode("utf-8")
             for x in np.asarray(array, dtype=object).reshape(-1)]
    head = bytearray()
    crc = 0
    for s in items:
        head += put(len(s))
        crc = crc32c.extend(crc, _length_bytes(len(s)))
    length_sum = struct.pack("<I", crc32c.mask(crc))
    crc = crc32c.extend(crc, length_sum)
    body = b"".join(items)
    crc = crc32c.extend(crc, body)
    return bytes(head) + length_sum + body, crc


def tensor_bytes(array):
    """(bytes, dtype number, crc32c) of one tensor value."""
    arr = np.asarray(array)
    if arr.dtype.kind in "USO":
        data, crc = _string_bytes(arr)
        return data, DT_STRING, crc
    enum = dtype_enum(arr.dtype)
    data = np.ascontiguousarray(arr, arr.dtype.newbyteorder("<")).tobytes()
    return data, enum, crc32c.value(data)


def bundle_files(prefix: str) -> tuple[str, str]:
    return prefix + ".index", prefix + ".data-00000-of-00001"


def bundle_contents(tensors: dict) -> tuple[bytes, bytes]:
    """(index bytes, data bytes) of a one-shard bundle of {key: array}."""
    m = messages()
    header = m.BundleHeaderProto(num_shards=1, endianness=0)
    header.version.producer = 1
    entries = [(HEADER_KEY.encode(), header.SerializeToString())]
    data = bytearray()
    for key in sorted(tensors, key=lambda k: k.encode("utf-8")):
        raw, enum, crc = tensor_bytes(tensors[key])
        entry = m.BundleEntryProto(dtype=enum, shard_id=0, offset=len(data), size=len(raw),
                                   crc32c=crc32c.mask(crc))
        for d in np.shape(tensors[key]):
            entry.shape.dim.add(size=int(d))
        data += raw
        entries.append((key.encode("utf-8"), entry.SerializeToString()))
    return table_bytes(entries), bytes(data)


def write_bundle(prefix: str, tensors: dict) -> None:
    """Writes `prefix.index` and `prefix.data-00000-of-00001` (not atomically: see
    `checkpoint.py`, which writes into temporary names and renames)."""
    index, data = bundle_contents(tensors)
    index_path, data_path = bundle_files(prefix)
    with open(data_path, "wb") as f:
        f.write(data)
    with open(index_path, "wb") as f:
        f.write(index)


# -- reading ---------------------------------------------------------------------------------

def _read_block(raw: bytes, handle, path: str) -> bytes:
    offset, size = handle
    end = offset + size + 5
    if offset < 0 or end > len(raw):
        raise CheckpointError(f"{path}: truncated or corrupted (a block at bytes "
                              f"{offset}..{end} lies past the end of the {len(raw)}-byte file)")
    contents = raw[offset:offset + size]
    kind = raw[offset + size:offset + size + 1]
    (stored,) = struct.unpack("<I", raw[offset + size + 1:end])
    if crc32c.mask(crc32c.value(contents + kind)) != stored:
        raise CheckpointError(f"{path}: corrupted (checksum mismatch in the block at byte "
                              f"{offset})")
    if kind != b"\x00":
        raise CheckpointError(f"{path}: compressed table blocks (type {kind[0]}) are not "
                              "supported")
    return contents


def _block_items(block: bytes, path: str):
    get = _varint()[1]
    if len(block) < 4:
        raise CheckpointError(f"{path}: corrupted (a block of {len(block)} bytes)")
    (n_restarts,) = struct.unpack("<I", block[-4:])
    end = len(block) - 4 * (n_restarts + 1)
    if end < 0:
        raise CheckpointError(f"{path}: corrupted (bad restart count {n_restarts})")
    pos, last = 0, b""
    try:
        while pos < end:
            shared, pos = get(block, pos)
            unshared, pos = get(block, pos)
            vlen, pos = get(block, pos)
            key = last[:shared] + block[pos:pos + unshared]
            pos += unshared
            value = block[pos:pos + vlen]
            pos += vlen
            if pos > end or shared > len(last):
                raise IndexError
            last = key
            yield key, value
    except (IndexError, Exception) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: corrupted (bad entry in a table block)") from None


def read_table(path: str) -> list:
    """The (key, value) byte pairs of an SSTable file, every block checksum verified."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < _FOOTER:
        raise CheckpointError(f"{path}: truncated ({len(raw)} bytes; a checkpoint index is at "
                              f"least {_FOOTER})")
    footer = raw[-_FOOTER:]
    if struct.unpack("<Q", footer[40:])[0] != _MAGIC:
        raise CheckpointError(f"{path}: not a checkpoint index (bad magic number; truncated or "
                              "not a TensorFlow checkpoint)")
    get = _varint()[1]
    try:
        pos = 0
        vals = []
        for _ in range(4):
            v, pos = get(footer, pos)
            vals.append(v)
    except IndexError:
        raise CheckpointError(f"{path}: corrupted footer") from None
    index = _read_block(raw, (vals[2], vals[3]), path)
    items = []
    for _, handle_bytes in _block_items(index, path):
        off, p = get(handle_bytes, 0)
        size, _ = get(handle_bytes, p)
        items.extend(_block_items(_read_block(raw, (off, size), path), path))
    return items


class BundleReader:
    """Reads a checkpoint's tensors: entries from `prefix.index`, bytes from the shards."""

    def __init__(self, prefix: str):
        self.prefix = os.fspath(prefix)
        self.index_path = self.prefix + ".index"
        if not os.path.exists(self.index_path):
            raise FileNotFoundError(f"No checkpoint at {self.prefix}: {self.index_path} does "
                                    "not exist")
        m = messages()
        self._entries = {}
        header = None
        from google.protobuf.message import DecodeError
        for key, value in read_table(self.index_path):
            try:
                if key == b"":
                    header = m.BundleHeaderProto.FromString(value)
                else:
                    self._entries[key.decode("utf-8")] = m.BundleEntryProto.FromString(value)
            except DecodeError:
                raise CheckpointError(f"{self.index_path}: corrupted entry for key "
                                      f"{key.decode('utf-8', 'replace')!r}") from None
        if header is None:
            raise CheckpointError(f"{self.index_path}: no bundle header (not a TensorFlow "
                                  "checkpoint index)")
        if header.endianness != 0:
            raise CheckpointError(f"{self.index_path}: big-endian checkpoints are not supported")
        self.num_shards = max(1, header.num_shards)

    def names(self) -> list:
        return sorted(self._entries)

    def has(self, key: str) -> bool:
        return key in self._entries

    def entry(self, key: str):
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"Key {key!r} not found in checkpoint {self.prefix}") from None

    def shape(self, key: str) -> list:
        return [int(d.size) for d in self.entry(key).shape.dim]

    def dtype(self, key: str):
        return numpy_dtype(self.entry(key).dtype)

    def _read(self, shard_id: int, offset: int, size: int):
        """(bytes, file size, path): one tensor's bytes, read with a seek (the data file
        is never loaded whole)."""
        path = f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}"
        if not os.path.exists(path):
            raise CheckpointError(f"Checkpoint {self.prefix}: the data file {path} is missing")
        with open(path, "rb") as f:
            total = os.fstat(f.fileno()).st_size
            f.seek(max(0, offset))
            raw = f.read(max(0, min(size, total - offset)))
        return raw, total, path

    def tensor(self, key: str) -> np.ndarray:
        """The value stored under `key`, its checksum verified."""
        e = self.entry(key)
        if len(e.slices):
            raise CheckpointError(f"{self.prefix}: {key!r} is stored as slices (partitioned "
                                  "variables are not supported)")
        raw, total, path = self._read(e.shard_id, e.offset, e.size)
        if len(raw) != e.size:
            raise CheckpointError(f"{path}: truncated (variable {key!r} needs bytes "
                                  f"{e.offset}..{e.offset + e.size} of {total})")
        shape = self.shape(key)
        if e.dtype == DT_STRING:
            value, crc = _parse_strings(raw, int(np.prod(shape, dtype=np.int64)), path, key)
        else:
            dt = np.dtype(numpy_dtype(e.dtype)).newbyteorder("<")
            count = int(np.prod(shape, dtype=np.int64))
            if count * dt.itemsize != len(raw):
                raise CheckpointError(f"{path}: variable {key!r} has {len(raw)} bytes; shape "
                                      f"{shape} of {dt} needs {count * dt.itemsize}")
            crc = crc32c.value(raw)
            value = np.frombuffer(raw, dt).astype(dt.newbyteorder("="))
        if crc32c.mask(crc) != e.crc32c:
            raise CheckpointError(f"{path}: checksum mismatch for variable {key!r} (the data "
                                  "file is corrupted)")
        return value.reshape(shape)


def _parse_strings(raw: bytes, count: int, path: str, key: str):
    get = _varint()[1]
    try:
        pos, lengths, crc = 0, [], 0
        for _ in range(count):
            n, pos = get(raw, pos)
            lengths.append(n)
            crc = crc32c.extend(crc, _length_bytes(n))
        stored = raw[pos:pos + 4]
        crc = crc32c.extend(crc, stored)
        pos += 4
        out = []
        for n in lengths:
            out.append(raw[pos:pos + n])
            pos += n
        if pos != len(raw):
            raise IndexError
    except IndexError:
        raise CheckpointError(f"{path}: corrupted string tensor {key!r}") from None
    crc = crc32c.extend(crc, b"".join(out))
    return np.array(out, dtype=object), crc
