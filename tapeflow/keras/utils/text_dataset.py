"""`keras.utils.text_dataset_from_directory`: (text, label) batches from class folders.

As Keras 3: the classes are the sub-folders (alphanumeric order, or `class_names`), the
`.txt` files under each (walked in sorted order) its examples; with `shuffle` the file
list is permuted by NumPy's `RandomState(seed)` exactly as Keras permutes it (so
`validation_split`/`subset` select the same files), then the dataset is shuffled with a
buffer of `8 * batch_size` and batched. The result has a `class_names` attribute.
"""
from __future__ import annotations

import os

import numpy as np

from tapeflow.data.dataset import AUTOTUNE, Dataset


def _class_folders(directory, class_names):
    subdirs = [d for d in sorted(os.listdir(directory))
               if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
    if class_names is None:
        return subdirs
    if not set(class_names).issubset(subdirs):
        raise ValueError("The `class_names` passed did not match the names of the "
                         f"subdirectories of the target directory. Expected: {subdirs} (or a "
                         f"subset of it), but received: class_names={class_names}")
    return list(class_names)


def _text_files(folder, follow_links):
    for root, _, files in sorted(os.walk(folder, followlinks=follow_links), key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(".txt"):
                yield os.path.join(root, name)


def _index(directory, labels, class_names, shuffle, seed, follow_links, verbose):
    if labels == "inferred":
        classes = _class_folders(directory, class_names)
        paths, found = [], []
        for index, name in enumerate(classes):
            files = list(_text_files(os.path.join(directory, name), follow_links))
            paths += files
            found += [index] * len(files)
        labels_out = np.array(found, np.int32)
    else:
        if class_names is not None:
            raise ValueError("`class_names` can only be given with labels='inferred'.")
        classes = []
        paths = list(_text_files(directory, follow_links))
        labels_out = None if labels is None else np.asarray(labels)
        if labels_out is not None and len(labels_out) != len(paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files "
                             f"in the target directory. len(labels) is {len(labels_out)} "
                             f"while we found {len(paths)} files in directory {directory}.")
        if labels_out is not None:
            classes = sorted(set(labels_out.tolist()))
    if verbose:
        print(f"Found {len(paths)} files belonging to {len(classes)} classes." if labels_out
              is not None else f"Found {len(paths)} files.")
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if labels_out is not None:
            np.random.RandomState(seed).shuffle(labels_out)
    return paths, labels_out, classes


def _split(paths, labels, validation_split, subset, verbose):
    if not validation_split:
        return paths, labels
    if subset not in ("training", "validation"):
        raise ValueError(f"`subset` must be 'training' or 'validation' when "
                         f"`validation_split` is set; received: {subset!r}")
    n_val = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
        keep = slice(0, len(paths) - n_val)
    else:
        if verbose:
            print(f"Using {n_val} files for validation.")
        keep = slice(len(paths) - n_val, len(paths))
    return paths[keep], (labels[keep] if labels is not None else None)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """A dataset of `(text, label)` (or `text`) batches from `.txt` files in class folders."""
    from tapeflow.io.parsing_ops import read_file
    from tapeflow.ops import string_ops
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"`label_mode` must be one of 'int', 'categorical', 'binary', or "
                         f"None. Received: label_mode={label_mode}")
    if labels is None:
        label_mode = None
    paths, found, classes = _index(directory, labels, class_names, shuffle, seed,
                                   follow_links, verbose)
    if label_mode == "binary" and len(classes) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={classes}")
    paths, found = _split(paths, found, validation_split, subset, verbose)
    if not paths:
        raise ValueError(f"No text files found in directory {directory}. Allowed format: .txt")

    def read(path):
        text = read_file(path)
        return string_ops.substr(text, 0, max_length) if max_length is not None else text

    ds = Dataset.from_tensor_slices(paths).map(read)
    if label_mode is not None:
        if label_mode == "binary":
            values = found.astype(np.float32)[:, None]
        elif label_mode == "categorical":
            values = np.eye(len(classes), dtype=np.float32)[found]
        else:
            values = found
        ds = Dataset.zip((ds, Dataset.from_tensor_slices(values)))
    if shuffle:
        ds = ds.shuffle(batch_size * 8 if batch_size is not None else 1024, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    ds = ds.prefetch(AUTOTUNE)
    ds.class_names = classes
    return ds
