"""Images from files and folders: `keras.utils.load_img`, `img_to_array`,
`array_to_img`, `save_img` and `image_dataset_from_directory` (Keras 3's file
ordering, label modes and validation split).

Files are listed and read in Python (Pillow decodes them); the dataset holds
integer indices into the file list, and `map` loads and resizes each image, so
only the images in flight are in memory.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> img = tf.keras.utils.array_to_img(np.zeros((2, 3, 3), np.uint8))
    >>> img.size
    (3, 2)
    >>> tf.keras.utils.img_to_array(img).shape
    (2, 3, 3)
"""
from __future__ import annotations

import os

import numpy as np

from tapeflow.ops import image_codec_ops

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}
_PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_PIL_RESAMPLE = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4,
                 "hamming": 5}


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Loads an image file as a PIL image (converted to `color_mode`, resized to
    `target_size` = (height, width) with Pillow's `interpolation`)."""
    Image = image_codec_ops._pil()
    if color_mode not in _PIL_MODES:
        raise ValueError(f"color_mode must be 'grayscale', 'rgb' or 'rgba'; received "
                         f"{color_mode!r}")
    with open(os.fspath(path), "rb") if not hasattr(path, "read") else path as f:
        img = Image.open(f)
        img.load()
    img = img.convert(_PIL_MODES[color_mode]) if img.mode != _PIL_MODES[color_mode] else img
    if target_size is not None:
        height, width = target_size
        if interpolation not in _PIL_RESAMPLE:
            raise ValueError(f"interpolation must be one of {sorted(_PIL_RESAMPLE)}; "
                             f"received {interpolation!r}")
        box = None
        if keep_aspect_ratio:
            w, h = img.size
            crop_w, crop_h = min(w, int(h * width / height)), min(h, int(w * height / width))
            left, top = (w - crop_w) // 2, (h - crop_h) // 2
            box = (left, top, left + crop_w, top + crop_h)
        if img.size != (width, height):
            img = img.resize((width, height), _PIL_RESAMPLE[interpolation], box=box)
    return img


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a float32 [height, width, channels] NumPy array."""
    arr = np.asarray(img, dtype=dtype or "float32")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"Unsupported image shape: {arr.shape}")
    return np.transpose(arr, (2, 0, 1)) if data_format == "channels_first" else arr


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A [height, width, 1|3|4] array (or tensor) as a PIL image; `scale` maps its
    value range to 0..255."""
    Image = image_codec_ops._pil()
    arr = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype="float32")
    if arr.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image); got array "
                         f"with shape {arr.shape}")
    if data_format == "channels_first":
        arr = np.transpose(arr, (1, 2, 0))
    if scale:
        arr = arr - np.min(arr)
        top = np.max(arr)
        if top != 0:
            arr = arr / top
        arr = arr * 255
    channels = arr.shape[-1]
    if channels not in (1, 3, 4):
        raise ValueError(f"Unsupported channel number: {channels}")
    pixels = arr.astype("uint8")
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels)


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves an image array (or tensor) to `path` (format from the extension)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpeg" or
                               str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


# --------------------------------------------------------------------------- directories

def _class_dirs(directory, class_names):
    subdirs = sorted(d for d in os.listdir(directory)
                     if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
    if class_names is not None:
        if not set(class_names).issubset(subdirs):
            raise ValueError(f"The `class_names` passed did not match the names of the "
                             f"subdirectories of the target directory. Expected: {subdirs} "
                             f"(or a subset of it), but received: class_names={class_names}")
        return list(class_names)
    return subdirs


def _files_under(directory, follow_links):
    """Image files under `directory`, walked and sorted as Keras does."""
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(ALLOWLIST_FORMATS):
                yield os.path.join(root, name)


def index_directory(directory, labels, class_names, shuffle, seed, follow_links, verbose=True):
    """(file paths, labels or None, class names) in Keras's order and shuffle."""
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}")
    if labels == "inferred":
        class_names = _class_dirs(directory, class_names)
        subdirs = class_names
    else:
        if class_names is not None:
            raise ValueError("`class_names` can only be given with labels='inferred'.")
        subdirs = [""]
    paths, found = [], []
    for index, sub in enumerate(subdirs):
        files = list(_files_under(os.path.join(directory, sub), follow_links))
        paths += files
        found += [index] * len(files)
    if labels == "inferred":
        labels = np.asarray(found, np.int32)
    elif labels is not None:
        if len(labels) != len(paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files "
                             f"in the target directory. len(labels) is {len(labels)} while "
                             f"we found {len(paths)} files in directory {directory}.")
        class_names = [str(v) for v in sorted(set(labels))]
        labels = np.asarray(labels)
    else:
        class_names = None
    if verbose:
        print(f"Found {len(paths)} files" + ("." if labels is None else
                                            f" belonging to {len(class_names)} classes."))
    if shuffle:   # the same permutation of paths and labels, as Keras
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def split(paths, labels, validation_split, subset, verbose=True):
    """The training (all but the last fraction) or validation (the last) part."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
        part = slice(None, -n_val if n_val else None)
    else:
        if verbose:
            print(f"Using {n_val} files for validation.")
        part = slice(len(paths) - n_val, None)
    return paths[part], None if labels is None else labels[part]


def _check_arguments(label_mode, color_mode, validation_split, subset, shuffle, seed,
                     interpolation):
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f'`label_mode` argument must be one of "int", "categorical", '
                         f'"binary", or None. Received: label_mode={label_mode}')
    if color_mode not in _COLOR_MODES:
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. '
                         f"Received: color_mode={color_mode}")
    if interpolation not in ("bilinear", "nearest", "bicubic", "area", "lanczos3",
                             "lanczos5", "mitchellcubic"):
        raise ValueError(f"`interpolation` is not supported: {interpolation!r}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and "
                         "inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must "
                         "provide a `seed` argument, to make sure that there is no overlap "
                         "between the training and validation subset.")
