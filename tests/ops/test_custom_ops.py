"""tapeflow/ops/custom_ops.py: ops defined from Python with register_op / defvjp."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.framework.op import registered_ops
from tapeflow.testing import check_gradients

register_op, defvjp = tf.experimental.register_op, tf.experimental.defvjp


@register_op("TestLogSumExp2")
def logaddexp(x, y):
    return np.logaddexp(x, y)


# d/dx log(e^x + e^y) = e^(x - ans): written in tapeflow ops, so it differentiates again.
logaddexp.defvjp(lambda ans, x, y: lambda g: g * tf.exp(x - ans),
                 lambda ans, x, y: lambda g: g * tf.exp(y - ans))


@register_op("TestScaleBy", shape_fn=lambda inputs, attrs: [(inputs[0].shape, inputs[0].dtype)])
def scale_by(x, factor):
    return x * x.dtype.type(factor)


defvjp(scale_by, lambda ans, x, factor: lambda g: g * factor)


@register_op("TestMinMax", num_outputs=2)
def min_max(x):
    return x.min(axis=-1), x.max(axis=-1)


def test_a_registered_op_is_in_the_registry_and_runs_eagerly():
    assert registered_ops()["TestLogSumExp2"] is logaddexp.op
    out = logaddexp(tf.constant([0.0, 1.0]), 0.0)          # 0.0 adopts float32
    np.testing.assert_allclose(out.numpy(), np.logaddexp([0.0, 1.0], 0.0), rtol=1e-6)
    assert out.dtype == tf.float32


def test_first_and_second_order_gradients_pass_the_checker(rng):
    check_gradients(logaddexp, [rng.normal(size=(2, 3)), rng.normal(size=(3,))])


def test_attributes_reach_the_kernel_and_the_gradient(rng):
    check_gradients(lambda x: scale_by(x, factor=2.5), [rng.normal(size=(4,))])


def test_the_op_traces_into_tf_function_and_differentiates_there():
    @tf.function
    def f(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            z = tf.reduce_sum(logaddexp(x, y))
        return z, tape.gradient(z, x)

    x, y = tf.constant([0.0, 2.0]), tf.constant([1.0, 1.0])
    z, dx = f(x, y)
    names = [n.op.name for n in f.get_concrete_function(x, y).graph.nodes]
    assert "TestLogSumExp2" in names
    np.testing.assert_allclose(dx.numpy(), 1 / (1 + np.exp([1.0, -1.0])), rtol=1e-6)
    np.testing.assert_allclose(z.numpy(), np.logaddexp([0.0, 2.0], 1.0).sum(), rtol=1e-6)


def test_several_outputs_come_back_as_a_tuple():
    lo, hi = min_max(tf.constant([[3.0, -1.0, 2.0]]))
    assert lo.numpy().tolist() == [-1.0] and hi.numpy().tolist() == [3.0]


def test_differentiating_before_defvjp_names_the_op():
    x = tf.constant([1.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        lo, _ = min_max(x[None])
    with pytest.raises(LookupError, match="TestMinMax"):
        tape.gradient(lo, x)


def test_a_name_taken_by_another_op_is_refused():
    with pytest.raises(ValueError, match="op named 'MatMul' is already defined"):
        register_op("MatMul", lambda a, b: a @ b)


def test_running_the_same_definition_again_replaces_the_op():
    def make():
        @register_op("TestRedefined")
        def twice(x):
            return 2 * x
        return twice
    first, second = make(), make()
    assert registered_ops()["TestRedefined"] is second.op is not first.op


def test_non_differentiable_ops_are_declared_and_refuse_a_gradient():
    sign = register_op("TestSign", np.sign, differentiable=False)
    x = tf.constant([-2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = sign(x)
    assert tape.gradient(y, x) is None
    with pytest.raises(ValueError, match="differentiable=False"):
        defvjp(sign, lambda ans, x: lambda g: g)


def test_defvjp_takes_only_registered_ops():
    with pytest.raises(TypeError, match="op made by register_op"):
        defvjp(np.sin, lambda ans, x: lambda g: g)
