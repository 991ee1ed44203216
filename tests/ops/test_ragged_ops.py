"""tapeflow/ops/ragged_ops.py: tf.ragged.constant and RaggedTensor, beside TensorFlow."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

LISTS = {
    "ints": [[3, 1, 4], [1], [], [5, 9]],
    "floats": [[0.25], [], [2.0, -1.5, 8.0]],
    "nested": [[[7, 8], [9]], [[1, 2, 3]], []],
    "uniform": [[1, 2], [3, 4]],
    "empty_rows": [[], []],
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_constant_prints_and_describes_as_tensorflow(name, real_tf):
    ours, theirs = tf.ragged.constant(LISTS[name]), real_tf.ragged.constant(LISTS[name])
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert ours.shape.as_list() == theirs.shape.as_list()
    assert ours.dtype.name == theirs.dtype.name
    assert ours.ragged_rank == theirs.ragged_rank
    assert ours.to_list() == theirs.to_list()
    np.testing.assert_array_equal(ours.row_splits.numpy(), theirs.row_splits.numpy())
    np.testing.assert_array_equal(ours.to_tensor().numpy(), theirs.to_tensor().numpy())


def test_rows_lengths_and_slices_match_tensorflow(real_tf):
    data = LISTS["ints"]
    ours, theirs = tf.ragged.constant(data), real_tf.ragged.constant(data)
    np.testing.assert_array_equal(ours.row_lengths().numpy(), theirs.row_lengths().numpy())
    assert int(ours.nrows()) == int(theirs.nrows())
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[-1].numpy(), theirs[-1].numpy())
    assert str(ours[1:3]) == str(theirs[1:3])
    np.testing.assert_array_equal(ours.to_tensor(default_value=-1).numpy(),
                                  theirs.to_tensor(default_value=-1).numpy())


def test_to_tensor_differentiates_the_values(rng):
    def f(v):
        rt = tf.RaggedTensor.from_row_splits(v, [0, 2, 2, 5])
        return rt.to_tensor() * tf.constant([[1.0, 2.0, 3.0]] * 3, tf.float64)
    check_gradients(f, [rng.normal(size=5)])


def test_flat_list_is_a_dense_tensor(real_tf):
    ours = tf.ragged.constant([1, 2, 3])
    assert isinstance(ours, tf.Tensor) and ours.shape == tf.TensorShape([3])


def test_mixed_nesting_is_tensorflows_error():
    with pytest.raises(ValueError, match="same nesting depth"):
        tf.ragged.constant([[1, [2]], [3]])


def test_bad_row_splits_name_what_was_received():
    with pytest.raises(ValueError, match=r"received \[0, 3, 2\]"):
        tf.RaggedTensor.from_row_splits([1, 2], [0, 3, 2])
    with pytest.raises(IndexError, match="row index 4 out of range"):
        tf.ragged.constant([[1], [2]])[4]
