"""tapeflow/autodiff/custom_gradient.py: user-defined gradients, as TF's tf.custom_gradient."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity


def _log1pexp(m):
    @m.custom_gradient
    def log1pexp(x):
        e = m.exp(x)

        def grad(dy):
            return dy * (1 - 1 / (1 + e))
        return m.math.log(1 + e), grad
    return log1pexp


def test_stable_gradient_matches_tensorflow(real_tf):
    x = np.array([0.0, 3.0, 100.0], np.float32)
    out = tf_parity.check(lambda m, x: _log1pexp(m)(x), [x], real_tf=real_tf)
    assert np.isfinite(out.grads[0]).all() and out.grads[0][2] != 0


def test_second_order_through_a_custom_gradient():
    @tf.custom_gradient
    def cube(x):
        def grad(dy):
            return dy * 3.0 * x * x      # computed from the input: differentiable again
        return x * x * x, grad
    check_gradients(cube, [np.array([0.5, -1.5, 2.0])])
    x = tf.Variable(2.0)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = cube(x)
        g = t1.gradient(y, x)
    assert float(g) == 12.0 and float(t2.gradient(g, x)) == 12.0


def test_several_inputs_and_a_none_gradient():
    @tf.custom_gradient
    def scaled(x, k):
        def grad(dy):
            return dy * k, None
        return x * k, grad
    x, k = tf.constant([1.0, 2.0]), tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch([x, k])
        y = scaled(x, k)
    gx, gk = t.gradient(y, [x, k])
    np.testing.assert_array_equal(gx.numpy(), [3.0, 3.0])
    assert gk is None


def test_variables_read_inside_get_their_gradient():
    w = tf.Variable(2.0, name="w")

    @tf.custom_gradient
    def times_w(x):
        def grad(dy, variables=None):
            return dy * w, [dy * x * 10.0]   # a deliberately scaled variable gradient
        return x * w, grad
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = times_w(x)
    gx, gw = t.gradient(y, [x, w])
    assert float(gx) == 2.0 and float(gw) == 30.0


def test_grad_fn_without_variables_argument_is_a_clear_error():
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def times_w(x):
        return x * w, lambda dy: dy * w
    with tf.GradientTape():
        with pytest.raises(TypeError, match="variables"):
            times_w(tf.constant(1.0))


def test_wrong_number_of_gradients_is_a_clear_error():
    @tf.custom_gradient
    def f(x, y):
        return x * y, lambda dy: dy
    a, b = tf.constant(1.0), tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch([a, b])
        z = f(a, b)
    with pytest.raises(ValueError, match="expected to return 2 gradients, but returned 1"):
        t.gradient(z, [a, b])


def test_outside_a_tape_it_just_computes():
    out = _log1pexp(tf)(tf.constant([0.0]))
    np.testing.assert_allclose(out.numpy(), [np.log(2.0)], rtol=1e-6)


def test_multiple_outputs():
    @tf.custom_gradient
    def two(x):
        def grad(d1, d2):
            return d1 * 2.0 + d2 * 3.0
        return (x * 2.0, x * 3.0), grad
    x = tf.constant(1.0)
    with tf.GradientTape() as t:
        t.watch(x)
        a, b = two(x)
        y = a + 10.0 * b
    assert float(t.gradient(y, x)) == 32.0


def test_decorated_method_receives_self_unchanged():
    class Scaler:
        factor = 3.0

        @tf.custom_gradient
        def apply(self, x):
            return x * self.factor, lambda dy: dy * self.factor * 2.0

    x = tf.constant(1.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = Scaler().apply(x)
    assert float(y) == 3.0 and float(t.gradient(y, x)) == 6.0
