"""CIFAR-100 (60,000 32x32 colour images, 100 classes in 20 superclasses)."""
from __future__ import annotations

from tapeflow.keras.datasets import _files, cifar

FOLDER = "cifar-100-python"
ARCHIVES = ("cifar-100-python.tar.gz",)
REMOTE = _files.Remote("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                       "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7")


def load_data(label_mode: str = "fine"):
    """Loads CIFAR-100.

    Args:
        label_mode: 'fine' (100 classes) or 'coarse' (20 superclasses).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        (50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1).

    Raises:
        ValueError: for another `label_mode`, or a truncated/corrupt file.
        FileNotFoundError: no copy here and the download failed (says where to put it).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of "fine", "coarse". '
                         f"Received: label_mode={label_mode!r}.")
    raw = cifar.read_batches(FOLDER, ("train", "test"), ARCHIVES, REMOTE,
                             "cifar100.load_data()", "CIFAR-100")
    key = f"{label_mode}_labels"
    train = cifar.decode(raw["train"], raw["__where__"], "train", key)
    test = cifar.decode(raw["test"], raw["__where__"], "test", key)
    return cifar.to_keras_layout(*train), cifar.to_keras_layout(*test)
