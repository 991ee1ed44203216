"""tapeflow/ops/image_codec_ops.py: PNG/JPEG/GIF/BMP codecs on Pillow, interchange with TF."""
import io

import numpy as np
import pytest

import tapeflow as tf

PIL = pytest.importorskip("PIL.Image")


def _image(rng, shape=(9, 13, 3), dtype=np.uint8):
    return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)


def _smooth(h=32, w=48):
    # JPEG comparisons use a smooth image: libjpeg variants differ most on noise.
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (h + w)], -1).astype(np.uint8)


def _raw(value):
    return value.numpy() if hasattr(value, "numpy") else value


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png_round_trips_exactly(rng, channels):
    img = _image(rng, (7, 5, channels))
    out = tf.io.decode_png(tf.io.encode_png(img))
    assert out.dtype == tf.uint8
    np.testing.assert_array_equal(out.numpy(), img)


def test_png_16_bit_round_trips_and_converts_to_8_bit(rng):
    img = _image(rng, (4, 6, 1), np.uint16)
    png = tf.io.encode_png(img)
    np.testing.assert_array_equal(tf.io.decode_png(png, dtype=tf.uint16).numpy(), img)
    eight = tf.io.decode_png(png).numpy()
    np.testing.assert_array_equal(eight, (img >> 8).astype(np.uint8))


@pytest.mark.parametrize("source_channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_png_decoding_equals_tensorflows_for_every_conversion(rng, real_tf, source_channels,
                                                               dtype):
    # 8- and 16-bit files, decoded to each channel count and dtype: grey from colour uses
    # libpng's fixed-point weights, 16 -> 8 bits keeps the high byte, as in TF.
    for depth in (np.uint8, np.uint16):
        img = _image(rng, (6, 9, source_channels), depth)
        data = real_tf.io.encode_png(img).numpy()
        for channels in (0, 1, 3, 4):
            want = real_tf.io.decode_png(data, channels=channels,
                                         dtype=getattr(real_tf, dtype)).numpy()
            got = tf.io.decode_png(data, channels=channels, dtype=getattr(tf, dtype)).numpy()
            np.testing.assert_array_equal(got, want)


def test_16_bit_colour_png_round_trips_through_tensorflow(rng, real_tf):
    img = _image(rng, (5, 6, 3), np.uint16)
    data = _raw(tf.io.encode_png(img))
    np.testing.assert_array_equal(real_tf.io.decode_png(data, dtype=real_tf.uint16).numpy(),
                                  img)
    np.testing.assert_array_equal(tf.io.decode_png(data, dtype=tf.uint16).numpy(), img)


def test_png_channels_argument_converts(rng):
    img = _image(rng, (4, 6, 3))
    png = tf.io.encode_png(img)
    assert tf.io.decode_png(png, channels=4).shape == (4, 6, 4)
    assert tf.io.decode_png(png, channels=1).shape == (4, 6, 1)


def test_png_written_by_tensorflow_reads_identically(rng, real_tf):
    for shape in [(6, 7, 3), (6, 7, 4), (6, 7, 1)]:
        img = _image(rng, shape)
        data = real_tf.io.encode_png(img).numpy()
        np.testing.assert_array_equal(tf.io.decode_png(data).numpy(), img)
        np.testing.assert_array_equal(tf.image.decode_image(data).numpy(), img)


def test_png_written_by_tapeflow_reads_in_tensorflow(rng, real_tf):
    img = _image(rng, (6, 7, 3))
    img16 = _image(rng, (6, 7, 1), np.uint16)
    data, data16 = _raw(tf.io.encode_png(img)), _raw(tf.io.encode_png(img16))
    np.testing.assert_array_equal(real_tf.io.decode_png(data).numpy(), img)
    np.testing.assert_array_equal(real_tf.io.decode_png(data16, dtype=real_tf.uint16).numpy(),
                                  img16)


@pytest.mark.parametrize("channels", [0, 1, 3])
def test_jpeg_decoding_equals_tensorflows_accurate_dct(rng, real_tf, channels):
    for img in (_smooth(), _image(rng, (16, 24, 3))):
        for quality in (50, 95):
            data = real_tf.io.encode_jpeg(img, quality=quality).numpy()
            theirs = real_tf.io.decode_jpeg(data, channels=channels,
                                            dct_method="INTEGER_ACCURATE").numpy()
            np.testing.assert_array_equal(tf.io.decode_jpeg(data, channels=channels).numpy(),
                                          theirs)


def test_jpeg_decoding_is_near_tensorflows_default_fast_dct(real_tf):
    # TF's default dct_method is libjpeg's fast integer DCT, which Pillow cannot select.
    data = real_tf.io.encode_jpeg(_smooth(), quality=95).numpy()
    diff = np.abs(tf.io.decode_jpeg(data).numpy().astype(int)
                  - real_tf.io.decode_jpeg(data).numpy())
    assert diff.max() <= 8 and diff.mean() < 2.0


def test_jpeg_written_by_tapeflow_reads_in_tensorflow(real_tf):
    img = _smooth()
    data = _raw(tf.io.encode_jpeg(img, quality=95))
    theirs = real_tf.io.decode_jpeg(data, dct_method="INTEGER_ACCURATE").numpy()
    assert np.abs(theirs.astype(int) - img).mean() < 2.0
    np.testing.assert_array_equal(tf.io.decode_jpeg(data).numpy(), theirs)


def test_jpeg_quality_changes_size():
    img = _smooth(64, 64)
    assert len(_raw(tf.io.encode_jpeg(img, quality=20))) < len(_raw(tf.io.encode_jpeg(img)))


def test_decode_image_picks_the_codec_by_magic_bytes(rng):
    img = _image(rng, (5, 6, 3))
    frames = [PIL.fromarray(_image(rng, (5, 6, 3))) for _ in range(2)]
    gif, bmp = io.BytesIO(), io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    PIL.fromarray(img).save(bmp, format="BMP")
    assert tf.image.decode_image(tf.io.encode_png(img)).shape == (5, 6, 3)
    assert tf.image.decode_image(tf.io.encode_jpeg(img)).shape == (5, 6, 3)
    assert tf.image.decode_image(gif.getvalue()).shape == (2, 5, 6, 3)
    assert tf.image.decode_image(gif.getvalue(), expand_animations=False).shape == (5, 6, 3)
    np.testing.assert_array_equal(tf.io.decode_bmp(bmp.getvalue()).numpy(), img)
    assert tf.io.decode_gif(gif.getvalue()).shape == (2, 5, 6, 3)


def test_decode_image_float_dtype_scales_to_unit_range(rng):
    img = _image(rng, (3, 4, 3))
    out = tf.image.decode_image(tf.io.encode_png(img), dtype=tf.float32)
    np.testing.assert_allclose(out.numpy(), img / 255.0, rtol=1e-6)


def test_numpy_bytes_scalars_are_accepted(rng):
    img = _image(rng, (3, 4, 3))
    data = _raw(tf.io.encode_png(img))
    for wrapped in (np.array(data, dtype=object), np.bytes_(data)):
        np.testing.assert_array_equal(tf.io.decode_png(wrapped).numpy(), img)


def test_corrupt_png_is_an_invalid_argument_error(rng):
    data = _raw(tf.io.encode_png(_image(rng)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid PNG data"):
        tf.io.decode_png(data[:40])
    with pytest.raises(tf.errors.InvalidArgumentError, match="PNG signature"):
        tf.io.decode_png(b"not a png at all")


def test_corrupt_jpeg_is_an_invalid_argument_error():
    data = _raw(tf.io.encode_jpeg(_smooth()))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid JPEG data"):
        tf.io.decode_jpeg(data[:60])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        tf.image.decode_image(b"\x00\x01\x02\x03garbage")


def test_bad_encode_inputs_are_explained(rng):
    with pytest.raises(tf.errors.InvalidArgumentError, match="3-dimensional"):
        tf.io.encode_png(np.zeros((4, 4), np.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="uint8"):
        tf.io.encode_jpeg(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(TypeError, match="bytes"):
        tf.io.decode_png(3.5)


def test_gif_and_bmp_decode_as_tensorflow(rng, real_tf):
    frames = [PIL.fromarray(_image(rng, (5, 6, 3))) for _ in range(3)]
    gif, bmp = io.BytesIO(), io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    frames[1].save(bmp, format="BMP")
    for data, mine, theirs in [(gif.getvalue(), tf.io.decode_gif, real_tf.io.decode_gif),
                               (bmp.getvalue(), tf.io.decode_bmp, real_tf.io.decode_bmp),
                               (gif.getvalue(), tf.image.decode_image,
                                real_tf.image.decode_image)]:
        np.testing.assert_array_equal(mine(data).numpy(), theirs(data).numpy())
