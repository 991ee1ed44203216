"""16-bit colour PNGs, which Pillow reduces to 8 bits: a small reader and writer.

Only what Pillow lacks: non-interlaced images of bit depth 16 with colour type
2 (RGB), 4 (grey + alpha) or 6 (RGBA). Rows are unfiltered as the PNG
specification says (None, Sub, Up, Average, Paeth); written rows are unfiltered
(type 0) and deflated with zlib.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def header(data: bytes):
    """(width, height, bit depth, colour type, interlace) from the IHDR chunk."""
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return width, height, depth, color, interlace


def is_deep_color(data: bytes) -> bool:
    """Whether `data` is a PNG this module reads (16-bit, colour or grey+alpha)."""
    if len(data) < 29 or data[12:16] != b"IHDR":
        return False
    _, _, depth, color, interlace = header(data)
    return depth == 16 and color in (2, 4, 6) and interlace == 0


def _chunks(data: bytes):
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> np.ndarray:
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        kind, line = int(rows[y, 0]), rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 255
        elif kind == 1:        # each byte adds the reconstructed byte bpp to its left
            cur = (np.cumsum(line.reshape(-1, bpp), axis=0) & 255).reshape(-1)
        else:
            cur = line.copy()
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
                if kind == 3:
                    cur[i] = (cur[i] + (left + up) // 2) & 255
                else:          # Paeth: the neighbour closest to left + up - corner
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                    cur[i] = (cur[i] + pred) & 255
        out[y] = cur
        prev = cur
    return out.astype(np.uint8)


def decode(data: bytes) -> np.ndarray:
    """[height, width, channels] uint16 pixels of a 16-bit colour PNG."""
    width, height, _, color, _ = header(data)
    channels = _CHANNELS[color]
    idat = b"".join(body for kind, body in _chunks(data) if kind == b"IDAT")
    raw = zlib.decompress(idat)
    stride = width * channels * 2
    if len(raw) != height * (stride + 1):
        raise ValueError(f"PNG image data has {len(raw)} bytes; expected "
                         f"{height * (stride + 1)} for {width}x{height}")
    pixels = _unfilter(raw, height, stride, channels * 2)
    return pixels.view(">u2").reshape(height, width, channels).astype(np.uint16)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def encode(pixels: np.ndarray, level: int = 6) -> bytes:
    """A 16-bit PNG of [height, width, 1-4] uint16 pixels."""
    height, width, channels = pixels.shape
    color = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = pixels.astype(">u2").reshape(height, width * channels).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, color, 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, level))
            + _chunk(b"IEND", b""))
