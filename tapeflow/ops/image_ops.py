"""`tf.image` geometry: resize, dtype conversion, flips, rotations, crops, pads
and patches.

Every function here is a composition of differentiable tapeflow ops, so its
gradient comes from theirs: a resize is linear in the image, so it is two
matrix products with interpolation-weight matrices (one per spatial axis)
built in NumPy from the sizes alone; crops are slices, pads are pads, flips are
reverses and patches are a gather. The weights follow TF2's `tf.image.resize`:
half-pixel centres for bilinear, nearest and bicubic (Keys, a = -0.5), box
coverage for area, and scaled kernels for `antialias` and the Lanczos methods.

    >>> import tapeflow as tf
    >>> tf.image.resize([[[1.], [3.]]], [1, 4]).numpy()[..., 0].tolist()
    [[1.0, 1.5, 2.5, 3.0]]
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import as_input
from tapeflow.ops import array_ops, einsum_ops, indexing_ops, math_ops


class ResizeMethod:
    """The names of `tf.image.resize`'s methods."""
    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    MITCHELLCUBIC = "mitchellcubic"


def _image(image, name="image"):
    x = as_input(image)
    if x.shape.rank not in (3, 4):
        raise ValueError(f"'{name}' must have either 3 or 4 dimensions; received shape "
                         f"{x.shape}")
    return x


def _hw(x):
    return int(x.shape[-3]), int(x.shape[-2])


# --------------------------------------------------------------------------- dtype

@tf_export("image.convert_image_dtype")
def convert_image_dtype(image, dtype, saturate=False, name=None):
    """Converts between integer images (0..max) and float images (0..1), scaling values."""
    x = as_input(image)
    dt = dtypes.as_dtype(dtype)
    if not (dt.is_floating or dt.is_integer):
        raise AttributeError(f"dtype must be either floating point or integer, got {dt.name}")
    src = x.dtype
    if src == dt:
        return x
    if src.is_integer and dt.is_integer:
        in_max, out_max = int(src.max), int(dt.max)
        if in_max > out_max:   # narrowing drops low bits, as integer division does
            return math_ops.cast(math_ops.floordiv(x, (in_max + 1) // (out_max + 1)), dt)
        return math_ops.multiply(math_ops.cast(x, dt), (out_max + 1) // (in_max + 1))
    if src.is_floating and dt.is_floating:
        return math_ops.cast(x, dt)
    if src.is_integer:
        return math_ops.multiply(math_ops.cast(x, dt), 1.0 / int(src.max))
    scaled = math_ops.multiply(x, float(dt.max) + 0.5)
    if saturate:
        scaled = math_ops.minimum(math_ops.maximum(scaled, float(dt.min)), float(dt.max))
    return math_ops.cast(scaled, dt)


# --------------------------------------------------------------------------- resize

def _keys_cubic(t, a=-0.5):
    t = np.abs(t)
    return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                    np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))


def _lanczos(radius):
    def kernel(t):
        t = np.abs(t)
        return np.where(t < radius, np.sinc(t) * np.sinc(t / radius), 0.0)
    return kernel


def _mitchell(t):
    t = np.abs(t)
    b = c = 1 / 3
    return np.where(t < 1, ((12 - 9 * b - 6 * c) * t ** 3 + (-18 + 12 * b + 6 * c) * t ** 2
                            + (6 - 2 * b)) / 6,
                    np.where(t < 2, ((-b - 6 * c) * t ** 3 + (6 * b + 30 * c) * t ** 2
                                     + (-12 * b - 48 * c) * t + (8 * b + 24 * c)) / 6, 0.0))


# kernel(t), radius: the scaled kernels of the antialiased / Lanczos resizes
_KERNELS = {"bilinear": (lambda t: np.maximum(0.0, 1 - np.abs(t)), 1.0),
            "bicubic": (_keys_cubic, 2.0), "lanczos3": (_lanczos(3), 3.0),
            "lanczos5": (_lanczos(5), 5.0), "mitchellcubic": (_mitchell, 2.0)}


def _kernel_weights(n_in, n_out, method, antialias):
    kernel, radius = _KERNELS[method]
    scale = np.float32(n_out) / np.float32(n_in)
    inv = 1.0 / float(scale)
    ks = max(inv, 1.0) if antialias else 1.0
    w = np.zeros((n_out, n_in))
    for o in range(n_out):
        sample = (o + 0.5) * inv
        lo = max(int(math.ceil(sample - radius * ks - 0.5)), 0)
        hi = min(int(math.floor(sample + radius * ks - 0.5)), n_in - 1)
        src = np.arange(lo, hi + 1)
        vals = kernel((src + 0.5 - sample) / ks)
        total = vals.sum()
        if abs(total) >= 1000 * np.finfo(np.float32).tiny:
            w[o, src] = vals / total
    return w


def _nearest_index(n_in, n_out):
    """Source row of each output row: floor((o + 0.5) * scale) in float32, as TF."""
    centers = np.arange(n_out, dtype=np.float32) + np.float32(0.5)
    src = np.floor(centers * (np.float32(n_in) / np.float32(n_out)))
    return np.minimum(src, n_in - 1).astype(np.int32)


def _interp_weights(n_in, n_out, method):
    """(n_out, n_in) weights of the non-antialiased bilinear/nearest/bicubic/area resizes."""
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    o = np.arange(n_out)
    # Source positions in float32 arithmetic, as TF's kernels (float64 can round a
    # position that lands on a pixel boundary to the other side).
    centers = o.astype(np.float32) + np.float32(0.5)
    f_scale = np.float32(n_in) / np.float32(n_out)
    if method == "nearest":
        w[o, _nearest_index(n_in, n_out)] = 1.0
    elif method == "bilinear":
        pos = (centers * f_scale - np.float32(0.5)).astype(np.float64)
        fl = np.floor(pos)
        lo, hi = np.maximum(fl, 0).astype(int), np.minimum(np.ceil(pos), n_in - 1).astype(int)
        np.add.at(w, (o, lo), 1 - (pos - fl))
        np.add.at(w, (o, hi), pos - fl)
    elif method == "bicubic":
        pos = (centers * f_scale - np.float32(0.5)).astype(np.float64)
        fl = np.floor(pos)
        delta = np.rint((pos - fl) * 1024) / 1024    # the kernel is tabulated at 1/1024 steps
        for k in (-1, 0, 1, 2):
            idx = fl.astype(int) + k
            inside = (idx >= 0) & (idx < n_in)       # outside taps drop out (renormalised)
            np.add.at(w, (o[inside], idx[inside]), _keys_cubic(k - delta)[inside])
        w /= w.sum(axis=1, keepdims=True)
    else:   # area: each output averages the input boxes it covers, by overlap
        for i in range(n_out):
            a, b = i * scale, (i + 1) * scale
            for j in range(int(math.floor(a)), int(math.ceil(b))):
                w[i, min(j, n_in - 1)] += (min(j + 1, b) - max(j, a)) / scale
    return w


def _resize_weights(n_in, n_out, method, antialias):
    if method in ("lanczos3", "lanczos5", "mitchellcubic") or (
            antialias and method in ("bilinear", "bicubic")):
        return _kernel_weights(n_in, n_out, method, antialias)
    return _interp_weights(n_in, n_out, method)


def _target_size(x, size, preserve_aspect_ratio):
    size = [int(s) for s in np.asarray(getattr(size, "_value", size)).reshape(-1)]
    if len(size) != 2:
        raise ValueError(f"'size' must be a 1-D Tensor of 2 elements: new_height, new_width; "
                         f"received {size}")
    if preserve_aspect_ratio:
        h, w = _hw(x)
        f = min(np.float32(size[0]) / np.float32(h), np.float32(size[1]) / np.float32(w))
        size = [int(np.round(f * np.float32(h))), int(np.round(f * np.float32(w)))]
    if min(size) <= 0:
        raise errors.op_error("ResizeBilinear", f"output dimensions must be positive, got "
                              f"{size}")
    return size


@tf_export("image.resize")
def resize(images, size, method=ResizeMethod.BILINEAR, preserve_aspect_ratio=False,
           antialias=False, name=None):
    """Resizes [batch,] height, width, channels images to `size` (TF2's half-pixel rules).

    Returns float32 images, except `nearest`, which keeps the input's dtype.
    """
    x = _image(images, "images")
    method = str(getattr(method, "value", method)).lower()
    if method not in ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                      "mitchellcubic"):   # 'gaussian' is not implemented
        raise ValueError(f"Resize method is not implemented: {method}")
    if None in x.shape.as_list()[-3:-1]:   # sizes known only when it runs
        return _resize_when_run(x, size, method, preserve_aspect_ratio, antialias)
    new_h, new_w = _target_size(x, size, preserve_aspect_ratio)
    h, w = _hw(x)
    if method == "nearest":
        out = indexing_ops.gather(x, _nearest_index(h, new_h), axis=x.shape.rank - 3)
        return indexing_ops.gather(out, _nearest_index(w, new_w), axis=x.shape.rank - 2)
    x = math_ops.cast(x, dtypes.float32) if x.dtype != dtypes.float32 else x
    wh = _resize_weights(h, new_h, method, antialias).astype(np.float32)
    ww = _resize_weights(w, new_w, method, antialias).astype(np.float32)
    return einsum_ops.einsum("...hwc,Hh,Ww->...HWc", x, wh, ww)


def _resize_when_run(x, size, method, preserve_aspect_ratio, antialias):
    """Resize of an image whose height or width is unknown while a function is traced
    (a decoded file in `Dataset.map`): the weights are built when it runs, inside a
    `numpy_function`, so this path has no gradient."""
    from tapeflow.function.py_func import numpy_function
    from tapeflow.framework.tensor import Tensor
    out_dtype = x.dtype if method == "nearest" else dtypes.float32

    def run(arr):
        return resize(Tensor(arr), size, method, preserve_aspect_ratio, antialias).numpy()

    out = numpy_function(run, [x], out_dtype)
    if preserve_aspect_ratio:
        return out
    new_h, new_w = (int(s) for s in np.asarray(getattr(size, "_value", size)).reshape(-1))
    shape = x.shape.as_list()
    shape[-3], shape[-2] = new_h, new_w
    return array_ops.reshape(out, [-1 if d is None else d for d in shape])


# --------------------------------------------------------------------------- flips

@tf_export("image.flip_left_right")
def flip_left_right(image):
    """Reverses the width axis."""
    x = _image(image)
    return array_ops.reverse(x, [x.shape.rank - 2])


@tf_export("image.flip_up_down")
def flip_up_down(image):
    """Reverses the height axis."""
    x = _image(image)
    return array_ops.reverse(x, [x.shape.rank - 3])


def _random_flip(image, axis_from_end, uniform):
    x = _image(image)
    axis = x.shape.rank - axis_from_end
    # The draw stays a tensor (so this also works while a function is traced); a 0/1
    # mask blends the flipped and the original image exactly.
    if x.shape.rank == 3:
        mask = math_ops.cast(math_ops.less(uniform([]), 0.5), x.dtype)
    else:
        mask = array_ops.reshape(math_ops.cast(math_ops.round(uniform([int(x.shape[0])])),
                                               x.dtype), [-1, 1, 1, 1])
    return math_ops.add(math_ops.multiply(mask, array_ops.reverse(x, [axis])),
                        math_ops.multiply(math_ops.subtract(1, mask), x))


def _stateful_uniform(seed):
    from tapeflow.ops import random_ops
    return lambda shape: random_ops.uniform(shape, seed=seed)


def _stateless_uniform(seed):
    from tapeflow.ops import stateless_random_ops
    return lambda shape: stateless_random_ops.stateless_random_uniform(shape, seed)


@tf_export("image.random_flip_left_right")
def random_flip_left_right(image, seed=None):
    """Flips left-right with probability 1/2 (each image of a batch on its own)."""
    return _random_flip(image, 2, _stateful_uniform(seed))


@tf_export("image.random_flip_up_down")
def random_flip_up_down(image, seed=None):
    """Flips up-down with probability 1/2 (each image of a batch on its own)."""
    return _random_flip(image, 3, _stateful_uniform(seed))


@tf_export("image.stateless_random_flip_left_right")
def stateless_random_flip_left_right(image, seed):
    """`random_flip_left_right` decided by a [2] seed, as TF's stateless variant."""
    return _random_flip(image, 2, _stateless_uniform(seed))


@tf_export("image.stateless_random_flip_up_down")
def stateless_random_flip_up_down(image, seed):
    """`random_flip_up_down` decided by a [2] seed, as TF's stateless variant."""
    return _random_flip(image, 3, _stateless_uniform(seed))


@tf_export("image.transpose")
def transpose(image, name=None):
    """Swaps the height and width axes."""
    x = _image(image)
    perm = [0, 2, 1, 3] if x.shape.rank == 4 else [1, 0, 2]
    return array_ops.transpose(x, perm)


@tf_export("image.rot90")
def rot90(image, k=1, name=None):
    """Rotates by `k` quarter turns counter-clockwise."""
    x = _image(image)
    k = int(np.asarray(getattr(k, "_value", k))) % 4
    h_axis, w_axis = x.shape.rank - 3, x.shape.rank - 2
    if k == 1:
        return transpose(array_ops.reverse(x, [w_axis]))
    if k == 2:
        return array_ops.reverse(x, [h_axis, w_axis])
    if k == 3:
        return array_ops.reverse(transpose(x), [w_axis])
    return x


# --------------------------------------------------------------------------- crops and pads

def _check_box(op, cond, message):
    if not cond:
        raise errors.InvalidArgumentError(None, None, f"{message} [Op:{op}]")


@tf_export("image.crop_to_bounding_box")
def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """Crops the box at (offset_height, offset_width) of size target_height x target_width."""
    x = _image(image)
    h, w = _hw(x)
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height,
                                       target_width))
    _check_box("crop_to_bounding_box", oh >= 0, "offset_height must be >= 0.")
    _check_box("crop_to_bounding_box", ow >= 0, "offset_width must be >= 0.")
    _check_box("crop_to_bounding_box", th > 0, "target_height must be > 0.")
    _check_box("crop_to_bounding_box", tw > 0, "target_width must be > 0.")
    _check_box("crop_to_bounding_box", h >= oh + th,
               "height must be >= target + offset.")
    _check_box("crop_to_bounding_box", w >= ow + tw, "width must be >= target + offset.")
    if x.shape.rank == 3:
        return indexing_ops.slice(x, [oh, ow, 0], [th, tw, -1])
    return indexing_ops.slice(x, [0, oh, ow, 0], [-1, th, tw, -1])


@tf_export("image.pad_to_bounding_box")
def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """Zero-pads to target_height x target_width with the image at the given offset."""
    x = _image(image)
    h, w = _hw(x)
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height,
                                       target_width))
    after_h, after_w = th - oh - h, tw - ow - w
    _check_box("pad_to_bounding_box", oh >= 0, "offset_height must be >= 0")
    _check_box("pad_to_bounding_box", ow >= 0, "offset_width must be >= 0")
    _check_box("pad_to_bounding_box", after_h >= 0, "height must be <= target - offset")
    _check_box("pad_to_bounding_box", after_w >= 0, "width must be <= target - offset")
    pads = [[oh, after_h], [ow, after_w], [0, 0]]
    return array_ops.pad(x, ([[0, 0]] if x.shape.rank == 4 else []) + pads)


@tf_export("image.central_crop")
def central_crop(image, central_fraction):
    """Keeps the central `central_fraction` of the height and width."""
    x = _image(image)
    f = float(central_fraction)
    if not 0.0 < f <= 1.0:
        raise ValueError("central_fraction must be within (0, 1]")
    if f == 1.0:
        return x
    h, w = _hw(x)
    top, left = int((h - h * f) / 2), int((w - w * f) / 2)
    return crop_to_bounding_box(x, top, left, h - 2 * top, w - 2 * left)


@tf_export("image.resize_with_crop_or_pad")
def resize_with_crop_or_pad(image, target_height, target_width):
    """Centre-crops and/or zero-pads to target_height x target_width."""
    x = _image(image)
    h, w = _hw(x)
    th, tw = int(target_height), int(target_width)
    if th <= 0 or tw <= 0:
        raise ValueError(f"target_height and target_width must be > 0; got {th}, {tw}")
    crop_h, crop_w = max((h - th) // 2, 0), max((w - tw) // 2, 0)
    pad_h, pad_w = max((th - h) // 2, 0), max((tw - w) // 2, 0)
    x = crop_to_bounding_box(x, crop_h, crop_w, min(th, h), min(tw, w))
    return pad_to_bounding_box(x, pad_h, pad_w, th, tw)


@tf_export("image.resize_with_pad")
def resize_with_pad(image, target_height, target_width, method=ResizeMethod.BILINEAR,
                    antialias=False):
    """Resizes keeping the aspect ratio, then zero-pads to target_height x target_width."""
    x = _image(image)
    h, w = (np.float32(v) for v in _hw(x))
    th, tw = np.float32(target_height), np.float32(target_width)
    ratio = max(w / tw, h / th)
    new_h, new_w = h / ratio, w / ratio
    x = resize(x, [int(np.floor(new_h)), int(np.floor(new_w))], method=method,
               antialias=antialias)
    top = max(0, int(np.floor((th - new_h) / np.float32(2))))
    left = max(0, int(np.floor((tw - new_w) / np.float32(2))))
    return pad_to_bounding_box(x, top, left, int(th), int(tw))


# --------------------------------------------------------------------------- patches

def _same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


@tf_export("image.extract_patches")
def extract_patches(images, sizes, strides, rates, padding):
    """[b, h, w, c] -> [b, rows, cols, size_h * size_w * c]: the patches, each flattened."""
    x = as_input(images)
    if x.shape.rank != 4:
        raise ValueError(f"images must be 4-D [batch, height, width, channels]; received "
                         f"shape {x.shape}")
    (_, kh, kw, _), (_, sh, sw, _), (_, rh, rw, _) = sizes, strides, rates
    padding = padding.upper()
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"padding must be 'SAME' or 'VALID'; got {padding!r}")
    h, w = _hw(x)
    c = int(x.shape[-1])
    ekh, ekw = kh + (kh - 1) * (rh - 1), kw + (kw - 1) * (rw - 1)
    if padding == "SAME":
        (oh, ph0, ph1), (ow, pw0, pw1) = _same_pad(h, ekh, sh), _same_pad(w, ekw, sw)
        x = array_ops.pad(x, [[0, 0], [ph0, ph1], [pw0, pw1], [0, 0]])
        h, w = h + ph0 + ph1, w + pw0 + pw1
    else:
        oh, ow = max((h - ekh) // sh + 1, 0), max((w - ekw) // sw + 1, 0)
    rows = (np.arange(oh) * sh)[:, None, None, None] + (np.arange(kh) * rh)[None, None, :, None]
    cols = (np.arange(ow) * sw)[None, :, None, None] + (np.arange(kw) * rw)[None, None, None, :]
    idx = (rows * w + cols).reshape(oh, ow, kh * kw).astype(np.int32)
    flat = array_ops.reshape(x, [-1, h * w, c])
    patches = indexing_ops.gather(flat, idx, axis=1)
    return array_ops.reshape(patches, [-1, oh, ow, kh * kw * c])


# --------------------------------------------------------------------------- random crops

def _random_slice(value, size, draw):
    x = as_input(value)
    shape = np.array([int(d) for d in x.shape.as_list()])
    size = np.array([int(s) for s in np.asarray(getattr(size, "_value", size)).reshape(-1)])
    if size.shape != shape.shape or np.any(shape < size):
        raise errors.op_error("RandomCrop", f"Need value.shape >= size, got {shape.tolist()} "
                              f"{size.tolist()}")
    # Offsets stay tensors and the window is a gather per axis, so this also works while
    # a function is traced (a slice needs its begin as numbers).
    offset = math_ops.floormod(draw(len(shape)), (shape - size + 1).astype(np.int32))
    for axis, n in enumerate(size.tolist()):
        if n != shape[axis]:
            rows = math_ops.add(offset[axis], np.arange(n, dtype=np.int32))
            x = indexing_ops.gather(x, rows, axis=axis)
    return x


@tf_export("image.random_crop")
def random_crop(value, size, seed=None, name=None):
    """A random slice of shape `size` (every axis; e.g. [h, w, 3] of an image)."""
    from tapeflow.ops import random_ops
    return _random_slice(value, size, lambda n: random_ops.uniform(
        [n], maxval=2 ** 31 - 1, dtype=dtypes.int32, seed=seed))


@tf_export("image.stateless_random_crop")
def stateless_random_crop(value, size, seed, name=None):
    """`random_crop` placed by a [2] seed, as TF's stateless variant (same offsets)."""
    from tapeflow.ops import stateless_random_ops
    return _random_slice(value, size, lambda n: stateless_random_ops.stateless_random_uniform(
        [n], seed, maxval=2 ** 31 - 1, dtype=dtypes.int32))


# --------------------------------------------------------------------------- measures

@tf_export("image.image_gradients")
def image_gradients(image):
    """(dy, dx): one-step differences down and right, zero in the last row / column."""
    x = as_input(image)
    if x.shape.rank != 4:
        raise ValueError(f"image_gradients expects a 4D tensor [batch_size, h, w, d], not "
                         f"{x.shape}.")
    dy = math_ops.subtract(x[:, 1:, :, :], x[:, :-1, :, :])
    dx = math_ops.subtract(x[:, :, 1:, :], x[:, :, :-1, :])
    return (array_ops.pad(dy, [[0, 0], [0, 1], [0, 0], [0, 0]]),
            array_ops.pad(dx, [[0, 0], [0, 0], [0, 1], [0, 0]]))


@tf_export("image.psnr")
def psnr(a, b, max_val, name=None):
    """Peak signal-to-noise ratio per image, in dB (computed on float32 images)."""
    from tapeflow.ops import reduce_ops
    a, b = as_input(a), as_input(b)
    if a.shape.as_list()[-3:] != b.shape.as_list()[-3:]:
        raise ValueError(f"psnr: the images must have the same shape; received {a.shape} "
                         f"and {b.shape}")
    peak = convert_image_dtype(math_ops.cast(max_val, a.dtype), dtypes.float32)
    a, b = convert_image_dtype(a, dtypes.float32), convert_image_dtype(b, dtypes.float32)
    mse = reduce_ops.reduce_mean(math_ops.square(math_ops.subtract(a, b)), axis=[-3, -2, -1])
    return math_ops.subtract(
        math_ops.divide(math_ops.multiply(math_ops.log(peak), 20.0), float(np.log(10.0))),
        math_ops.multiply(math_ops.log(mse), np.float32(10 / np.log(10))))


@tf_export("image.sobel_edges")
def sobel_edges(image):
    """[b, h, w, d, 2]: the Sobel responses (dy, dx) of each channel, edges reflected."""
    x = as_input(image)
    if x.shape.rank != 4:
        raise ValueError(f"sobel_edges expects a 4D tensor [batch_size, h, w, d], not "
                         f"{x.shape}.")
    h, w = _hw(x)
    p = array_ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")

    def at(dy, dx):   # the neighbour (dy, dx) of every pixel
        return p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w, :]

    def response(weights):
        terms = [math_ops.multiply(at(dy, dx), float(c))
                 for (dy, dx), c in weights.items() if c]
        out = terms[0]
        for t in terms[1:]:
            out = math_ops.add(out, t)
        return out

    vertical = {(-1, -1): -1, (-1, 0): -2, (-1, 1): -1, (1, -1): 1, (1, 0): 2, (1, 1): 1}
    horizontal = {(dx, dy): c for (dy, dx), c in vertical.items()}
    return array_ops.stack([response(vertical), response(horizontal)], axis=-1)
