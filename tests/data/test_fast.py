"""The batch gather fast path (`data/fast.py`)."""
import numpy as np

import tapeflow as tf
from tapeflow.data import fast


def test_batch_rows_spans_chunks_and_slices_contiguous_runs():
    a = np.arange(20) * 10
    chunks = [range(3), np.array([9, 8, 7, 6]), range(3, 6)]
    out = [b[0].tolist() for b in fast.batch_rows([a], chunks, 4, False)]
    assert out == [[0, 10, 20, 90], [80, 70, 60, 30], [40, 50]]
    assert [b[0].tolist() for b in fast.batch_rows([a], [range(6)], 4, True)] == [[0, 10, 20, 30]]


def test_dataset_numpy_batches_are_plain_arrays():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((5, 2)), np.arange(5))).batch(2)
    flat = list(ds._numpy_batches())
    assert all(type(a) is np.ndarray for f in flat for a in f) and len(flat) == 3


def test_array_batches_are_not_tf_data_api():
    assert not hasattr(tf.data, "array_batches")
