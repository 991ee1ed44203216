"""The batch gather fast path and `tf.data.array_batches` for training loops."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.data import fast


def test_array_batches_shuffles_a_full_permutation_keeping_rows_paired():
    x = np.arange(100, dtype=np.float32).reshape(50, 2)
    y = np.arange(50)
    batches = list(tf.data.array_batches((x, y), 8, shuffle=True, seed=0))
    assert [len(b[1]) for b in batches] == [8] * 6 + [2]
    order = np.concatenate([b[1] for b in batches])
    assert sorted(order.tolist()) == list(range(50)) and order.tolist() != list(range(50))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb, x[yb])
        assert xb.flags.c_contiguous
    again = list(tf.data.array_batches((x, y), 8, shuffle=True, seed=0))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again, strict=True))


def test_array_batches_drop_remainder_and_tensors():
    x = tf.constant(np.arange(10))
    assert [b[0].tolist() for b in tf.data.array_batches([x], 4, shuffle=False,
                                                         drop_remainder=True)] == [
        [0, 1, 2, 3], [4, 5, 6, 7]]


def test_array_batches_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"same first dimension.*\(3,\), \(4,\)"):
        list(tf.data.array_batches((np.zeros(3), np.zeros(4)), 2))
    with pytest.raises(ValueError, match="batch_size"):
        list(tf.data.array_batches((np.zeros(3),), 0))


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
