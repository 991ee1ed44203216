"""`tf.image` colour: grayscale and HSV conversions, brightness, contrast,
saturation, hue and gamma adjustments (fixed and random), per-image
standardization and total variation.

All but `adjust_contrast` (TF's op `AdjustContrastv2`, which has no gradient)
are compositions of differentiable tapeflow ops. Integer images are
adjusted in float32 (via `convert_image_dtype`) and converted back with
saturation, as TF does.

    >>> import tapeflow as tf
    >>> tf.image.adjust_brightness([[[0.25, 0.5, 0.75]]], 0.25).numpy().tolist()
    [[[0.5, 0.75, 1.0]]]
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.ops import array_ops, math_ops, reduce_ops
from tapeflow.ops._shapes import same_as_first
from tapeflow.ops.image_ops import convert_image_dtype


def _as_float(image):
    """(float image, dtype to convert the result back to)."""
    x = as_input(image)
    if x.dtype.is_floating:
        return x, x.dtype
    return convert_image_dtype(x, dtypes.float32), x.dtype


def _back(x, dtype):
    return x if x.dtype == dtype else convert_image_dtype(x, dtype, saturate=True)


def _check_rgb(x, fn):
    if x.shape.rank < 1 or x.shape[-1] != 3:
        raise ValueError(f"{fn}: the last dimension of the image must be 3 (RGB); received "
                         f"shape {x.shape}")


@tf_export("image.rgb_to_grayscale")
def rgb_to_grayscale(images, name=None):
    """Weighted sum of R, G, B (ITU-R 601: 0.2989, 0.5870, 0.1140), keeping a channel axis."""
    x, dt = _as_float(images)
    _check_rgb(x, "rgb_to_grayscale")
    weights = array_ops.constant(np.array([0.2989, 0.5870, 0.1140], x.dtype.as_numpy_dtype))
    gray = reduce_ops.reduce_sum(math_ops.multiply(x, weights), axis=-1, keepdims=True)
    return _back(gray, dt)


@tf_export("image.grayscale_to_rgb")
def grayscale_to_rgb(images, name=None):
    """Repeats the single channel three times."""
    x = as_input(images)
    if x.shape.rank < 2 or x.shape[-1] != 1:
        raise ValueError(f"grayscale_to_rgb: the last dimension must be 1; received shape "
                         f"{x.shape}")
    return array_ops.concat([x, x, x], axis=-1)


def _channels(x):
    return [x[..., i] for i in range(3)]


@tf_export("image.rgb_to_hsv")
def rgb_to_hsv(images, name=None):
    """RGB in [0, 1] to HSV (hue in [0, 1))."""
    x = as_input(images)
    _check_rgb(x, "rgb_to_hsv")
    r, g, b = _channels(x)
    v = reduce_ops.reduce_max(x, axis=-1)
    rng = math_ops.subtract(v, reduce_ops.reduce_min(x, axis=-1))
    zero = array_ops.zeros_like(v)
    safe_v = math_ops.where(math_ops.greater(v, 0), v, array_ops.ones_like(v))
    s = math_ops.where(math_ops.greater(v, 0), math_ops.divide(rng, safe_v), zero)
    safe_rng = math_ops.where(math_ops.greater(rng, 0), rng, array_ops.ones_like(rng))
    h_r = math_ops.divide(math_ops.subtract(g, b), safe_rng)
    h_g = math_ops.add(math_ops.divide(math_ops.subtract(b, r), safe_rng), 2.0)
    h_b = math_ops.add(math_ops.divide(math_ops.subtract(r, g), safe_rng), 4.0)
    h = math_ops.where(math_ops.equal(v, r), h_r,
                        math_ops.where(math_ops.equal(v, g), h_g, h_b))
    h = math_ops.where(math_ops.greater(rng, 0), h, zero)
    h = math_ops.divide(h, 6.0)
    h = math_ops.add(h, math_ops.cast(math_ops.less(h, 0), h.dtype))   # wrap into [0, 1)
    return array_ops.stack([h, s, v], axis=-1)


@tf_export("image.hsv_to_rgb")
def hsv_to_rgb(images, name=None):
    """HSV (hue in [0, 1]) to RGB, by the piecewise-linear hue ramps."""
    x = as_input(images)
    _check_rgb(x, "hsv_to_rgb")
    h, s, v = _channels(x)
    dh = math_ops.multiply(h, 6.0)

    def ramp(center, rising):
        dist = math_ops.abs(math_ops.subtract(dh, center))
        val = math_ops.subtract(dist, 1.0) if rising else math_ops.subtract(2.0, dist)
        return math_ops.minimum(math_ops.maximum(val, 0.0), 1.0)

    one_minus_s = math_ops.subtract(1.0, s)
    out = [math_ops.multiply(v, math_ops.add(one_minus_s, math_ops.multiply(s, c)))
           for c in (ramp(3.0, True), ramp(2.0, False), ramp(4.0, False))]
    return array_ops.stack(out, axis=-1)


@tf_export("image.adjust_brightness")
def adjust_brightness(image, delta):
    """Adds `delta` (in [0, 1] units for integer images)."""
    x, dt = _as_float(image)
    return _back(math_ops.add(x, math_ops.cast(delta, x.dtype)), dt)


def _fold_sum(planes):
    """Sums (batch, pixels, channels) over the pixels by folding halves, as TF's CPU kernel
    does: each round adds the upper half of the rows onto the lower half, so the float32
    rounding (and the mean) is TF's, not that of a pairwise or sequential sum."""
    rows = planes.shape[1]
    while rows > 1:
        right = rows // 2
        left = rows - right
        folded = planes[:, :right] + planes[:, left:left + right]
        planes = np.concatenate([folded, planes[:, right:left]], axis=1)
        rows = left
    return planes[:, 0]


def _adjust_contrast_kernel(images, contrast_factor):
    x = images.astype(np.float32) if images.dtype != np.float32 else images
    shape = x.shape
    planes = x.reshape(-1, shape[-3] * shape[-2], shape[-1])
    if planes.shape[1] == 0:
        return np.empty(shape, images.dtype)
    mean = _fold_sum(planes) * np.float32(1.0 / planes.shape[1])
    factor = np.float32(contrast_factor)
    # mean + factor * (x - mean), the kernel's order of operations.
    out = mean[:, None, :] + factor * (planes - mean[:, None, :])
    return out.reshape(shape).astype(images.dtype, copy=False)


def _no_registered_gradient(inputs, outputs, attrs, dy):
    # TF registers no gradient for this op: taking one is its LookupError.
    raise LookupError("gradient registry has no entry for: AdjustContrastv2")


_ADJUST_CONTRAST = OpDef("AdjustContrastv2", _adjust_contrast_kernel, _no_registered_gradient,
                         shape_fn=same_as_first)


@tf_export("image.adjust_contrast")
def adjust_contrast(images, contrast_factor):
    """(x - mean) * contrast_factor + mean, the mean per image and channel.

    One op, `AdjustContrastv2`, with no gradient (as in TF). Images other than float16
    and float32 are adjusted in float32 and converted back (integers with saturation).

    Example:
        >>> import tapeflow as tf
        >>> tf.image.adjust_contrast([[[1.0], [3.0]]], 2.0).numpy().ravel().tolist()
        [0.0, 4.0]
    """
    x = as_input(images)
    flt = x if x.dtype in (dtypes.float16, dtypes.float32) else convert_image_dtype(
        x, dtypes.float32)
    factor = math_ops.cast(contrast_factor, dtypes.float32)
    if flt.shape.rank is not None and flt.shape.rank < 3:
        raise errors.op_error("AdjustContrastv2", f"input must be at least 3-D, got "
                              f"shape{_dims_text(flt.shape)}")
    if factor.shape.rank is not None and factor.shape.rank != 0:
        raise errors.op_error("AdjustContrastv2", f"contrast_factor must be scalar: "
                              f"{_dims_text(factor.shape)}")
    return convert_image_dtype(execute(_ADJUST_CONTRAST, (flt, factor)), x.dtype, saturate=True)


def _dims_text(shape):
    return "[" + ",".join("?" if d is None else str(d) for d in shape.as_list()) + "]"


@tf_export("image.adjust_gamma")
def adjust_gamma(image, gamma=1, gain=1):
    """gain * x ** gamma (on [0, 1] values for integer images)."""
    x = as_input(image)
    if float(np.min(np.asarray(getattr(gamma, "_value", gamma)))) < 0:
        raise ValueError("Gamma should be a non-negative real number.")
    flt = x if x.dtype.is_floating else convert_image_dtype(x, dtypes.float32)
    out = math_ops.multiply(math_ops.cast(gain, flt.dtype),
                            math_ops.pow(flt, math_ops.cast(gamma, flt.dtype)))
    return convert_image_dtype(out, x.dtype, saturate=True)


def _hsv_adjust(image, adjust):
    x, dt = _as_float(image)
    _check_rgb(x, "adjust")
    # float64 stays float64 (TF's kernels round through float32; this is closer).
    work = math_ops.cast(x, dtypes.float32) if x.dtype == dtypes.float16 else x
    h, s, v = _channels(rgb_to_hsv(work))
    out = hsv_to_rgb(array_ops.stack(adjust(h, s, v), axis=-1))
    return _back(math_ops.cast(out, x.dtype) if out.dtype != x.dtype else out, dt)


@tf_export("image.adjust_saturation")
def adjust_saturation(image, saturation_factor, name=None):
    """Scales the HSV saturation by `saturation_factor`, clipped to [0, 1]."""
    def scale(h, s, v):
        s = math_ops.multiply(s, math_ops.cast(saturation_factor, s.dtype))
        return h, math_ops.minimum(math_ops.maximum(s, 0.0), 1.0), v
    return _hsv_adjust(image, scale)


@tf_export("image.adjust_hue")
def adjust_hue(image, delta, name=None):
    """Rotates the HSV hue by `delta` (in [-1, 1], a fraction of a turn)."""
    if isinstance(delta, (int, float)) and not -1.0 <= delta <= 1.0:
        raise ValueError(f"delta must be in the interval [-1, 1]; received {delta}")

    def shift(h, s, v):
        h = math_ops.add(h, math_ops.cast(delta, h.dtype))
        return math_ops.subtract(h, math_ops.floor(h)), s, v
    return _hsv_adjust(image, shift)


@tf_export("image.per_image_standardization")
def per_image_standardization(image):
    """(x - mean) / max(stddev, 1/sqrt(N)) over each image's pixels and channels."""
    x = as_input(image)
    if x.shape.rank not in (3, 4):
        raise ValueError(f"image must have 3 or 4 dimensions; received shape {x.shape}")
    if not x.dtype.is_floating:
        x = math_ops.cast(x, dtypes.float32)
    n = int(np.prod([int(d) for d in x.shape[-3:]]))
    mean = reduce_ops.reduce_mean(x, axis=[-1, -2, -3], keepdims=True)
    centered = math_ops.subtract(x, mean)
    var = reduce_ops.reduce_mean(math_ops.square(centered), axis=[-1, -2, -3], keepdims=True)
    std = math_ops.maximum(math_ops.sqrt(var), 1.0 / np.sqrt(n))
    return math_ops.divide(centered, std)


@tf_export("image.total_variation")
def total_variation(images, name=None):
    """Sum of absolute differences between neighbouring pixels, per image."""
    x = as_input(images)
    if x.shape.rank not in (3, 4):
        raise ValueError(f"images must have 3 or 4 dimensions; received shape {x.shape}")
    dh = math_ops.abs(math_ops.subtract(x[..., 1:, :, :], x[..., :-1, :, :]))
    dw = math_ops.abs(math_ops.subtract(x[..., :, 1:, :], x[..., :, :-1, :]))
    axes = [-1, -2, -3]
    return math_ops.add(reduce_ops.reduce_sum(dh, axis=axes),
                        reduce_ops.reduce_sum(dw, axis=axes))


# --------------------------------------------------------------------------- random

def _uniform(lo, hi, seed, stateless):
    # A tensor, not a number: the random functions also work while a function is traced.
    if stateless:
        from tapeflow.ops import stateless_random_ops
        return stateless_random_ops.stateless_random_uniform([], seed, lo, hi)
    from tapeflow.ops import random_ops
    return random_ops.uniform([], lo, hi, seed=seed)


def _check_range(lower, upper, what):
    if upper <= lower:
        raise ValueError(f"{what}: upper must be > lower; received lower={lower}, "
                         f"upper={upper}")
    if lower < 0:
        raise ValueError(f"{what}: lower must be non-negative; received {lower}")


@tf_export("image.random_brightness")
def random_brightness(image, max_delta, seed=None):
    """`adjust_brightness` by a delta drawn uniformly from [-max_delta, max_delta)."""
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    return adjust_brightness(image, _uniform(-max_delta, max_delta, seed, False))


@tf_export("image.stateless_random_brightness")
def stateless_random_brightness(image, max_delta, seed):
    """`random_brightness` drawn from a [2] seed, as TF's stateless variant."""
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    return adjust_brightness(image, _uniform(-max_delta, max_delta, seed, True))


@tf_export("image.random_contrast")
def random_contrast(image, lower, upper, seed=None):
    """`adjust_contrast` by a factor drawn uniformly from [lower, upper)."""
    _check_range(lower, upper, "random_contrast")
    return adjust_contrast(image, _uniform(lower, upper, seed, False))


@tf_export("image.stateless_random_contrast")
def stateless_random_contrast(image, lower, upper, seed):
    """`random_contrast` drawn from a [2] seed, as TF's stateless variant."""
    _check_range(lower, upper, "random_contrast")
    return adjust_contrast(image, _uniform(lower, upper, seed, True))


@tf_export("image.random_saturation")
def random_saturation(image, lower, upper, seed=None):
    """`adjust_saturation` by a factor drawn uniformly from [lower, upper)."""
    _check_range(lower, upper, "random_saturation")
    return adjust_saturation(image, _uniform(lower, upper, seed, False))


@tf_export("image.stateless_random_saturation")
def stateless_random_saturation(image, lower, upper, seed):
    """`random_saturation` drawn from a [2] seed, as TF's stateless variant."""
    _check_range(lower, upper, "random_saturation")
    return adjust_saturation(image, _uniform(lower, upper, seed, True))


@tf_export("image.random_hue")
def random_hue(image, max_delta, seed=None):
    """`adjust_hue` by a delta drawn uniformly from [-max_delta, max_delta), max_delta <= 0.5."""
    if not 0 <= max_delta <= 0.5:
        raise ValueError("max_delta must be in the interval [0, 0.5].")
    return adjust_hue(image, _uniform(-max_delta, max_delta, seed, False))


@tf_export("image.stateless_random_hue")
def stateless_random_hue(image, max_delta, seed):
    """`random_hue` drawn from a [2] seed, as TF's stateless variant."""
    if not 0 <= max_delta <= 0.5:
        raise ValueError("max_delta must be in the interval [0, 0.5].")
    return adjust_hue(image, _uniform(-max_delta, max_delta, seed, True))
