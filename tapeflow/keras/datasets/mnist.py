"""MNIST handwritten digits: `(x_train, y_train), (x_test, y_test) = mnist.load_data()`.

Read from Keras's `mnist.npz` (in `$KERAS_HOME/datasets` or
`~/.keras/datasets`), else downloaded from Keras's address and checked
against its sha256. No other dataset is ever substituted: without the file
and a network, `load_data` raises an error saying where to put it.
"""
from __future__ import annotations

import os

from tapeflow.keras.datasets import _files, _formats

FILE = "mnist.npz"
REMOTE = _files.Remote(
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")


def load_data(path: str = FILE):
    """Loads MNIST: 60,000 training and 10,000 test images of digits 0-9.

    Args:
        path: the file name inside the Keras cache (or an absolute path).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        (60000, 28, 28), (60000,), (10000, 28, 28) and (10000,).

    Raises:
        FileNotFoundError: no copy here and the download failed (says where to put it).
        ValueError: the file is truncated or not an MNIST `.npz` (names the file).
    """
    where = path if os.path.isabs(path) else os.path.join(_files.cache_dir(), path)
    if not os.path.exists(where):
        try:
            where = _files.download(REMOTE, path)
        except OSError as e:
            raise _files.missing_error(
                "MNIST", "mnist.load_data()", [os.path.basename(path)],
                os.path.dirname(where), cause=e,
                source=f" (from {REMOTE.url}, sha256 {REMOTE.digest})") from None
    arrays = _formats.read_npz(where, ("x_train", "y_train", "x_test", "y_test"))
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
