"""Image preprocessing layers (Keras 3): Resizing, CenterCrop and the seeded random
augmentations RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomContrast, RandomBrightness and RandomCrop.

Images are channels-last, batched [b, h, w, c] or single [h, w, c], and come out
as float32. The random layers act unless called with `training=False` (as
`predict` and `evaluate` do): as in Keras 3, a direct call augments. Their random
draws come from a NumPy generator seeded by `seed` (or, without one, by
tapeflow's global seed), and run inside a `numpy_function`, so the layers work
eagerly, in traced functions and in `Dataset.map`.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.CenterCrop(2, 2)
    >>> layer(np.arange(16.).reshape(4, 4, 1))[..., 0].numpy().tolist()
    [[5.0, 6.0], [9.0, 10.0]]
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.keras.layers.base import Layer
from tapeflow.ops import array_ops, image_ops, math_ops

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _hw(shape):
    return int(shape[-3]), int(shape[-2])


def _float(inputs):
    from tapeflow.framework.op import as_input
    x = as_input(inputs)
    return x if x.dtype == dtypes.float32 else math_ops.cast(x, dtypes.float32)


def _aspect_crop_box(height, width, target_h, target_w):
    """(top, left, h, w) of the largest centred window with the target's aspect ratio."""
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def smart_resize(x, size, interpolation="bilinear"):
    """Centre-crops to the aspect ratio of `size`, then resizes to `size` (Keras's)."""
    x = _float(x)
    h, w = _hw(x.shape)
    top, left, ch, cw = _aspect_crop_box(h, w, *size)
    x = image_ops.crop_to_bounding_box(x, top, left, ch, cw)
    return image_ops.resize(x, size, method=interpolation)


class _FixedSizeOutput:
    """For layers whose output images are `height` x `width` (NHWC): the output shape
    and those two config entries."""

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[-3], shape[-2] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class Resizing(_FixedSizeOutput, Layer):
    """Resizes images to (height, width) with `interpolation`; optionally crops or pads
    to the target aspect ratio first."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Resizing supports data_format='channels_last' only; received "
                             f"{data_format!r}")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value = fill_mode, float(fill_value)
        self.antialias = bool(antialias)
        self.data_format = "channels_last"

    def call(self, inputs):
        x = _float(inputs)
        size = [self.height, self.width]
        if self.crop_to_aspect_ratio:
            h, w = _hw(x.shape)
            top, left, ch, cw = _aspect_crop_box(h, w, *size)
            x = image_ops.crop_to_bounding_box(x, top, left, ch, cw)
        elif self.pad_to_aspect_ratio:
            h, w = _hw(x.shape)
            ph = max(h, int(w * self.height / self.width))
            pw = max(w, int(h * self.width / self.height))
            top, left = (ph - h) // 2, (pw - w) // 2   # the same on both sides, as Keras
            pads = [[top, top], [left, left], [0, 0]]
            x = array_ops.pad(x, ([[0, 0]] if x.shape.rank == 4 else []) + pads,
                              constant_values=self.fill_value)
        return image_ops.resize(x, size, method=self.interpolation, antialias=self.antialias)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias,
                "data_format": self.data_format}


class CenterCrop(_FixedSizeOutput, Layer):
    """Crops the central (height, width) window; smaller images are aspect-cropped and
    resized up instead (as Keras)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        self.data_format = "channels_last"

    def call(self, inputs):
        x = _float(inputs)
        h, w = _hw(x.shape)
        if h >= self.height and w >= self.width:
            return image_ops.crop_to_bounding_box(x, (h - self.height) // 2,
                                                  (w - self.width) // 2, self.height,
                                                  self.width)
        return smart_resize(x, [self.height, self.width])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


# --------------------------------------------------------------------------- random layers

def _factor_range(factor, name, symmetric=True):
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{name}: a factor tuple must have two values (lower, upper); "
                             f"received {factor!r}")
        lo, hi = float(factor[0]), float(factor[1])
    else:
        lo, hi = (-float(factor), float(factor)) if symmetric else (0.0, float(factor))
    if lo > hi:
        raise ValueError(f"{name}: lower bound {lo} is greater than upper bound {hi}")
    return lo, hi


class _RandomImageLayer(Layer):
    """Draws from a seeded NumPy generator inside a `numpy_function` when training."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__} supports data_format='channels_last' "
                             f"only; received {data_format!r}")
        self.seed, self.data_format = seed, "channels_last"
        if seed is None:   # follows tf.random.set_seed
            from tapeflow.ops import random_ops
            seed = int(random_ops.uniform([], 0, 2 ** 31 - 1, dtype=dtypes.int32).numpy())
        self._rng = np.random.default_rng(seed)

    def call(self, inputs, training=None):
        x = _float(inputs)
        if training is None:   # Keras 3: these layers augment unless told training=False
            training = True
        if not training:
            return x
        from tapeflow.function.py_func import numpy_function
        single = x.shape.rank == 3

        def transform(arr):
            batch = arr[None] if single else arr
            out = np.stack([self._augment(img) for img in batch]).astype(np.float32)
            return out[0] if single else out

        out = numpy_function(transform, [x], dtypes.float32)
        static = self.compute_output_shape(tuple(x.shape.as_list()))
        return array_ops.reshape(out, [-1 if d is None else int(d) for d in static])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


def _map_coords(coord, n, mode):
    """Source coordinates outside [0, n-1] mapped back by `mode` (TF's fill modes)."""
    if mode == "reflect":
        period = 2 * n
        t = np.mod(coord, period)
        coord = np.where(t >= n, period - t - 1, t)
    elif mode == "wrap":
        coord = np.mod(coord, n)
    elif mode == "constant":
        return coord
    return np.clip(coord, 0, n - 1)


def affine_sample(img, matrix, fill_mode="reflect", fill_value=0.0, interpolation="bilinear"):
    """Samples `img` [h, w, c] at src = matrix @ (y, x, 1) of each output pixel."""
    h, w, _ = img.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    src_y = matrix[0, 0] * ys + matrix[0, 1] * xs + matrix[0, 2]
    src_x = matrix[1, 0] * ys + matrix[1, 1] * xs + matrix[1, 2]
    src_y, src_x = _map_coords(src_y, h, fill_mode), _map_coords(src_x, w, fill_mode)
    if interpolation == "nearest":
        taps = [(np.round(src_y), np.round(src_x), np.ones_like(src_y))]
    else:
        y0, x0 = np.floor(src_y), np.floor(src_x)
        dy, dx = src_y - y0, src_x - x0
        taps = [(y0, x0, (1 - dy) * (1 - dx)), (y0, x0 + 1, (1 - dy) * dx),
                (y0 + 1, x0, dy * (1 - dx)), (y0 + 1, x0 + 1, dy * dx)]
    out = np.zeros(img.shape, np.float64)
    for ty, tx, weight in taps:
        inside = (ty >= 0) & (ty <= h - 1) & (tx >= 0) & (tx <= w - 1)
        iy = np.clip(ty, 0, h - 1).astype(int)
        ix = np.clip(tx, 0, w - 1).astype(int)
        vals = np.where(inside[..., None], img[iy, ix], fill_value)
        out += weight[..., None] * vals
    return out


def _about_center(h, w, linear, shift=(0.0, 0.0)):
    """The (2, 3) map output (y, x) -> source for `linear` applied about the image centre."""
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    lin = np.asarray(linear, np.float64)
    offset = np.array([cy, cx]) - lin @ np.array([cy, cx]) - np.asarray(shift)
    return np.concatenate([lin, offset[:, None]], axis=1)


class _AffineLayer(_RandomImageLayer):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{type(self).__name__}: fill_mode must be one of {_FILL_MODES}; "
                             f"received {fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{type(self).__name__}: interpolation must be 'bilinear' or "
                             f"'nearest'; received {interpolation!r}")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def _augment(self, img):
        return affine_sample(img, self._matrix(*img.shape[:2]), self.fill_mode,
                             self.fill_value, self.interpolation)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomRotation(_AffineLayer):
    """Rotates by a random angle of `factor` * 2 pi (factor: a or (lower, upper))."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = factor
        self._range = _factor_range(factor, "RandomRotation")

    def _matrix(self, h, w):
        angle = self._rng.uniform(*self._range) * 2 * math.pi
        c, s = math.cos(angle), math.sin(angle)
        return _about_center(h, w, [[c, -s], [s, c]])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms by 1 + a random factor (positive: out, negative: in); the width follows
    the height when `width_factor` is None, keeping the aspect ratio."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h_range = _factor_range(height_factor, "RandomZoom")
        self._w_range = None if width_factor is None else _factor_range(width_factor,
                                                                        "RandomZoom")
        if self._h_range[0] < -1 or (self._w_range and self._w_range[0] < -1):
            raise ValueError(f"RandomZoom: factors must be >= -1; received {height_factor!r}, "
                             f"{width_factor!r}")

    def _matrix(self, h, w):
        zy = 1.0 + self._rng.uniform(*self._h_range)
        zx = zy if self._w_range is None else 1.0 + self._rng.uniform(*self._w_range)
        return _about_center(h, w, [[zy, 0.0], [0.0, zx]])

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """Shifts by random fractions of the height and width (positive: down / right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h_range = _factor_range(height_factor, "RandomTranslation")
        self._w_range = _factor_range(width_factor, "RandomTranslation")

    def _matrix(self, h, w):
        dy = self._rng.uniform(*self._h_range) * h
        dx = self._rng.uniform(*self._w_range) * w
        return _about_center(h, w, np.eye(2), (dy, dx))

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomFlip(_RandomImageLayer):
    """Flips each image with probability 1/2 along the axes of `mode`."""

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip: mode must be one of {self._MODES}; received {mode!r}")
        self.mode = mode

    def _augment(self, img):
        if self.mode != "vertical" and self._rng.uniform() < 0.5:
            img = img[:, ::-1]
        if self.mode != "horizontal" and self._rng.uniform() < 0.5:
            img = img[::-1]
        return img

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomContrast(_RandomImageLayer):
    """(x - mean) * f + mean per image and channel, f in [1 - lower, 1 + upper], clipped
    to `value_range`."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        lo, hi = factor if isinstance(factor, (tuple, list)) else (factor, factor)
        if not (0 <= float(lo) <= 1 and 0 <= float(hi)):
            raise ValueError(f"RandomContrast: factor must be in [0, 1] (or a (lower, upper) "
                             f"pair of such); received {factor!r}")
        self.factor, self.value_range = factor, tuple(value_range)
        self._range = (1.0 - float(lo), 1.0 + float(hi))

    def _augment(self, img):
        f = self._rng.uniform(*self._range)
        mean = img.mean(axis=(0, 1), keepdims=True)
        return np.clip((img - mean) * f + mean, *self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": list(self.value_range)}


class RandomBrightness(_RandomImageLayer):
    """Adds a random delta of `factor` * (value range width), clipped to `value_range`."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self._range = _factor_range(factor, "RandomBrightness")
        if not -1 <= self._range[0] <= self._range[1] <= 1:
            raise ValueError(f"RandomBrightness: factor must be in [-1, 1]; received "
                             f"{factor!r}")
        self.factor, self.value_range = factor, tuple(value_range)

    def _augment(self, img):
        lo, hi = self.value_range
        return np.clip(img + self._rng.uniform(*self._range) * (hi - lo), lo, hi)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": list(self.value_range)}


class RandomCrop(_FixedSizeOutput, _RandomImageLayer):
    """A random (height, width) window when training (an image not larger is cropped at
    its aspect-ratio box and resized, as Keras); passes inputs through at inference."""

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, inputs, training=None):
        x = _float(inputs)
        if training is False:
            return x
        h, w = _hw(x.shape)
        if h > self.height and w > self.width:
            return super().call(x, training=True)
        # Not larger: Keras crops (height, width) from the aspect-ratio box's corner, then
        # resizes what it got to (height, width).
        top, left, _, _ = _aspect_crop_box(h, w, self.height, self.width)
        x = image_ops.crop_to_bounding_box(x, top, left, min(self.height, h - top),
                                           min(self.width, w - left))
        if _hw(x.shape) != (self.height, self.width):
            x = image_ops.resize(x, [self.height, self.width])
        return x

    def _augment(self, img):
        top = int(self._rng.integers(0, img.shape[0] - self.height + 1))
        left = int(self._rng.integers(0, img.shape[1] - self.width + 1))
        return img[top:top + self.height, left:left + self.width]

