"""check_gradients accepts right gradients and rejects wrong ones, at both orders."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import GradientCheckError, check_gradients

X = np.array([0.5, -1.2, 2.0], np.float32)


def test_accepts_correct_first_and_second_order_float32_and_float64():
    check_gradients(lambda x: tf.sin(x) * x, [X])
    check_gradients(lambda x: tf.sin(x) * x, [X.astype(np.float64)])


def test_rejects_wrong_first_order_gradient():
    @tf.custom_gradient
    def scaled(x):
        return tf.sin(x), lambda dy: dy * tf.cos(x) * 1.01

    with pytest.raises(GradientCheckError, match="order-1 gradient mismatch for argument #0"):
        check_gradients(scaled, [X])


def test_rejects_gradient_rule_that_is_not_differentiable_again():
    @tf.custom_gradient
    def frozen(x):
        return tf.sin(x), lambda dy: dy * tf.cos(tf.stop_gradient(x))

    check_gradients(frozen, [X], order=1)
    with pytest.raises(GradientCheckError, match="order-2"):
        check_gradients(frozen, [X])


def test_variables_are_checked_and_restored():
    v = tf.Variable(np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32), name="w")
    before = v.numpy().copy()
    check_gradients(lambda a, w: tf.tanh(tf.matmul(a, w)), [np.ones((2, 3), np.float32), v])
    np.testing.assert_array_equal(v.numpy(), before)


def test_integer_arguments_pass_through_and_outputs_may_be_nested():
    check_gradients(lambda x, i: tf.gather(x, i) ** 2, [X, np.array([0, 2, 2])])
    check_gradients(lambda x: {"s": tf.reduce_sum(x), "e": tf.exp(x)}, [np.full((2, 2), 0.3)])


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="no floating-point argument"):
        check_gradients(lambda i: i * 2, [np.array([1, 2])])
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        check_gradients(lambda x: x, [X], order=3)
