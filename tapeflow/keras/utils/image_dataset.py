"""`keras.utils.image_dataset_from_directory`: a batched `tf.data.Dataset` of images
(float32, resized to `image_size`) and labels from a folder of class subfolders.

The files are listed, ordered, shuffled and split exactly as Keras 3 does (its
`file_paths` and `class_names` attributes match Keras's); the elements are then
shuffled by `Dataset.shuffle` with the same seed, so the batch order is
reproducible but not Keras's own.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.keras.utils import image_utils
from tapeflow.ops import array_ops, image_codec_ops, image_ops


def _load_image(path, image_size, channels, interpolation, crop_to_aspect_ratio,
                pad_to_aspect_ratio):
    with open(path, "rb") as f:
        data = f.read()
    try:
        img = image_codec_ops.decode_image(data, channels=channels, expand_animations=False)
    except errors.InvalidArgumentError as e:   # the codec sees bytes only: name the file
        raise errors.InvalidArgumentError(None, None, f"{e.message} (image file {path})") \
            from None
    if crop_to_aspect_ratio:
        from tapeflow.keras.layers.image_preprocessing import smart_resize
        img = smart_resize(img, image_size, interpolation)
    elif pad_to_aspect_ratio:   # Keras uses resize_with_pad here (not its layer's padding)
        img = image_ops.resize_with_pad(img, image_size[0], image_size[1],
                                        method=interpolation)
    else:
        img = image_ops.resize(img, image_size, method=interpolation)
    return np.asarray(img.numpy(), np.float32)


def _labels_array(labels, label_mode, num_classes):
    if label_mode == "binary":
        return np.asarray(labels, np.float32).reshape(-1, 1)
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, np.int64)]
    return np.asarray(labels, np.int32)


def _paths_to_dataset(paths, labels, label_mode, num_classes, image_size, channels,
                      interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, shuffle,
                      buffer_size, seed, batch_size):
    from tapeflow.data.dataset import Dataset
    from tapeflow.function.py_func import numpy_function
    index = np.arange(len(paths), dtype=np.int64)
    ds = (Dataset.from_tensor_slices((index, _labels_array(labels, label_mode, num_classes)))
          if label_mode else Dataset.from_tensor_slices(index))
    if shuffle:
        ds = ds.shuffle(buffer_size, seed=seed)
    shape = [int(image_size[0]), int(image_size[1]), channels]

    def load(i):
        def read(k):
            return _load_image(paths[int(k)], tuple(shape[:2]), channels, interpolation,
                               crop_to_aspect_ratio, pad_to_aspect_ratio)
        return array_ops.reshape(numpy_function(read, [i], dtypes.float32), shape)

    ds = ds.map((lambda i, y: (load(i), y)) if label_mode else load)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    ds = ds.prefetch(-1)
    ds.class_names = None
    ds.file_paths = list(paths)
    return ds


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """A dataset of (images, labels) batches from `directory`/<class>/<image files>.

    Images are float32 [batch, height, width, channels] (channels from
    `color_mode`: 1, 3 or 4); labels are int32 class indices (`label_mode="int"`),
    float32 one-hot rows ("categorical"), float32 [batch, 1] ("binary") or absent
    (None). With `subset="both"` it returns (training, validation) datasets.
    """
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f'`labels` argument should be a list/tuple of integer labels, of '
                         f'the same size as the number of image files in the target '
                         f'directory. If you wish to infer the labels from the '
                         f'subdirectory names in the target directory, pass '
                         f'`labels="inferred"`. If you wish to get a dataset that only '
                         f'contains images (no labels), pass `labels=None`. Received: '
                         f'labels={labels}')
    if labels is None:
        label_mode = None
    interpolation = interpolation.lower()
    image_utils._check_arguments(label_mode, color_mode, validation_split, subset, shuffle,
                                 seed, interpolation)
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be "
                         "set to `True`.")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found, class_names = image_utils.index_directory(
        str(directory), labels, class_names, shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    common = dict(label_mode=label_mode, num_classes=len(class_names) if class_names else 0,
                  image_size=tuple(image_size), channels=image_utils._COLOR_MODES[color_mode],
                  interpolation=interpolation, crop_to_aspect_ratio=crop_to_aspect_ratio,
                  pad_to_aspect_ratio=pad_to_aspect_ratio, seed=seed, batch_size=batch_size,
                  buffer_size=batch_size * 8 if batch_size is not None else 1024)
    parts = ["training", "validation"] if subset == "both" else [subset]
    out = []
    for part in parts:
        part_paths, part_labels = image_utils.split(paths, found, validation_split, part,
                                                     verbose)
        if not part_paths:
            raise ValueError(f"No images found in directory {directory}. Allowed formats: "
                             f"{image_utils.ALLOWLIST_FORMATS}")
        ds = _paths_to_dataset(part_paths, part_labels, shuffle=shuffle and part != "validation"
                               if subset == "both" else shuffle, **common)
        ds.class_names = class_names
        out.append(ds)
    return out if subset == "both" else out[0]
