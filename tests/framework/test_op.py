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


def test_op_names_are_unique_in_the_registry():
    from tapeflow.framework.op import OpDef, lookup
    assert lookup("MatMul").name == "MatMul"
    with pytest.raises(ValueError, match="op named 'MatMul' is already defined"):
        OpDef("MatMul", lambda a, b: a @ b)


def test_a_rule_taking_needs_must_be_declared_with_grad_needs():
    from tapeflow.framework.op import OpDef

    def rule(inputs, outputs, attrs, dy, needs):
        return (dy,)
    with pytest.raises(TypeError, match="'Undeclared'.*grad_needs=True"):
        OpDef("Undeclared", lambda x: x, rule, register=False)
    with pytest.raises(TypeError, match="'Declared'.*grad_needs=True"):
        OpDef("Declared", lambda x: x, lambda inputs, outputs, attrs, dy: (dy,),
              grad_needs=True, register=False)
    assert OpDef("Fine", lambda x: x, rule, grad_needs=True, register=False).grad_needs


def test_variants_with_more_outputs_share_one_registered_definition():
    from tapeflow.framework.op import lookup
    split = lookup("SplitV")
    three = split.with_outputs(3)
    assert three.num_outputs == 3 and three.definition is split and three.grad is split.grad
    assert lookup("SplitV") is split
    assert [t.shape for t in tf.split(tf.ones((2, 6)), 3, axis=1)] == [(2, 2)] * 3


def test_an_op_with_residuals_needs_a_kernel_producing_them():
    from tapeflow.framework.op import OpDef
    with pytest.raises(ValueError, match="'Leaky' declares residuals"):
        OpDef("Leaky", lambda x: x, residuals=("saved",), register=False)


def test_reshape_and_random_ops_are_each_one_definition_for_static_and_run_time_shapes():
    from tapeflow.framework.op import registered_ops
    names = list(registered_ops())
    for name in ("Reshape", "RandomUniform", "RandomStandardNormal", "TruncatedNormal"):
        assert names.count(name) == 1

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def f(x):
        return tf.reshape(x, [tf.shape(x)[0], 2, 2]), tf.random.uniform(tf.shape(x))
    r, u = f(tf.ones((3, 4)))
    assert r.shape == (3, 2, 2) and u.shape == (3, 4)
    assert tf.reshape(tf.ones(4), [2, 2]).shape == (2, 2)


def test_a_bound_method_rule_is_checked_without_its_self():
    from tapeflow.framework.op import OpDef

    class Rules:
        def grad(self, inputs, outputs, attrs, dy):
            return (dy,)
    assert OpDef("Bound", lambda x: x, Rules().grad, register=False).grad is not None


def test_ops_made_per_call_by_one_factory_are_one_definition():
    from tapeflow.framework.op import NO_GRADIENT, OpDef, lookup

    def make(scale):
        def kernel(x):
            return x * scale
        return OpDef("TestScaledPerCall", kernel, NO_GRADIENT)
    first = make(2.0)
    second = make(3.0)                       # the same definition again: allowed
    assert lookup("TestScaledPerCall") is first and second.name == first.name
    with pytest.raises(ValueError, match="'TestScaledPerCall' is already defined"):
        OpDef("TestScaledPerCall", lambda x: x, NO_GRADIENT)
