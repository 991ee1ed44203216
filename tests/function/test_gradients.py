"""Gradients through tf.function: tapes inside traced code, and calls under outer tapes."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients


def test_tape_inside_function_matches_eager(rng):
    w = tf.Variable(rng.normal(size=(3, 2)).astype(np.float32))

    def grads(x):
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.tanh(tf.matmul(x, w)) ** 2)
        return tape.gradient(y, w)

    x = tf.constant(rng.normal(size=(4, 3)).astype(np.float32))
    np.testing.assert_allclose(tf.function(grads)(x).numpy(), grads(x).numpy(), rtol=1e-6)


def test_tape_watching_a_placeholder_inside_function():
    @tf.function
    def df(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x * x * x
        return tape.gradient(y, x)

    assert float(df(tf.constant(2.0))) == 12.0


def test_nested_tapes_inside_function_give_second_derivative():
    @tf.function
    def d2(x):
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = tf.sin(x)
            dy = t1.gradient(y, x)
        return t2.gradient(dy, x)

    np.testing.assert_allclose(d2(tf.constant(0.7)).numpy(), -np.sin(0.7), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_function_call_is_differentiable_first_and_second_order(rng, dtype):
    @tf.function
    def f(x, y):
        return tf.reduce_sum(tf.exp(x) * tf.sin(y), axis=0) + tf.square(x[0])

    x = rng.normal(size=(3, 2)).astype(dtype)
    y = rng.normal(size=(3, 2)).astype(dtype)
    check_gradients(f, [x, y], order=2)


def test_function_call_differentiates_variables(rng):
    v = tf.Variable(rng.normal(size=(2, 2)).astype(np.float64))
    w = tf.Variable(rng.normal(size=(2,)).astype(np.float64))

    @tf.function
    def f(x, var):
        return tf.matmul(x, var) * var + w    # `var` an argument, `w` captured

    check_gradients(f, [rng.normal(size=(2, 2)), v], order=2)
    with tf.GradientTape() as tape:
        y = f(tf.ones([2, 2], tf.float64), v)
    np.testing.assert_array_equal(tape.gradient(y, w).numpy(), [2.0, 2.0])


def test_function_call_is_one_tape_entry():
    f = tf.function(lambda x: tf.reduce_sum(tf.tanh(x) * 2.0 + x))
    x = tf.constant([0.1, 0.2])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    assert len(tape._entries) == 1
    expected = 2.0 * (1 - np.tanh([0.1, 0.2]) ** 2) + 1.0
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), expected, rtol=1e-6)


def test_third_order_through_nested_tapes():
    f = tf.function(lambda x: x ** 4)
    x = tf.constant(1.5)
    with tf.GradientTape() as t3:
        t3.watch(x)
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = f(x)
            g1 = t1.gradient(y, x)
        g2 = t2.gradient(g1, x)
    g3 = t3.gradient(g2, x)
    np.testing.assert_allclose([float(g1), float(g2), float(g3)],
                               [4 * 1.5 ** 3, 12 * 1.5 ** 2, 24 * 1.5], rtol=1e-5)


def test_unwatched_call_under_tape_gives_no_gradient():
    f = tf.function(lambda x: x * 2.0)
    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        y = f(x)
    assert not tape._entries          # nothing watched: the plain plan ran, nothing recorded
    assert tape.gradient(y, x) is None


def test_integer_inputs_have_no_gradient():
    @tf.function
    def f(x, i):
        return tf.gather(x, i) * 3.0

    x = tf.constant([1.0, 2.0, 3.0])
    i = tf.constant([2, 0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x, i)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [3.0, 0.0, 3.0])


def test_variable_updated_inside_traced_tape_keeps_the_value_read():
    w = tf.Variable(2.0)

    def step(x):
        with tf.GradientTape() as tape:
            loss = w * w * x
            w.assign_add(1.0)
        return tape.gradient(loss, w)

    eager = [float(step(tf.constant(1.0))) for _ in range(3)]
    w.assign(2.0)
    traced = tf.function(step)
    assert [float(traced(tf.constant(1.0))) for _ in range(3)] == eager == [4.0, 6.0, 8.0]


def test_variable_updated_after_a_call_keeps_the_value_the_call_read():
    w = tf.Variable(3.0)
    f = tf.function(lambda x: w * w * x)
    x = tf.constant(2.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = f(x)
        w.assign(100.0)
    assert float(tape.gradient(y, x)) == 9.0       # w*w with the w the call read
    assert float(tape.gradient(y, w)) == 12.0      # 2*w*x


def test_a_called_function_keeps_conv_patches_as_saved_values_for_its_backward(rng):
    # The residual is one of the forward plan's saved outputs: the backward function
    # reads it (its filter backprop has four inputs) instead of copying the image again.
    from tapeflow.ops import conv_ops
    w = tf.Variable(rng.normal(size=(3, 3, 2, 4)))
    f = tf.function(lambda x: tf.reduce_sum(tf.nn.relu(tf.nn.conv2d(x, w, 1, "VALID")) ** 2))
    x = tf.constant(rng.normal(size=(2, 6, 6, 2)))
    with tf.GradientTape() as tape:
        y = f(x)
    dw = tape.gradient(y, w)
    concrete = f.get_concrete_function(x)
    forward = concrete._grad.plan
    assert [s.kernel for s in forward.steps if s.node.op is conv_ops._CONV] == [
        conv_ops._conv_residual_kernel]
    (backward, _, _), = concrete._grad._backward.values()
    filters = [n for n in backward.graph.nodes if n.op is conv_ops._CONV_BP_FILTER]
    assert [len(n.inputs) for n in filters] == [4]
    with tf.GradientTape() as eager:
        want = tf.reduce_sum(tf.nn.relu(tf.nn.conv2d(x, w, 1, "VALID")) ** 2)
    np.testing.assert_allclose(dw.numpy(), eager.gradient(want, w).numpy(), rtol=1e-10)
    check_gradients(f, [x.numpy()], order=1)


def test_ops_declaring_their_rule_reads_no_outputs_differentiate_as_called_functions(rng):
    # A called function saves only what the rules read: an op wrongly declaring
    # grad_uses_outputs=False would make the backward trace fail ("not saved").
    from tapeflow.framework.op import registered_ops

    def f(x, w):
        h = tf.transpose(tf.reshape(tf.matmul(x, w), [3, 2, 2]), [0, 2, 1])[:, 1:]
        h = tf.concat([tf.math.cumsum(h, axis=0), tf.roll(h, 1, axis=2)], axis=1)
        s = tf.stack(tf.unstack(h, axis=0), axis=1)
        s = tf.gather(s, [1, 0], axis=0) * 2.0 - tf.maximum(s, 0.1)
        return tf.reduce_sum(tf.cast(s, tf.float64) ** 2) + tf.reduce_mean(tf.nn.relu(x))
    fn = tf.function(f)
    args = [rng.normal(size=(3, 4)), rng.normal(size=(4, 4))]
    check_gradients(fn, args)
    traced = {n.op.name for n in fn.get_concrete_function(
        *[tf.constant(a) for a in args]).graph.nodes}
    lean = {name for name, op in registered_ops().items() if not op.grad_uses_outputs}
    assert len(traced & lean) >= 10
