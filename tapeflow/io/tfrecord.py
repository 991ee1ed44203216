"""TFRecord files: `tf.io.TFRecordWriter`, `TFRecordOptions` and the record reader
behind `tf.data.TFRecordDataset`.

The format is TensorFlow's: each record is

    uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes
    | payload | uint32 masked CRC32C of the payload

and the whole stream may be GZIP or ZLIB compressed. A record whose checksum does not
match, or a file that ends inside a record, raises `tf.errors.DataLossError` naming the
file, the record number and its byte offset; nothing after it is read.

    >>> import tapeflow as tf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'x.tfrecord')
    >>> with tf.io.TFRecordWriter(path) as w:
    ...     w.write(b'hello')
    >>> [r.numpy() for r in tf.data.TFRecordDataset(path)]
    [b'hello']
"""
from __future__ import annotations

import gzip
import io
import struct
import zlib

from tapeflow.framework import errors
from tapeflow.train import crc

_LEN = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_COMPRESSIONS = ("", "GZIP", "ZLIB")


class TFRecordCompressionType:
    """`tf.io.TFRecordCompressionType`."""
    NONE = 0
    ZLIB = 1
    GZIP = 2


def compression_name(value) -> str:
    """'' / 'GZIP' / 'ZLIB' from None, a name, a `TFRecordOptions` or an enum value."""
    if isinstance(value, TFRecordOptions):
        return value.compression_type
    if value is None:
        return ""
    if isinstance(value, int):
        return {0: "", 1: "ZLIB", 2: "GZIP"}[value]
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, bytes):
        value = value.decode()
    name = str(value).upper()
    if name not in _COMPRESSIONS:
        raise ValueError(f"Unsupported compression_type {value!r}: expected None, '', 'GZIP' "
                         "or 'ZLIB'.")
    return name


class TFRecordOptions:
    """`tf.io.TFRecordOptions`: the compression of a TFRecord file."""

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None,
                 output_buffer_size=None, window_bits=None, compression_level=None,
                 compression_method=None, mem_level=None, compression_strategy=None):
        self.compression_type = compression_name(compression_type)
        self.compression_level = compression_level


def _frame(record: bytes) -> bytes:
    head = _LEN.pack(len(record))
    return b"".join((head, _CRC.pack(crc.mask(crc.value(head))), record,
                     _CRC.pack(crc.mask(crc.value(record)))))


class TFRecordWriter:
    """`tf.io.TFRecordWriter(path, options=None)`: writes records to a TFRecord file.

    `options` is a `TFRecordOptions` or a compression name ('GZIP', 'ZLIB', '').
    """

    def __init__(self, path, options=None):
        from tapeflow.io.gfile import _path
        self._path = _path(path)
        kind = compression_name(options)
        level = getattr(options, "compression_level", None)
        level = 6 if level is None or level < 0 else level
        raw = open(self._path, "wb")
        if kind == "GZIP":
            self._f = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0)
            self._raw = raw
        elif kind == "ZLIB":
            self._f, self._raw, self._z = raw, raw, zlib.compressobj(level)
        else:
            self._f, self._raw = raw, raw
        self._kind = kind

    def write(self, record) -> None:
        """Appends one record (bytes, str or a scalar string tensor)."""
        if hasattr(record, "numpy"):
            record = record.numpy()
        if isinstance(record, str):
            record = record.encode("utf-8")
        data = _frame(bytes(record))
        if self._kind == "ZLIB":
            data = self._z.compress(data)
        self._f.write(data)

    def flush(self) -> None:
        if self._kind == "ZLIB":
            self._f.write(self._z.flush(zlib.Z_SYNC_FLUSH))
        self._f.flush()

    def close(self) -> None:
        if self._f is None:
            return
        if self._kind == "ZLIB":
            self._f.write(self._z.flush())
        self._f.close()
        if self._raw is not self._f:
            self._raw.close()
        self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _open(path: str, kind: str, buffer_size=None):
    from tapeflow.io.gfile import _not_found
    try:
        raw = open(path, "rb", buffering=buffer_size or -1)
    except FileNotFoundError:
        raise _not_found(path) from None
    if kind == "GZIP":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "ZLIB":
        return io.BytesIO(zlib.decompress(raw.read()))
    return raw


def _corrupt(path, index, offset, what):
    return errors.DataLossError(None, None, f"corrupted record at {offset} in {path!r} "
                                f"(record {index}): {what}")


def read_records(path: str, compression_type=None, buffer_size=None):
    """Yields the payloads of the records of one TFRecord file, checking every CRC.

    Raises:
        tf.errors.NotFoundError: the file does not exist.
        tf.errors.DataLossError: a checksum mismatch or a truncated record.
    """
    kind = compression_name(compression_type)
    f = _open(path, kind, buffer_size)
    with f:
        index = offset = 0
        while True:
            head = f.read(12)
            if not head:
                return
            if len(head) < 12:
                raise _corrupt(path, index, offset, "the file ends inside a record header")
            (n,), (want,) = _LEN.unpack_from(head), _CRC.unpack_from(head, 8)
            if crc.mask(crc.value(head[:8])) != want:
                raise _corrupt(path, index, offset, "the length's checksum does not match")
            body = f.read(n + 4)
            if len(body) < n + 4:
                raise _corrupt(path, index, offset, "the file ends inside a record "
                               f"(expected {n} bytes of data)")
            data = body[:n]
            if crc.mask(crc.value(data)) != _CRC.unpack_from(body, n)[0]:
                raise _corrupt(path, index, offset, "the data's checksum does not match")
            yield data
            index += 1
            offset += 12 + n + 4
