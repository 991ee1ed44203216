"""A minimal PNG encoder and decoder (zlib + struct), so tapeflow needs no imaging library.

Only what tapeflow's plots and sample grids need: 8-bit grayscale, RGB or RGBA images,
written with filter type 0 (none) per scanline. `read_png` reads back the files this module
writes (and any non-interlaced 8-bit PNG using the five standard filters), which keeps tests
honest without another dependency.

    >>> import numpy as np, os, tempfile
    >>> img = np.zeros((2, 3, 3), dtype=np.uint8); img[0, 0] = (255, 0, 0)
    >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> write_png(path, img)
    >>> back = read_png(path)
    >>> back.shape, back[0, 0].tolist()
    ((2, 3, 3), [255, 0, 0])
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types by channel count: gray, (gray+alpha), RGB, RGBA.
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}
_CHANNELS = {v: k for k, v in _COLOR_TYPES.items()}


def _chunk(kind: bytes, data: bytes) -> bytes:
    # The CRC covers the chunk type and data, not the length.
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(image) -> bytes:
    """Encodes an image as PNG bytes.

    Args:
        image: array of shape (H, W) or (H, W, C) with C in 1..4. Integer arrays are taken
            as 0..255; floating arrays as 0..1 (clipped).

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: if the shape is not an image shape.
    """
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in _COLOR_TYPES or 0 in img.shape:
        raise ValueError(f"encode_png expects an (H, W) or (H, W, C<=4) image, got shape "
                         f"{np.shape(image)}")
    if img.dtype.kind == "f":
        img = np.round(np.clip(img, 0.0, 1.0) * 255.0)
    img = np.clip(img, 0, 255).astype(np.uint8)
    h, w, c = img.shape
    # Each scanline starts with its filter-type byte (0 = none).
    raw = np.zeros((h, 1 + w * c), dtype=np.uint8)
    raw[:, 1:] = img.reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPES[c], 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + _chunk(b"IEND", b""))


def write_png(path: str, image) -> None:
    """Writes `image` (see `encode_png`) to `path` as a PNG file."""
    data = encode_png(image)
    with open(path, "wb") as f:
        f.write(data)


def _paeth(a, b, c):
    p = a.astype(np.int16) + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def decode_png(data: bytes) -> np.ndarray:
    """Decodes 8-bit, non-interlaced PNG bytes into an (H, W, C) uint8 array.

    Raises:
        ValueError: if the bytes are not such a PNG (bad signature, CRC, or an unsupported
            bit depth, colour type or interlace).
    """
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG file: bad signature")
    pos, header, idat = 8, None, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"corrupt PNG: CRC mismatch in chunk {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError("corrupt PNG: no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = header
    if depth != 8 or ctype not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: bit depth {depth}, colour type {ctype}, "
                         f"interlace {interlace} (8-bit, non-interlaced only)")
    c = _CHANNELS[ctype]
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), dtype=np.uint8)
    prev = np.zeros(w * c, dtype=np.uint8)
    for y in range(h):
        ftype, line = raw[y, 0], raw[y, 1:].copy()
        if ftype == 1 or ftype == 3 or ftype == 4:
            # Sub/Average/Paeth depend on the reconstructed byte to the left: go pixel by
            # pixel (c bytes at a time); these filters never occur in files we write.
            for x in range(0, w * c, c):
                left = line[x - c:x] if x else np.zeros(c, np.uint8)
                up = prev[x:x + c]
                upleft = prev[x - c:x] if x else np.zeros(c, np.uint8)
                if ftype == 1:
                    pred = left
                elif ftype == 3:
                    pred = ((left.astype(np.int16) + up) // 2).astype(np.uint8)
                else:
                    pred = _paeth(left, up, upleft).astype(np.uint8)
                line[x:x + c] = line[x:x + c] + pred
        elif ftype == 2:
            line = line + prev
        elif ftype != 0:
            raise ValueError(f"corrupt PNG: unknown filter type {ftype} on row {y}")
        out[y] = line
        prev = line
    return out.reshape(h, w, c)


def read_png(path: str) -> np.ndarray:
    """Reads a PNG file written by `write_png` (or any 8-bit non-interlaced PNG)."""
    with open(path, "rb") as f:
        return decode_png(f.read())
