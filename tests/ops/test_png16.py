"""tapeflow/ops/_png16.py: the 16-bit colour PNG reader and writer, every row filter."""
import struct
import zlib

import numpy as np
import pytest

from tapeflow.ops import _png16


def _paeth(left, up, corner):
    p = left + up - corner
    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
    return left if pa <= pb and pa <= pc else (up if pb <= pc else corner)


def _filter_row(kind, row, prev, bpp):
    """The PNG specification's forward filters, byte by byte."""
    out = []
    for i, byte in enumerate(row):
        left = row[i - bpp] if i >= bpp else 0
        up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
        pred = [0, left, up, (left + up) // 2, _paeth(left, up, corner)][kind]
        out.append((byte - pred) & 255)
    return bytes([kind] + out)


def _png_with_filter(pixels, kinds):
    h, w, c = pixels.shape
    rows = pixels.astype(">u2").reshape(h, w * c).view(np.uint8).astype(int)
    prev = [0] * rows.shape[1]
    raw = b""
    for y in range(h):
        raw += _filter_row(kinds[y % len(kinds)], list(rows[y]), prev, c * 2)
        prev = list(rows[y])
    color = {2: 4, 3: 2, 4: 6}[c]
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png16._chunk(b"IHDR", ihdr)
            + _png16._chunk(b"IDAT", zlib.compress(raw)) + _png16._chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [2, 3, 4])
@pytest.mark.parametrize("kinds", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]])
def test_every_row_filter_decodes(rng, channels, kinds):
    pixels = rng.integers(0, 65536, size=(6, 5, channels)).astype(np.uint16)
    data = _png_with_filter(pixels, kinds)
    assert _png16.is_deep_color(data)
    np.testing.assert_array_equal(_png16.decode(data), pixels)


def test_written_files_read_back(rng):
    pixels = rng.integers(0, 65536, size=(4, 7, 3)).astype(np.uint16)
    np.testing.assert_array_equal(_png16.decode(_png16.encode(pixels)), pixels)


def test_truncated_image_data_is_reported(rng):
    data = _png16.encode(rng.integers(0, 65536, size=(4, 7, 3)).astype(np.uint16))
    header_end = 8 + 25
    short = _png16._chunk(b"IDAT", zlib.compress(b"\x00" * 10))
    with pytest.raises(ValueError, match="expected"):
        _png16.decode(data[:header_end] + short)
