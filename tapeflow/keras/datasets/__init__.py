"""`keras.datasets`: MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 in Keras's formats.

Each `load_data()` returns NumPy uint8 arrays shaped as Keras returns them.
Files come from the Keras cache, then known system copies, then a checked
download (see `_files.py`).

    >>> from tapeflow.keras import datasets
    >>> sorted(m for m in ('mnist', 'fashion_mnist', 'cifar10', 'cifar100') if hasattr(datasets, m))
    ['cifar10', 'cifar100', 'fashion_mnist', 'mnist']
"""
from tapeflow.keras.datasets import cifar10, cifar100, fashion_mnist, mnist  # noqa: F401
