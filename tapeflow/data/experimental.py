"""`tf.data.experimental`: the constants and helpers TF 2 programs still use.

    >>> import tapeflow as tf
    >>> tf.data.experimental.AUTOTUNE, tf.data.experimental.INFINITE_CARDINALITY
    (-1, -1)
    >>> print(tf.data.experimental.cardinality(tf.data.Dataset.range(3)))
    tf.Tensor(3, shape=(), dtype=int64)
"""
import enum

from tapeflow.data.dataset import AUTOTUNE, INFINITE, UNKNOWN  # noqa: F401

INFINITE_CARDINALITY = INFINITE


class AutoShardPolicy(enum.IntEnum):
    """How a distributed input pipeline is split (kept in `Options`; single process here)."""
    OFF = -1
    AUTO = 0
    FILE = 1
    DATA = 2
    HINT = 3
UNKNOWN_CARDINALITY = UNKNOWN


def Counter(start=0, step=1, dtype=None):   # TF's public name, capitalised
    """`tf.data.Dataset.counter`, under its older name."""
    from tapeflow.data.dataset import Dataset
    return Dataset.counter(start, step, dtype)


def assert_cardinality(expected_cardinality):
    """Declares a dataset's length (checked while iterating): use with `Dataset.apply`."""
    from tapeflow.data.selection import assert_cardinality as make
    return make(expected_cardinality)


def cardinality(dataset):
    """`dataset.cardinality()`, as a function."""
    return dataset.cardinality()


def sample_from_datasets(datasets, weights=None, seed=None, stop_on_empty_dataset=False):
    """`tf.data.Dataset.sample_from_datasets`, under its older name."""
    from tapeflow.data.dataset import Dataset
    return Dataset.sample_from_datasets(datasets, weights, seed, stop_on_empty_dataset)


def choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset=True):
    """`tf.data.Dataset.choose_from_datasets`, under its older name."""
    from tapeflow.data.dataset import Dataset
    return Dataset.choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset)


def __getattr__(name):
    # The CSV readers import tf.io; loaded on first use to keep `tf.data` light.
    if name in ("CsvDataset", "make_csv_dataset"):
        from tapeflow.data import csv_sources
        return getattr(csv_sources, name)
    if name == "TFRecordWriter":
        from tapeflow.data.file_sources import TFRecordWriter
        return TFRecordWriter
    raise AttributeError(f"module 'tapeflow.data.experimental' has no attribute {name!r}")
