"""tapeflow/ops/image_color_ops.py: colour conversions and adjustments against TF."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

FLOAT_EXPRS = {
    "rgb_to_grayscale": lambda m, x: m.image.rgb_to_grayscale(x),
    "grayscale_to_rgb": lambda m, x: m.image.grayscale_to_rgb(x[..., :1]),
    "rgb_to_hsv": lambda m, x: m.image.rgb_to_hsv(x),
    "hsv_to_rgb": lambda m, x: m.image.hsv_to_rgb(x),
    "adjust_brightness": lambda m, x: m.image.adjust_brightness(x, 0.2),
    "adjust_contrast": lambda m, x: m.image.adjust_contrast(x, 1.7),
    "adjust_gamma": lambda m, x: m.image.adjust_gamma(x, 0.7, 1.3),
    "adjust_saturation": lambda m, x: m.image.adjust_saturation(x, 1.6),
    "adjust_hue": lambda m, x: m.image.adjust_hue(x, -0.3),
    "per_image_standardization": lambda m, x: m.image.per_image_standardization(x),
    "total_variation": lambda m, x: m.image.total_variation(x),
    "stateless_random_brightness": lambda m, x: m.image.stateless_random_brightness(
        x, 0.3, (1, 2)),
    "stateless_random_contrast": lambda m, x: m.image.stateless_random_contrast(
        x, 0.5, 1.5, (1, 2)),
    "stateless_random_saturation": lambda m, x: m.image.stateless_random_saturation(
        x, 0.5, 1.5, (3, 2)),
    "stateless_random_hue": lambda m, x: m.image.stateless_random_hue(x, 0.4, (3, 2)),
}
# Ops TF differentiates (contrast and the HSV-based adjustments are kernels without
# gradients there; tapeflow's compositions have them, checked numerically below).
TF_GRADS = {"rgb_to_grayscale", "grayscale_to_rgb", "adjust_brightness", "adjust_gamma",
            "per_image_standardization", "total_variation", "stateless_random_brightness"}


def _pixels(rng, shape):
    # Distinct channel values, away from ties where max/min and hue sectors switch.
    return rng.uniform(0.05, 0.95, size=shape)


@pytest.mark.parametrize("name", sorted(FLOAT_EXPRS))
def test_values_match_tensorflow(rng, real_tf, name):
    x = _pixels(rng, (2, 4, 5, 3)).astype(np.float32)
    tf_parity.check(FLOAT_EXPRS[name], [x], grads=name in TF_GRADS, rtol=1e-4, atol=2e-5,
                    real_tf=real_tf)


# Ops with no gradient, as in TF (the AdjustContrastv2 kernel): tested for the error below.
NO_GRADIENT_EXPRS = {"adjust_contrast", "stateless_random_contrast"}


@pytest.mark.parametrize("name", sorted(set(FLOAT_EXPRS) - NO_GRADIENT_EXPRS))
def test_gradients(rng, name):
    x = _pixels(rng, (4, 3, 3))
    check_gradients(lambda x: FLOAT_EXPRS[name](tf, x), [x])


@pytest.mark.parametrize("name", ["rgb_to_grayscale", "adjust_brightness", "adjust_contrast",
                                  "adjust_gamma", "adjust_saturation", "adjust_hue",
                                  "per_image_standardization"])
def test_integer_images_match_tensorflow(rng, real_tf, name):
    x = rng.integers(0, 256, size=(4, 5, 3)).astype(np.uint8)
    mine, theirs = FLOAT_EXPRS[name](tf, x), FLOAT_EXPRS[name](real_tf, real_tf.constant(x))
    assert mine.dtype.name == theirs.dtype.name
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-5)


def test_random_adjustments_stay_in_their_ranges(rng):
    x = _pixels(rng, (4, 5, 3)).astype(np.float32)
    delta = tf.image.random_brightness(x, 0.25, seed=3).numpy() - x
    assert np.allclose(delta, delta.flat[0], atol=1e-6) and abs(delta.flat[0]) <= 0.25
    for fn in (lambda: tf.image.random_contrast(x, 0.5, 1.5, seed=1),
               lambda: tf.image.random_saturation(x, 0.5, 1.5, seed=1),
               lambda: tf.image.random_hue(x, 0.2, seed=1)):
        assert fn().shape == x.shape


def test_bad_arguments_are_explained():
    x = np.zeros((2, 2, 3), np.float32)
    with pytest.raises(ValueError, match="upper must be > lower"):
        tf.image.random_contrast(x, 1.5, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 0.5\]"):
        tf.image.random_hue(x, 0.7)
    with pytest.raises(ValueError, match="last dimension of the image must be 3"):
        tf.image.rgb_to_hsv(np.zeros((2, 2, 4), np.float32))
    with pytest.raises(ValueError, match="non-negative"):
        tf.image.adjust_gamma(x, -1.0)


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 7, 3), (2, 9, 4, 1), (3, 2, 16, 17, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adjust_contrast_equals_tensorflow_bit_for_bit(rng, real_tf, shape, dtype):
    # TF's kernel sums each image plane by folding halves in float32: the same rounding.
    x = rng.uniform(-1, 2, size=shape).astype(dtype)
    mine = tf.image.adjust_contrast(x, 1.37)
    theirs = real_tf.image.adjust_contrast(real_tf.constant(x), 1.37)
    assert mine.dtype.name == theirs.dtype.name
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_adjust_contrast_has_no_gradient_as_in_tensorflow():
    image = tf.Variable([[[0.5, 0.0, 0.0]]])
    factor = tf.Variable(0.1)
    with tf.GradientTape() as tape:
        out = tf.image.adjust_contrast(image, factor)
    with pytest.raises(LookupError, match="^gradient registry has no entry for: "
                                          "AdjustContrastv2$"):
        tape.gradient(out, [image, factor])


def test_adjust_contrast_is_one_op_when_traced():
    f = tf.function(lambda x: tf.image.adjust_contrast(x, 0.5))
    graph = f.get_concrete_function(tf.TensorSpec([None, 4, 4, 3], tf.float32)).graph
    assert [n.op.name for n in graph.nodes] == ["AdjustContrastv2"]


def test_adjust_contrast_rejects_low_rank_images_and_vector_factors():
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"input must be at least 3-D, got shape\[1,2\]"):
        tf.image.adjust_contrast(np.zeros((1, 2), np.float32), 2.0)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"contrast_factor must be scalar: \[2\]"):
        tf.image.adjust_contrast(np.zeros((2, 2, 3), np.float32), [2.0, 1.0])
