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
from tapeflow.data import experimental  # noqa: F401
from tapeflow.data.dataset import AUTOTUNE, Dataset, DatasetIterator  # noqa: F401
from tapeflow.data.dataset import INFINITE as INFINITE_CARDINALITY  # noqa: F401
from tapeflow.data.dataset import UNKNOWN as UNKNOWN_CARDINALITY  # noqa: F401
from tapeflow.data.fast import array_batches  # noqa: F401
from tapeflow.data.nested import DatasetSpec  # noqa: F401
from tapeflow.data.transforms import Options  # noqa: F401

Iterator = DatasetIterator
