"""`keras.preprocessing.image`: the legacy `ImageDataGenerator` (random affine augmentation,
rescaling and standardization of image batches from arrays or from a folder of class
subfolders) and the image file helpers.

The random transforms follow Keras's recipe (rotation, shifts, shear and zoom composed into
one affine map about the image centre, sampled with the given fill mode), drawn from NumPy's
generator; the same seed gives the same batches here, not the same numbers as Keras.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> gen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255)
    >>> x, y = next(iter(gen.flow(np.full((4, 2, 2, 3), 255.0), np.arange(4), batch_size=4)))
    >>> x.shape, float(x.max()), sorted(y.tolist())     # shuffled by default
    ((4, 2, 2, 3), 1.0, [0, 1, 2, 3])
"""
from __future__ import annotations

import math
import os

import numpy as np

from tapeflow.keras.layers.image_preprocessing import affine_sample, smart_resize  # noqa: F401
from tapeflow.keras.utils.image_utils import (  # noqa: F401
    array_to_img, img_to_array, load_img, save_img)

_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")
_FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _range(value, name, scale=1.0):
    """(low, high) from a number r (-> (-r, r)) or a pair."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"ImageDataGenerator: `{name}` must be a number or a pair; "
                             f"received {value!r}")
        return float(value[0]) * scale, float(value[1]) * scale
    return -float(value) * scale, float(value) * scale


def transform_matrix(height, width, theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0):
    """The (3, 3) map from output (row, col) to source pixel that Keras composes: rotation,
    shift, shear (degrees) and zoom, taken about Keras's image centre (h/2 + 0.5)."""
    m = np.eye(3)
    if theta:
        t = np.deg2rad(theta)
        m = m @ np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx or ty:
        m = m @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    if shear:
        s = np.deg2rad(shear)
        m = m @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    if zx != 1 or zy != 1:
        m = m @ np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    oy, ox = height / 2 + 0.5, width / 2 + 0.5
    to_centre = np.array([[1, 0, oy], [0, 1, ox], [0, 0, 1]])
    from_centre = np.array([[1, 0, -oy], [0, 1, -ox], [0, 0, 1]])
    return to_centre @ m @ from_centre


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=0,
                           col_axis=1, channel_axis=2, fill_mode="nearest", cval=0.0, order=1):
    """One image [rows, cols, channels] under Keras's affine transform (see above)."""
    if not (theta or tx or ty or shear) and zx == 1 and zy == 1:
        return x
    if (row_axis, col_axis, channel_axis) != (0, 1, 2):
        x = np.moveaxis(x, (row_axis, col_axis, channel_axis), (0, 1, 2))
    m = transform_matrix(x.shape[0], x.shape[1], theta, tx, ty, shear, zx, zy)
    out = affine_sample(np.asarray(x, np.float64), m[:2], fill_mode, cval,
                        "nearest" if order == 0 else "bilinear")
    out = out.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)
    if (row_axis, col_axis, channel_axis) != (0, 1, 2):
        out = np.moveaxis(out, (0, 1, 2), (row_axis, col_axis, channel_axis))
    return out


class ImageDataGenerator:
    """Batches of augmented, rescaled and standardized images (Keras's legacy generator).

    Args (as Keras): rotation_range (degrees), width_shift_range and height_shift_range
    (fractions of the size when < 1, else pixels), shear_range (degrees), zoom_range (r
    for [1 - r, 1 + r], or a pair), channel_shift_range, brightness_range (a pair),
    horizontal_flip, vertical_flip, fill_mode and cval, rescale, preprocessing_function,
    featurewise/samplewise centering and std normalization (featurewise needs `fit`),
    validation_split (then `subset='training'` or `'validation'`), interpolation_order.
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None,
                 shear_range=0.0, zoom_range=0.0, channel_shift_range=0.0,
                 fill_mode="nearest", cval=0.0, horizontal_flip=False, vertical_flip=False,
                 rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        if zca_whitening:
            raise NotImplementedError("ImageDataGenerator(zca_whitening=True) is not "
                                      "supported by tapeflow.")
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of {_FILL_MODES}; "
                             f"received {fill_mode!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"ImageDataGenerator: only data_format='channels_last' is "
                             f"supported; received {data_format!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"ImageDataGenerator: validation_split must be in [0, 1); "
                             f"received {validation_split!r}")
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.rotation_range, self.shear_range = rotation_range, shear_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.brightness_range, self.channel_shift_range = brightness_range, channel_shift_range
        zoom = (1 - zoom_range, 1 + zoom_range) if not isinstance(zoom_range, (list, tuple)) \
            else tuple(zoom_range)
        self.zoom_range = [float(zoom[0]), float(zoom[1])]
        self.fill_mode, self.cval = fill_mode, cval
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.interpolation_order, self.dtype = interpolation_order, dtype or "float32"
        self._validation_split = float(validation_split)
        self.mean = self.std = None

    # -- one image --------------------------------------------------------------------------
    def get_random_transform(self, img_shape, seed=None):
        """The random parameters for one image of `img_shape` (rows, cols, channels)."""
        rng = np.random.RandomState(seed) if seed is not None else np.random
        h, w = img_shape[0], img_shape[1]

        def shift(r, size):
            if not r:
                return 0.0
            value = rng.uniform(*_range(r, "shift range"))
            return value * size if abs(float(np.max(np.abs(r)))) < 1 else value
        params = {
            "theta": rng.uniform(-self.rotation_range, self.rotation_range)
            if self.rotation_range else 0.0,
            "tx": shift(self.height_shift_range, h), "ty": shift(self.width_shift_range, w),
            "shear": rng.uniform(-self.shear_range, self.shear_range) if self.shear_range
            else 0.0, "zx": 1.0, "zy": 1.0,
            "flip_horizontal": bool(self.horizontal_flip and rng.random_sample() < 0.5),
            "flip_vertical": bool(self.vertical_flip and rng.random_sample() < 0.5),
            "channel_shift_intensity": rng.uniform(-self.channel_shift_range,
                                                   self.channel_shift_range)
            if self.channel_shift_range else None,
            "brightness": rng.uniform(*self.brightness_range) if self.brightness_range
            else None}
        if self.zoom_range != [1.0, 1.0]:
            params["zx"], params["zy"] = rng.uniform(*self.zoom_range, 2)
        return params

    def apply_transform(self, x, transform_parameters):
        """`x` [rows, cols, channels] under the given parameters (Keras's keys)."""
        p = transform_parameters
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0),
                                   p.get("shear", 0), p.get("zx", 1), p.get("zy", 1),
                                   fill_mode=self.fill_mode, cval=self.cval,
                                   order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            lo, hi = np.min(x), np.max(x)
            x = np.clip(x + p["channel_shift_intensity"], lo, hi)
        if p.get("flip_horizontal"):
            x = x[:, ::-1]
        if p.get("flip_vertical"):
            x = x[::-1]
        if p.get("brightness") is not None:
            x = np.clip(x * p["brightness"], 0, 255)
        return x

    def random_transform(self, x, seed=None):
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def standardize(self, x):
        """Applies preprocessing_function, rescale and the centering/normalization set."""
        if self.preprocessing_function is not None:
            x = self.preprocessing_function(x)
        if self.rescale:
            x = x * self.rescale
        if self.samplewise_center:
            x = x - np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (np.std(x, keepdims=True) + 1e-6)
        if self.featurewise_center or self.featurewise_std_normalization:
            if self.mean is None:
                raise ValueError("ImageDataGenerator: featurewise centering/normalization "
                                 "needs statistics: call `.fit(x)` on sample images first.")
            if self.featurewise_center:
                x = x - self.mean
            if self.featurewise_std_normalization:
                x = x / (self.std + 1e-6)
        return x

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Computes the per-channel mean and std of sample images `x` [n, rows, cols, ch]."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: expected images of rank 4; received "
                             f"shape {x.shape}")
        if augment:
            x = np.concatenate([[self.random_transform(img, seed) for img in x]
                                for _ in range(rounds)])
        self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1)
        self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, -1)

    def _prepare(self, x, seed):
        return self.standardize(self.random_transform(x.astype(self.dtype), seed))

    # -- iterators --------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False,
             subset=None):
        """An iterator of (images, labels[, weights]) batches from arrays."""
        _no_saving(save_to_dir)
        return NumpyArrayIterator(x, y, self, batch_size, shuffle, sample_weight, seed,
                                  subset)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False):
        """An iterator of (images, labels) batches from one subfolder per class."""
        _no_saving(save_to_dir)
        return DirectoryIterator(directory, self, target_size, color_mode, classes,
                                 class_mode, batch_size, shuffle, seed, follow_links, subset,
                                 interpolation, keep_aspect_ratio)


def _no_saving(save_to_dir):
    if save_to_dir is not None:
        raise NotImplementedError("ImageDataGenerator: save_to_dir (writing the augmented "
                                  "images) is not supported by tapeflow.")


class Iterator:
    """Batches of sample indices, reshuffled each epoch; `len()` batches per epoch."""

    def __init__(self, n, batch_size, shuffle, seed):
        self.n, self.batch_size, self.shuffle, self.seed = n, int(batch_size), shuffle, seed
        self.batch_index = self.total_batches_seen = 0
        self.index_array = None

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def on_epoch_end(self):
        rng = np.random.RandomState(None if self.seed is None
                                    else self.seed + self.total_batches_seen)
        self.index_array = rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __getitem__(self, idx):
        if idx >= len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Iterator has length "
                             f"{len(self)}")
        if self.index_array is None:
            self.on_epoch_end()
        self.total_batches_seen += 1
        return self._batch(self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)])

    def __iter__(self):
        return self

    def __next__(self):
        if self.batch_index == 0:
            self.on_epoch_end()
        idx = self.batch_index
        self.batch_index = (self.batch_index + 1) % len(self)
        self.total_batches_seen += 1
        return self._batch(self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)])

    next = __next__

    def reset(self):
        self.batch_index = 0


def _subset_slice(n, split, subset):
    if subset is None or not split:
        return slice(0, n)
    if subset not in ("training", "validation"):
        raise ValueError(f"subset must be 'training' or 'validation'; received {subset!r}")
    cut = int(n * split)
    return slice(0, cut) if subset == "validation" else slice(cut, n)


class NumpyArrayIterator(Iterator):
    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, subset=None):
        x = np.asarray(x, dtype=image_data_generator.dtype)
        if x.ndim != 4:
            raise ValueError(f"flow: expected images of rank 4 [n, rows, cols, channels]; "
                             f"received shape {x.shape}")
        if y is not None and len(x) != len(y):
            raise ValueError(f"flow: `x` and `y` must have the same length; received "
                             f"{len(x)} images and {len(y)} labels")
        part = _subset_slice(len(x), image_data_generator._validation_split, subset)
        self.x = x[part]
        self.y = None if y is None else np.asarray(y)[part]
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)[part]
        self.image_data_generator = image_data_generator
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _batch(self, index_array):
        gen = self.image_data_generator
        batch_x = np.stack([gen._prepare(self.x[j], None) for j in index_array])
        out = [batch_x] + ([] if self.y is None else [self.y[index_array]])
        if self.sample_weight is not None:
            out.append(self.sample_weight[index_array])
        return out[0] if len(out) == 1 else tuple(out)


class DirectoryIterator(Iterator):
    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, follow_links=False, subset=None,
                 interpolation="nearest", keep_aspect_ratio=False):
        if class_mode not in ("categorical", "binary", "sparse", "input", None):
            raise ValueError(f"class_mode must be 'categorical', 'binary', 'sparse', "
                             f"'input' or None; received {class_mode!r}")
        self.directory, self.image_data_generator = directory, image_data_generator
        self.target_size, self.color_mode = tuple(target_size), color_mode
        self.class_mode, self.interpolation = class_mode, interpolation
        self.keep_aspect_ratio = keep_aspect_ratio
        channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[color_mode]
        self.image_shape = self.target_size + (channels,)
        if not classes:
            classes = sorted(d for d in os.listdir(directory)
                             if os.path.isdir(os.path.join(directory, d)))
        self.class_indices = {c: i for i, c in enumerate(classes)}
        self.num_classes = len(classes)
        self.filenames, labels = [], []
        for c in classes:
            files = _image_files(os.path.join(directory, c), follow_links)
            part = _subset_slice(len(files), image_data_generator._validation_split, subset)
            self.filenames += [os.path.join(c, f) for f in files[part]]
            labels += [self.class_indices[c]] * len(files[part])
        self.classes = np.asarray(labels, np.int32)
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self):
        return [os.path.join(self.directory, f) for f in self.filenames]

    @property
    def labels(self):
        return self.classes

    def _batch(self, index_array):
        gen = self.image_data_generator
        batch_x = np.stack([gen._prepare(img_to_array(load_img(
            os.path.join(self.directory, self.filenames[j]), color_mode=self.color_mode,
            target_size=self.target_size, interpolation=self.interpolation,
            keep_aspect_ratio=self.keep_aspect_ratio)), None) for j in index_array])
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode is None:
            return batch_x
        classes = self.classes[index_array]
        if self.class_mode == "categorical":
            return batch_x, np.eye(self.num_classes, dtype=gen.dtype)[classes]
        return batch_x, classes.astype(gen.dtype)


def _image_files(folder, follow_links):
    """The image files under `folder` (relative paths, sorted as Keras lists them)."""
    found = []
    for root, _, files in os.walk(folder, followlinks=follow_links):
        for f in sorted(files):
            if f.lower().endswith(_IMAGE_EXTENSIONS):
                found.append(os.path.relpath(os.path.join(root, f), folder))
    return np.asarray(sorted(found), dtype=object)
