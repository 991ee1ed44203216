"""CIFAR-10 (60,000 32x32 colour images, 10 classes): `cifar10.load_data()`."""
from __future__ import annotations

import numpy as np

from tapeflow.keras.datasets import _files, cifar

FOLDER = "cifar-10-batches-py"
ARCHIVES = ("cifar-10-batches-py.tar.gz", "cifar-10-python.tar.gz")
REMOTE = _files.Remote("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                       "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")
TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


def load_data():
    """Loads CIFAR-10.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        (50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1).

    Raises:
        FileNotFoundError: no copy here and the download failed (says where to put it).
        ValueError: a file is truncated, corrupt or not a plain CIFAR pickle.
    """
    raw = cifar.read_batches(FOLDER, TRAIN + ("test_batch",), ARCHIVES, REMOTE,
                             "cifar10.load_data()", "CIFAR-10")
    where = raw["__where__"]
    parts = [cifar.decode(raw[n], where, n, "labels") for n in TRAIN]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = cifar.decode(raw["test_batch"], where, "test_batch", "labels")
    return cifar.to_keras_layout(x_train, y_train), cifar.to_keras_layout(x_test, y_test)
