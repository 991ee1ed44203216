"""tapeflow.utils.png: files that any PNG reader accepts, and exact round trips."""
import struct
import zlib

import numpy as np
import pytest

from tapeflow.utils.png import PNG_SIGNATURE, decode_png, encode_png, read_png, write_png


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (4, 3, 2), (6, 2, 3), (3, 9, 4)])
def test_round_trip_is_exact_for_uint8(shape, rng):
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    back = decode_png(encode_png(img))
    assert back.shape == (shape + (1,) if len(shape) == 2 else shape)
    np.testing.assert_array_equal(back.reshape(img.shape), img)


def test_float_images_are_scaled_from_unit_range_and_clipped():
    img = np.array([[0.0, 0.5, 1.0, 2.0, -1.0]])
    assert decode_png(encode_png(img))[0, :, 0].tolist() == [0, 128, 255, 255, 0]


def test_file_layout_signature_ihdr_and_crcs(tmp_path):
    path = tmp_path / "x.png"
    write_png(str(path), np.zeros((3, 4, 3), np.uint8))
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
    assert (w, h, depth, ctype) == (4, 3, 8, 2)
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29]) & 0xFFFFFFFF
    assert data.endswith(b"IEND\xaeB`\x82")
    assert read_png(str(path)).shape == (3, 4, 3)


def test_decoder_reverses_all_five_scanline_filters(rng):
    # Other encoders use Sub/Up/Average/Paeth; build such a file by hand and decode it.
    img = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    c, prev, rows = 3, np.zeros(12, np.int32), []
    for y, ftype in enumerate([0, 1, 2, 3, 4]):
        line = img[y].reshape(-1).astype(np.int32)
        left = np.concatenate([np.zeros(c, np.int32), line[:-c]])
        upleft = np.concatenate([np.zeros(c, np.int32), prev[:-c]])
        p = left + prev - upleft
        pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        pred = [0, left, prev, (left + prev) // 2, paeth][ftype]
        rows.append(bytes([ftype]) + ((line - pred) % 256).astype(np.uint8).tobytes())
        prev = line

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    data = (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 5, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    np.testing.assert_array_equal(decode_png(data), img)


def test_corrupt_crc_is_reported():
    data = bytearray(encode_png(np.zeros((2, 2), np.uint8)))
    data[20] ^= 0xFF
    with pytest.raises(ValueError, match="CRC mismatch"):
        decode_png(bytes(data))


@pytest.mark.parametrize("shape", [(3,), (2, 2, 5), (0, 4)])
def test_non_image_shapes_are_rejected_with_the_shape(shape):
    with pytest.raises(ValueError, match=r"got shape"):
        encode_png(np.zeros(shape))
