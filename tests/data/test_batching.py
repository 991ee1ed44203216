"""padded_batch (and shard): padding to a common shape, TF's specs and errors."""
import numpy as np
import pytest

import tapeflow as tf

D = tf.data.Dataset


def _ragged():
    return D.range(1, 5).map(lambda n: tf.fill([n], n))


def test_padded_batch_pads_to_the_longest_in_each_batch():
    ds = _ragged().padded_batch(2)
    assert ds.element_spec == tf.TensorSpec([None, None], tf.int64)
    assert [b.tolist() for b in ds.as_numpy_iterator()] == [[[1, 0], [2, 2]],
                                                            [[3, 3, 3, 0], [4, 4, 4, 4]]]


def test_padded_batch_to_fixed_shape_with_a_padding_value():
    ds = _ragged().padded_batch(3, padded_shapes=[5], padding_values=np.int64(-1),
                                drop_remainder=True)
    assert ds.element_spec == tf.TensorSpec([3, 5], tf.int64)
    (batch,) = list(ds.as_numpy_iterator())
    assert batch.tolist() == [[1, -1, -1, -1, -1], [2, 2, -1, -1, -1], [3, 3, 3, -1, -1]]


def test_padded_batch_of_tuples_pads_each_component():
    ds = D.zip((_ragged(), D.range(4))).padded_batch(4)
    x, y = next(iter(ds))
    assert x.shape == tf.TensorShape([4, 4]) and y.numpy().tolist() == [0, 1, 2, 3]


def test_padded_batch_too_small_shape_is_explained():
    with pytest.raises(ValueError, match="smaller size than the input element"):
        list(_ragged().padded_batch(2, padded_shapes=[2]))


def test_padded_batch_matches_tensorflow(real_tf):
    ours = _ragged().padded_batch(3, padded_shapes=[6], padding_values=np.int64(7))
    theirs = real_tf.data.Dataset.range(1, 5).map(lambda n: real_tf.fill([n], n)).padded_batch(
        3, padded_shapes=[6], padding_values=real_tf.constant(7, real_tf.int64))
    assert repr(ours.element_spec) == repr(theirs.element_spec)
    for a, b in zip(ours.as_numpy_iterator(), theirs.as_numpy_iterator(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [lambda: D.range(10), lambda: D.from_generator(
    lambda: iter(range(10)), output_signature=tf.TensorSpec([], tf.int64))])
def test_shard_takes_every_kth_element(make):
    assert [int(v) for v in make().shard(3, 1)] == [1, 4, 7]
    assert [int(v) for v in make().repeat(2).shard(4, 3)] == [3, 7, 1, 5, 9]
    with pytest.raises(ValueError, match="index"):
        make().shard(3, 3)


def test_shard_cardinality():
    assert len(D.range(10).shard(3, 1)) == 3 and len(D.range(10).shard(3, 0)) == 4
    assert len(D.range(2).shard(3, 2)) == 0
