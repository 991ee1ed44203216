"""First and second derivatives through converted control flow and the new ops."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients


@tf.function
def _branchy(x):
    if tf.reduce_sum(x) > 0.0:
        y = tf.sin(x) * x
    else:
        y = x * x * x
    return y


@tf.function
def _looped(x):
    y = x
    for _ in tf.range(3):
        y = tf.tanh(y) * x
    return y


@tf.function
def _while_and_break(x):
    y = x
    i = 0
    while i < 10:
        y = y * 0.5 + tf.sin(y)
        if i >= 2:
            break
        i += 1
    return y


@pytest.mark.parametrize("fn", [_branchy, _looped, _while_and_break])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_converted_control_flow_first_and_second_order(fn, sign):
    x = sign * np.array([0.3, 0.7, 1.1])
    check_gradients(fn, [x], order=2)


def test_tensor_array_in_a_loop_first_and_second_order():
    @tf.function
    def f(x):
        ta = tf.TensorArray(tf.float64, size=0, dynamic_size=True)
        for i in tf.range(3):
            ta = ta.write(i, tf.sin(x) * tf.cast(i + 1, tf.float64))
        return ta.stack() * x

    check_gradients(f, [np.array([0.2, -0.4])], order=2)


def test_tensor_array_eager_first_and_second_order():
    def f(x):
        ta = tf.TensorArray(tf.float64, size=2, clear_after_read=False)
        ta = ta.write(0, x * x).write(1, tf.exp(x))
        return ta.stack() + ta.read(0)

    check_gradients(f, [np.array([0.5, 1.5])], order=2)


def test_grow_and_take_rows_first_and_second_order():
    from tapeflow.framework.op import execute
    from tapeflow.function.tensor_array import _GROW, _TAKE_ROWS

    def f(x):
        grown = execute(_GROW, (x * x, tf.constant(4)))
        return execute(_TAKE_ROWS, (grown * 3.0, tf.zeros([3]))) * x[0]

    check_gradients(f, [np.array([[0.5, 1.0], [2.0, -1.0]])], order=2)


def test_py_function_first_and_second_order():
    @tf.function
    def f(x):
        return tf.py_function(lambda t: tf.sin(t) * t, [x], tf.float64) * x

    check_gradients(f, [np.array([0.4, -0.9])], order=2)


def test_map_fn_first_and_second_order():
    @tf.function
    def f(x):
        return tf.map_fn(lambda r: tf.reduce_sum(tf.sin(r)) * r, x)

    check_gradients(f, [np.array([[0.1, 0.2], [0.3, -0.5]])], order=2)
