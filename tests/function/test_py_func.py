"""tf.py_function, tf.numpy_function, tf.group eagerly and inside tf.function."""
import numpy as np
import pytest

import tapeflow as tf
from tests.function.autograph_parity import check


def test_py_function_runs_python_each_call_inside_a_function():
    calls = []

    def record(t):
        calls.append(float(t))
        return t * 10.0

    @tf.function
    def f(x):
        return tf.py_function(record, [x], tf.float32) + 1.0

    assert float(f(tf.constant(1.0))) == 11.0
    assert float(f(tf.constant(2.0))) == 21.0
    assert calls == [1.0, 2.0]
    assert f.experimental_get_tracing_count() == 1


def test_py_function_is_differentiable_in_both_modes():
    def make(tf):
        @tf.function
        def f(x):
            return tf.py_function(lambda t: tf.sin(t) * t, [x], tf.float32) * 2.0
        return f

    check(make, [([0.3, 1.2],)], grad=True, rtol=1e-5)
    x = tf.constant(0.7)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.py_function(lambda t: t ** 3, [x], tf.float32)
    assert float(tape.gradient(y, x)) == pytest.approx(3 * 0.49)


def test_py_function_with_a_list_of_dtypes_returns_a_list():
    out = tf.py_function(lambda a, b: [a + b, a * b], [2.0, 3.0], [tf.float32, tf.float32])
    assert isinstance(out, list) and [float(o) for o in out] == [5.0, 6.0]


def test_numpy_function_gets_arrays():
    def make(tf):
        @tf.function
        def f(x):
            return tf.numpy_function(lambda a: np.sort(a)[::-1].copy(), [x], tf.float32)
        return f

    values, _, _ = check(make, [([3.0, 1.0, 2.0],)])
    np.testing.assert_array_equal(values[0], [3.0, 2.0, 1.0])


def test_py_function_result_of_the_wrong_dtype_is_an_error():
    @tf.function
    def f(x):
        return tf.py_function(lambda t: tf.cast(t, tf.int32), [x], tf.float32)

    with pytest.raises(tf.errors.InvalidArgumentError, match="float32; got int32"):
        f(tf.constant(1.0))


def test_group_of_updates_runs_them():
    v = tf.Variable(0.0)

    @tf.function
    def f():
        return tf.group(v.assign_add(1.0), v.assign_add(2.0))

    f()
    assert float(v) == 3.0
