"""CRC32C (Castagnoli) and the "masked" form TensorFlow stores in its files.

`google-crc32c` (a C library wrapper) computes it when installed; otherwise a
table-driven pure-Python loop does (correct, but slow on large tensors).

    >>> hex(value(b"123456789"))
    '0xe3069283'
    >>> unmask(mask(12345))
    12345
"""
from __future__ import annotations

_MASK_DELTA = 0xA282EAD8


def _table():
    poly = 0x82F63B78
    out = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        out.append(c)
    return out


_TABLE = None


def _extend_python(crc: int, data: bytes) -> int:
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    table = _TABLE
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


try:
    import google_crc32c as _g

    def extend(crc: int, data) -> int:
        """The CRC32C of the bytes seen so far (`crc`) followed by `data`."""
        return _g.extend(crc, bytes(data) if not isinstance(data, bytes) else data)
except ImportError:       # pragma: no cover - depends on the environment
    extend = _extend_python


def value(data) -> int:
    """The CRC32C of `data`."""
    return extend(0, data)


def mask(crc: int) -> int:
    """Rotates and offsets a CRC so that a CRC stored inside checksummed data stays robust
    (the LevelDB/TensorFlow convention)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    """The inverse of `mask`."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
