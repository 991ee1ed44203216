"""Dataset elements that are SparseTensors: spec, iteration, map; batching says it is not
supported."""
import numpy as np
import pytest

import tapeflow as tf


def _sparse():
    return tf.SparseTensor(indices=[[0, 0], [1, 2]], values=[1, 2], dense_shape=[3, 4])


def test_from_tensors_of_a_sparse_tensor_has_tensorflows_element_spec(real_tf):
    ours = tf.data.Dataset.from_tensors(_sparse()).element_spec
    theirs = real_tf.data.Dataset.from_tensors(real_tf.SparseTensor(
        indices=[[0, 0], [1, 2]], values=[1, 2], dense_shape=[3, 4])).element_spec
    assert repr(ours) == repr(theirs)
    assert ours.value_type is tf.SparseTensor
    assert ours.shape == (3, 4) and ours.dtype == tf.int32


def test_iterating_gives_back_the_sparse_tensor_in_its_structure():
    ds = tf.data.Dataset.from_tensors((_sparse(), 5)).repeat(2)
    elements = list(ds)
    assert len(elements) == 2
    for st, n in elements:
        assert isinstance(st, tf.SparseTensor) and int(n) == 5
        np.testing.assert_array_equal(tf.sparse.to_dense(st).numpy(),
                                      [[1, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]])


def test_map_receives_the_sparse_tensor():
    dense = list(tf.data.Dataset.from_tensors(_sparse()).map(tf.sparse.to_dense))
    assert dense[0].shape == (3, 4) and int(tf.reduce_sum(dense[0])) == 3


@pytest.mark.parametrize("transform", [lambda ds: ds.batch(2), lambda ds: ds.padded_batch(2)])
def test_batching_sparse_elements_is_a_clear_error(transform):
    with pytest.raises(NotImplementedError, match="SparseTensor.*to_dense"):
        transform(tf.data.Dataset.from_tensors(_sparse()))


def test_sparse_tensor_spec_compatibility():
    spec = tf.SparseTensorSpec([None, 4], tf.int32)
    assert spec.is_compatible_with(_sparse())
    assert not spec.is_compatible_with(tf.SparseTensorSpec([3, 5], tf.int32))
    assert not spec.is_compatible_with(tf.zeros([3, 4], tf.int32))
    assert spec == tf.SparseTensorSpec([None, 4], "int32")


def test_slicing_a_sparse_tensor_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="slicing a SparseTensor"):
        tf.data.Dataset.from_tensor_slices(_sparse())
