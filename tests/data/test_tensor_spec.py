"""TensorSpec: the shape/dtype/name descriptor shared by tf.data and tf.function."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.framework.tensor_spec import TensorSpec


def test_repr_matches_tensorflow():
    assert repr(tf.TensorSpec((28, 28), tf.uint8)) == \
        "TensorSpec(shape=(28, 28), dtype=tf.uint8, name=None)"
    assert repr(tf.TensorSpec([None, 28], tf.float32, name="x")) == \
        "TensorSpec(shape=(None, 28), dtype=tf.float32, name='x')"
    assert repr(tf.TensorSpec(None)) == "TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)"
    assert repr(tf.TensorSpec([], "int64")) == "TensorSpec(shape=(), dtype=tf.int64, name=None)"


def test_is_compatible_with_tensors_arrays_and_specs():
    spec = TensorSpec([None, 3], tf.float32)
    assert spec.is_compatible_with(tf.zeros([5, 3]))
    assert spec.is_compatible_with(np.zeros((2, 3), np.float32))
    assert not spec.is_compatible_with(tf.zeros([5, 4]))
    assert not spec.is_compatible_with(tf.zeros([5, 3], tf.float64))
    assert spec.is_compatible_with(TensorSpec([7, 3]))
    assert TensorSpec(None, tf.int32).is_compatible_with(tf.constant([[1]]))
    assert not spec.is_compatible_with("not a tensor")


def test_equality_and_hash_use_shape_dtype_name():
    a, b = TensorSpec([2], tf.int32), TensorSpec((2,), "int32")
    assert a == b and hash(a) == hash(b)
    assert a != TensorSpec([2], tf.int32, name="n")
    assert a != TensorSpec([3], tf.int32)
    assert len({a, b}) == 1


def test_from_tensor_and_most_specific_type():
    s = TensorSpec.from_tensor(tf.constant([[1.0, 2.0]]))
    assert s == TensorSpec([1, 2], tf.float32)
    merged = s.most_specific_compatible_type(TensorSpec([3, 2], tf.float32))
    assert merged.shape.as_list() == [None, 2]
    with pytest.raises(ValueError, match="dtypes differ"):
        s.most_specific_compatible_type(TensorSpec([1, 2], tf.int32))


def test_bad_arguments_are_explained():
    with pytest.raises(TypeError, match="name"):
        TensorSpec([1], tf.float32, name=3)
    with pytest.raises(TypeError, match="DType"):
        TensorSpec([1], "no-such-dtype")


def test_tensorflow_agrees_on_repr(real_tf):
    for shape, dtype in [((28, 28), "uint8"), ((None,), "int64"), ((), "float32")]:
        assert repr(tf.TensorSpec(shape, dtype)) == repr(real_tf.TensorSpec(shape, dtype))
