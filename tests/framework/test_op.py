"""tapeflow/framework/op.py: conversion rules (TF's dtypes) and kernel errors."""
import numpy as np
import pytest

import tapeflow as tf


def test_convert_to_tensor_rules():
    assert tf.convert_to_tensor(1.0).dtype == tf.float32
    assert tf.convert_to_tensor([1, 2]).dtype == tf.int32
    assert tf.convert_to_tensor(np.ones(2)).dtype == tf.float64
    assert tf.convert_to_tensor(1, dtype_hint=tf.float32).dtype == tf.float32
    assert tf.convert_to_tensor(1.5, dtype_hint=tf.int32).dtype == tf.float32
    t = tf.constant(1.0)
    assert tf.convert_to_tensor(t) is t
    v = tf.Variable([1.0])
    assert isinstance(tf.convert_to_tensor(v), tf.Tensor)
    with pytest.raises(ValueError, match="requested dtype float64.*float32"):
        tf.convert_to_tensor(t, dtype=tf.float64)
    with pytest.raises(TypeError, match="Cannot convert.*object"):
        tf.convert_to_tensor(object())


def test_kernel_errors_name_the_op_and_inputs():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Incompatible shapes|\(2,\).*\(3,\)"):
        tf.constant([1.0, 2.0]) + tf.constant([1.0, 2.0, 3.0])
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        tf.reshape(tf.ones(6), [4, 2])
    assert "Reshape" in str(info.value) and "6" in str(info.value)


def test_python_number_with_integer_tensor_keeps_the_integer_dtype():
    assert (tf.constant([1, 2]) + 1).dtype == tf.int32
    assert (1 + tf.constant([1, 2], tf.int64)).dtype == tf.int64
    assert (tf.constant([1, 2], tf.uint8) * 2).numpy().tolist() == [2, 4]


def test_numpy_array_operand_adopts_the_tensor_dtype_where_safe():
    out = tf.constant([1.0, 2.0]) * np.array([2.0, 3.0])   # float64 array -> float32
    assert out.dtype == tf.float32 and out.numpy().tolist() == [2.0, 6.0]
    with pytest.raises(TypeError, match="float64.*int32|int32"):
        tf.constant([1, 2]) * np.array([0.5, 0.5])


def test_tensors_do_not_alias_the_numpy_arrays_they_came_from():
    a = np.ones(4, np.float32)
    t, c = tf.constant(a), tf.convert_to_tensor(a)
    a[0] = 5.0
    np.testing.assert_array_equal(t.numpy(), np.ones(4))
    np.testing.assert_array_equal(c.numpy(), np.ones(4))
