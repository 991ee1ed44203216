"""tapeflow/ops/image_ops.py: resize, dtype conversion, flips, rotations, crops, pads,
patches — values and gradients against TF."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

METHODS = ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "mitchellcubic"]
# TF registers no gradient for ResizeArea.
TF_HAS_GRAD = {"bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "mitchellcubic"}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("size", [(3, 4), (11, 14), (7, 3)])
def test_resize_matches_tensorflow(rng, real_tf, method, antialias, size):
    x = rng.uniform(0, 255, size=(2, 7, 9, 3)).astype(np.float32)
    grads = method in TF_HAS_GRAD and not (method == "nearest" and antialias)
    tf_parity.check(lambda m, x: m.image.resize(x, size, method, antialias=antialias), [x],
                    grads=grads, rtol=1e-4, atol=2e-3)


def test_resize_of_a_single_image_and_of_integers(rng, real_tf):
    x = rng.integers(0, 255, size=(5, 6, 1)).astype(np.uint8)
    for method in ("bilinear", "nearest"):
        mine, theirs = tf.image.resize(x, [9, 4], method), real_tf.image.resize(x, [9, 4], method)
        assert mine.dtype.name == theirs.dtype.name
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-4)


def test_resize_preserve_aspect_ratio(rng, real_tf):
    x = rng.uniform(size=(10, 20, 3)).astype(np.float32)
    tf_parity.check(lambda m, x: m.image.resize(x, [8, 8], preserve_aspect_ratio=True), [x])


@pytest.mark.parametrize("method", ["bilinear", "nearest", "bicubic", "area", "lanczos3"])
def test_resize_gradients(rng, method):
    # resize computes in float32 (as TF, whatever the input), so the check does too.
    x = rng.normal(size=(1, 4, 5, 2)).astype(np.float32)
    check_gradients(lambda x: tf.image.resize(x, [6, 3], method), [x])
    check_gradients(lambda x: tf.image.resize(x, [2, 3], method, antialias=True), [x])


def test_resize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="3 or 4 dimensions"):
        tf.image.resize(np.zeros((4, 4), np.float32), [2, 2])
    with pytest.raises(ValueError, match="2 elements"):
        tf.image.resize(np.zeros((4, 4, 1), np.float32), [2])
    with pytest.raises(ValueError, match="not implemented"):
        tf.image.resize(np.zeros((4, 4, 1), np.float32), [2, 2], "cubic-ish")


@pytest.mark.parametrize("pair", [("float32", "uint8"), ("uint8", "float32"),
                                  ("uint8", "uint16"), ("uint16", "uint8"), ("int32", "int8"),
                                  ("float32", "float64")])
def test_convert_image_dtype_matches_tensorflow(rng, real_tf, pair):
    src, dst = pair
    if src.startswith("float"):
        x = rng.uniform(-0.2, 1.2, size=(3, 4, 3)).astype(src)
    else:
        x = rng.integers(0, np.iinfo(src).max, size=(3, 4, 3)).astype(src)
    for saturate in (False, True):
        if src.startswith("float") and not saturate and dst.startswith("uint"):
            continue   # out-of-range casts wrap differently per platform, as in TF
        tf_parity.check(lambda m, x: m.image.convert_image_dtype(x, getattr(m, dst),
                                                                 saturate=saturate),
                        [x], grads=False)


GEOMETRY = {
    "flip_left_right": lambda m, x: m.image.flip_left_right(x),
    "flip_up_down": lambda m, x: m.image.flip_up_down(x),
    "rot90_1": lambda m, x: m.image.rot90(x),
    "rot90_2": lambda m, x: m.image.rot90(x, 2),
    "rot90_3": lambda m, x: m.image.rot90(x, k=3),
    "transpose": lambda m, x: m.image.transpose(x),
    "crop": lambda m, x: m.image.crop_to_bounding_box(x, 1, 2, 3, 2),
    "pad": lambda m, x: m.image.pad_to_bounding_box(x, 1, 2, 7, 8),
    "central_crop": lambda m, x: m.image.central_crop(x, 0.6),
    "crop_or_pad": lambda m, x: m.image.resize_with_crop_or_pad(x, 3, 7),
    "resize_with_pad": lambda m, x: m.image.resize_with_pad(x, 7, 3),
    "stateless_flip_lr": lambda m, x: m.image.stateless_random_flip_left_right(x, (1, 2)),
    "stateless_flip_ud": lambda m, x: m.image.stateless_random_flip_up_down(x, (3, 7)),
}


@pytest.mark.parametrize("name", sorted(GEOMETRY))
@pytest.mark.parametrize("batched", [False, True])
def test_geometry_values_and_gradients(rng, real_tf, name, batched):
    x = rng.normal(size=(4, 5, 4, 2) if batched else (5, 4, 2))
    if name == "resize_with_pad":   # resizes compute in float32
        x = x.astype(np.float32)
    check_gradients(lambda x: GEOMETRY[name](tf, x), [x])
    tf_parity.check(GEOMETRY[name], [x.astype(np.float32)], real_tf=real_tf)


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_extract_patches(rng, real_tf, padding):
    x = rng.normal(size=(2, 7, 6, 3))
    def expr(m, x):
        return m.image.extract_patches(x, [1, 3, 2, 1], [1, 2, 3, 1], [1, 1, 2, 1], padding)
    check_gradients(lambda x: expr(tf, x), [x])
    tf_parity.check(expr, [x.astype(np.float32)], real_tf=real_tf)


def test_random_flips_are_seeded_and_flip_whole_images(rng):
    x = rng.normal(size=(8, 3, 4, 1)).astype(np.float32)
    tf.random.set_seed(5)
    a = tf.image.random_flip_left_right(x, seed=1).numpy()
    tf.random.set_seed(5)
    b = tf.image.random_flip_left_right(x, seed=1).numpy()
    np.testing.assert_array_equal(a, b)
    for out, img in zip(a, x):
        assert np.array_equal(out, img) or np.array_equal(out, img[:, ::-1])
    flipped = tf.image.random_flip_up_down(x).numpy()
    assert all(np.array_equal(o, i) or np.array_equal(o, i[::-1]) for o, i in zip(flipped, x))


def test_crops_and_pads_reject_boxes_outside_the_image():
    x = np.zeros((4, 4, 1), np.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="width must be >= target"):
        tf.image.crop_to_bounding_box(x, 0, 2, 2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="offset_height must be >= 0"):
        tf.image.pad_to_bounding_box(x, -1, 0, 6, 6)
    with pytest.raises(ValueError, match="central_fraction"):
        tf.image.central_crop(x, 1.5)


def test_nearest_and_bilinear_sample_positions_equal_tensorflows_on_many_sizes(real_tf):
    # Positions are computed in float32 as TF's kernels do: in float64 a position that
    # lands on a pixel boundary can fall on the other side.
    x = np.arange(37 * 41, dtype=np.float32).reshape(1, 37, 41, 1)
    for h, w in [(3, 9), (5, 12), (6, 8), (11, 13), (15, 40), (24, 7), (29, 31), (74, 82)]:
        for method in ("nearest", "bilinear"):
            np.testing.assert_allclose(tf.image.resize(x, [h, w], method).numpy(),
                                       real_tf.image.resize(x, [h, w], method).numpy(),
                                       rtol=1e-6, atol=1e-3)


def test_stateless_random_crop_takes_tensorflows_window(rng, real_tf):
    x = rng.normal(size=(7, 9, 3)).astype(np.float32)
    for seed in [(1, 2), (5, 9), (0, 0)]:
        np.testing.assert_array_equal(
            tf.image.stateless_random_crop(x, [4, 5, 3], seed).numpy(),
            real_tf.image.stateless_random_crop(x, [4, 5, 3], seed).numpy())
    check_gradients(lambda x: tf.image.stateless_random_crop(x, [4, 5, 3], (1, 2)),
                    [x.astype(np.float64)])


def test_random_crop_is_a_window_of_the_input(rng):
    x = np.arange(7 * 9, dtype=np.float32).reshape(7, 9, 1)
    out = tf.image.random_crop(x, [3, 4, 1], seed=4).numpy()
    top, left = divmod(int(out[0, 0, 0]), 9)
    np.testing.assert_array_equal(out, x[top:top + 3, left:left + 4])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Need value.shape >= size"):
        tf.image.random_crop(x, [8, 4, 1])


def test_image_gradients_and_psnr_match_tensorflow(rng, real_tf):
    x, y = rng.uniform(size=(2, 2, 5, 6, 3))
    tf_parity.check(lambda m, x: m.image.image_gradients(x), [x], real_tf=real_tf)
    tf_parity.check(lambda m, x, y: m.image.psnr(x, y, 1.0), [x.astype(np.float32),
                                                            y.astype(np.float32)],
                    rtol=1e-5, atol=1e-4, real_tf=real_tf)
    check_gradients(lambda x: tf.image.image_gradients(x), [x])
    u, v = (a.astype(np.uint8) for a in rng.integers(0, 256, size=(2, 4, 4, 3)))
    np.testing.assert_allclose(tf.image.psnr(u, v, 255).numpy(),
                               real_tf.image.psnr(u, v, 255).numpy(), rtol=1e-5)


def test_sobel_edges_match_tensorflow(rng, real_tf):
    x = rng.normal(size=(2, 5, 6, 2))
    tf_parity.check(lambda m, x: m.image.sobel_edges(x), [x.astype(np.float32)],
                    real_tf=real_tf)
    check_gradients(lambda x: tf.image.sobel_edges(x), [x])


def test_random_functions_draw_anew_inside_a_traced_function():
    x = np.tile(np.arange(4, dtype=np.float32).reshape(1, 4, 1), (2, 1, 1))

    @tf.function
    def augment(x):
        return (tf.image.random_flip_left_right(x), tf.image.random_crop(x, [2, 2, 1]),
                tf.image.random_brightness(x, 0.5), tf.image.random_hue(
                    tf.image.grayscale_to_rgb(x) / 4.0, 0.2))

    runs = [augment(x) for _ in range(12)]
    firsts = {float(r[0].numpy()[0, 0, 0]) for r in runs}
    assert firsts == {0.0, 3.0}
    assert len({float(r[1].numpy()[0, 0, 0]) for r in runs}) > 1
    assert len({float(r[2].numpy()[0, 0, 0]) for r in runs}) > 1
    assert all(r[3].shape == (2, 4, 3) for r in runs)


def test_resize_of_an_image_whose_size_is_known_only_when_run(rng):
    @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.float32)])
    def shrink(x):
        out = tf.image.resize(x, [4, 5], "bicubic")
        assert out.shape == (4, 5, 3)      # the static shape survives tracing
        return out
    for shape in [(7, 9, 3), (3, 2, 3)]:
        x = rng.uniform(size=shape).astype(np.float32)
        np.testing.assert_array_equal(shrink(x).numpy(),
                                      tf.image.resize(x, [4, 5], "bicubic").numpy())
