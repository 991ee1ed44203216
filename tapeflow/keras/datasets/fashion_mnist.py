"""Fashion-MNIST (Zalando's clothing images): `fashion_mnist.load_data()`.

Read from the four IDX `.gz` files in `<Keras cache>/fashion-mnist/`, else
from Debian's `dataset-fashion-mnist` copy in `/usr/share/datasets/fashion-mnist/`,
else downloaded from Keras's address. A download is checked against the
sha256 of the file's *decompressed* content, so a mirror that recompresses
the same data is still accepted.
"""
from __future__ import annotations

import os

from tapeflow.keras.datasets import _files, _formats

SUBDIR = "fashion-mnist"
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)
BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# sha256 of each file's gunzipped IDX content (60,000 / 10,000 images and labels).
CONTENT_SHA256 = {
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
}
FILES = tuple(CONTENT_SHA256)


def remote(name: str) -> _files.Remote:
    return _files.Remote(BASE_URL + name, CONTENT_SHA256[name], of_content=True)


def _locate() -> dict:
    """Path of each file: a directory holding all four wins; else download what is missing."""
    cached = os.path.join(_files.cache_dir(), SUBDIR)
    for d in (cached, *SYSTEM_DIRS):
        if all(os.path.exists(os.path.join(d, f)) for f in FILES):
            return {f: os.path.join(d, f) for f in FILES}
    paths = {}
    for f in FILES:
        path = os.path.join(cached, f)
        if not os.path.exists(path):
            try:
                path = _files.download(remote(f), os.path.join(SUBDIR, f))
            except OSError as e:
                raise _files.missing_error(
                    "Fashion-MNIST", "fashion_mnist.load_data()", FILES, cached, cause=e,
                    alternatives=" or install Debian's dataset-fashion-mnist package") from None
        paths[f] = path
    return paths


def load_data():
    """Loads Fashion-MNIST: 60,000 training and 10,000 test images, 10 classes.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        (60000, 28, 28), (60000,), (10000, 28, 28) and (10000,).

    Raises:
        FileNotFoundError: no copy here and the download failed (says where to put the files).
        ValueError: a file is truncated or not in IDX format (names the file).
    """
    p = _locate()
    x_train = _formats.read_idx_gz(p["train-images-idx3-ubyte.gz"], 3)
    y_train = _formats.read_idx_gz(p["train-labels-idx1-ubyte.gz"], 1)
    x_test = _formats.read_idx_gz(p["t10k-images-idx3-ubyte.gz"], 3)
    y_test = _formats.read_idx_gz(p["t10k-labels-idx1-ubyte.gz"], 1)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if len(x) != len(y):
            raise _formats.CorruptDatasetError(
                f"Fashion-MNIST {split} files disagree: {len(x)} images but {len(y)} labels "
                f"({p[split + '-images-idx3-ubyte.gz']}, {p[split + '-labels-idx1-ubyte.gz']}).")
    return (x_train, y_train), (x_test, y_test)
