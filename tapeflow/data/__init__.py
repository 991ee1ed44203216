"""`tf.data`: input pipelines (`tf.data.Dataset`) over in-memory arrays and generators.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> x = np.arange(12, dtype=np.float32).reshape(6, 2)
    >>> ds = tf.data.Dataset.from_tensor_slices((x, np.arange(6))).shuffle(6, seed=0).batch(4)
    >>> [xb.shape for xb, yb in ds]
    [TensorShape([4, 2]), TensorShape([2, 2])]
    >>> tf.data.AUTOTUNE
    -1
"""
# The stage modules register what each Dataset method makes (`@stage("batch")`).
from tapeflow.data import batching, cache, nested, selection, shuffle, sources, transforms  # noqa: F401
from tapeflow.data import experimental  # noqa: F401
from tapeflow.data import csv_sources  # noqa: F401  (tf.data.experimental.CsvDataset, ...)
from tapeflow.data.file_sources import TextLineDataset, TFRecordDataset  # noqa: F401
from tapeflow.data.dataset import AUTOTUNE, Dataset  # noqa: F401
from tapeflow.data.dataset import DatasetIterator as Iterator  # noqa: F401
from tapeflow.data.dataset import INFINITE as INFINITE_CARDINALITY  # noqa: F401
from tapeflow.data.dataset import UNKNOWN as UNKNOWN_CARDINALITY  # noqa: F401
from tapeflow.data.nested import DatasetSpec  # noqa: F401
from tapeflow.data.options import Options  # noqa: F401

# The implementation modules are reached by their paths (`from tapeflow.data import
# batching`), not as attributes of the public tf.data namespace.
del batching, cache, dataset, fast, functions, nested, options, selection, shuffle  # noqa: F821
del csv_sources, file_sources, sources, structure, transforms  # noqa: F821
