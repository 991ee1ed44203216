"""`tf.data.experimental`: the constants and helpers TF 2 programs still use.

    >>> import tapeflow as tf
    >>> tf.data.experimental.AUTOTUNE, tf.data.experimental.INFINITE_CARDINALITY
    (-1, -1)
    >>> print(tf.data.experimental.cardinality(tf.data.Dataset.range(3)))
    tf.Tensor(3, shape=(), dtype=int64)
"""
from tapeflow.data.dataset import AUTOTUNE, INFINITE, UNKNOWN  # noqa: F401

INFINITE_CARDINALITY = INFINITE
UNKNOWN_CARDINALITY = UNKNOWN


def cardinality(dataset):
    """`dataset.cardinality()`, as a function."""
    return dataset.cardinality()
