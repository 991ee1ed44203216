"""tapeflow/ops/sparse_ops.py: SparseTensor, tf.sparse.to_dense / from_dense, beside TF."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients


def _both(m):
    return m.sparse.SparseTensor(indices=[[0, 3], [2, 1]], values=[4.5, -2.0],
                                 dense_shape=[3, 5])


def test_printed_form_and_attributes_match_tensorflow(real_tf):
    ours, theirs = _both(tf), _both(real_tf)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours.shape == tf.TensorShape([3, 5])
    assert ours.dtype == tf.float32
    assert ours.indices.dtype == tf.int64 and ours.dense_shape.dtype == tf.int64


def test_top_level_name_is_the_same_class():
    assert tf.SparseTensor is tf.sparse.SparseTensor
    assert isinstance(_both(tf), tf.SparseTensor)


@pytest.mark.parametrize("default", [None, -1.5])
def test_to_dense_matches_tensorflow(default, real_tf):
    got = tf.sparse.to_dense(_both(tf), default_value=default)
    want = real_tf.sparse.to_dense(_both(real_tf), default_value=default)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_to_dense_of_no_values_is_all_default():
    st = tf.sparse.SparseTensor(np.zeros((0, 2), np.int64), tf.zeros([0], tf.int32), [2, 2])
    np.testing.assert_array_equal(tf.sparse.to_dense(st).numpy(), np.zeros((2, 2), np.int32))


def test_to_dense_differentiates_the_values(rng):
    def f(v):
        st = tf.sparse.SparseTensor([[0, 0], [1, 2], [3, 1]], v, [4, 3])
        return tf.sparse.to_dense(st) * tf.reshape(tf.range(12, dtype=tf.float64), [4, 3])
    check_gradients(f, [rng.normal(size=3)])


def test_from_dense_round_trips_like_tensorflow(real_tf):
    x = np.array([[0.0, 1.25, 0.0], [-3.0, 0.0, 0.0]], np.float32)
    ours, theirs = tf.sparse.from_dense(x), real_tf.sparse.from_dense(x)
    assert str(ours) == str(theirs)
    np.testing.assert_array_equal(tf.sparse.to_dense(ours).numpy(), x)


@pytest.mark.parametrize("indices, message", [
    ([[1, 1], [0, 2]], r"indices\[1\] = \[0,2\] is out of order"),
    ([[0, 2], [0, 2]], r"indices\[1\] = \[0,2\] is repeated"),
    ([[0, 2], [1, 3]], r"indices\[1\] = \[1,3\] is out of bounds"),
])
def test_to_dense_rejects_bad_indices_as_tensorflow(indices, message):
    st = tf.sparse.SparseTensor(indices, [1.0, 2.0], [2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        tf.sparse.to_dense(st)


def test_mismatched_parts_name_both_sizes():
    with pytest.raises(ValueError, match="Dimensions 1 and 2 are not compatible"):
        tf.sparse.SparseTensor(indices=[[0]], values=[1, 2], dense_shape=[3])
    with pytest.raises(TypeError, match="SparseTensor"):
        tf.sparse.to_dense(tf.zeros([2]))
