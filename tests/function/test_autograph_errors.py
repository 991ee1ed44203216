"""AutoGraph's errors beside TensorFlow: TF's classes and texts, naming the variable and line."""
import numpy as np
import pytest

import tapeflow as tf
from tests.function.autograph_parity import check_error, real_tf


def test_variable_set_in_one_branch_only_is_an_error():
    def make(tf):
        @tf.function
        def f(x):
            if x > 0:
                y = x * 2
            return y
        return f

    check_error(make, [1.0], ValueError, "'y' must also be initialized in the else branch")



def test_branches_with_different_dtypes_are_an_error():
    def make(tf):
        @tf.function
        def f(x):
            if x > 0:
                y = 1
            else:
                y = 2.0
            return y
        return f

    check_error(make, [1.0], TypeError,
                "'y' has dtype int32 in the main branch, but dtype float32 in the else branch")



def test_loop_variable_changing_dtype_is_an_error():
    def make(tf):
        @tf.function
        def f(x):
            s = tf.constant(0)
            for i in tf.range(3):
                s = tf.cast(s, tf.float32) + x
            return s
        return f

    check_error(make, [1.0], TypeError,
                "'s' has dtype int32 before the loop, but dtype float32 after one iteration")



def test_loop_variable_changing_shape_is_an_error():
    def make(tf):
        @tf.function
        def f(x):
            s = tf.zeros([1])
            for i in tf.range(3):
                s = tf.concat([s, [x]], 0)
            return s
        return f

    check_error(make, [1.0], ValueError,
                "'s' has shape (1,) before the loop, but shape (2,) after one iteration")



def test_return_inside_a_tensor_loop_is_an_error():
    def make(tf):
        @tf.function
        def f(n):
            for i in tf.range(10):
                if i > n:
                    return i
            return -1
        return f

    check_error(make, [3], NotImplementedError,
                "a return statement cannot be placed inside this TensorFlow loop")



def test_errors_in_converted_code_name_the_users_line():
    @tf.function
    def f(x):
        if tf.reduce_sum(x) > 0:
            y = tf.reshape(x, [7])
        else:
            y = x
        return y

    with pytest.raises(Exception) as info:
        f(tf.constant([1.0, 2.0]))
    frames = [fr for fr in info.traceback if str(fr.path) == __file__]
    lines = [fr.lineno + 1 for fr in frames]
    with open(__file__) as fh:
        src = fh.read().splitlines()
    assert any("tf.reshape(x, [7])" in src[n - 1] for n in lines)



def test_numpy_inside_a_function_is_an_attribute_error():
    for fw in [tf] + ([real_tf] if real_tf else []):
        @fw.function
        def f(x):
            return x.numpy()

        with pytest.raises(AttributeError, match="object has no attribute 'numpy'"):
            f(fw.constant(1.0))



def test_tensor_dependent_break_in_a_python_for_loop_is_an_error():
    def make(tf):
        @tf.function
        def f(x):
            for k in range(5):
                if x > float(k):
                    break
                x = x + 1.0
            return x
        return f

    check_error(make, [0.5], NotImplementedError,
                "break and return statements which depend on a TF condition are not "
                "supported in Python for loops")



def test_variable_set_in_one_nested_branch_only_is_an_error():
    def make(tf):
        @tf.function
        def f(x):
            if x > 0:
                if x > 5:
                    y = x
                else:
                    y = -x
                z = y
            return z
        return f

    check_error(make, [1.0], ValueError, "'z' must also be initialized in the else branch")



def test_returning_a_variable_a_python_if_left_unset_is_an_unbound_local_error():
    @tf.function
    def f(x, flag):
        if flag:
            y = x
        return y

    assert float(f(tf.constant(1.0), True)) == 1.0
    with pytest.raises(UnboundLocalError, match="'y' referenced before assignment"):
        f(tf.constant(1.0), False)



def test_assert_on_a_tensor_checks_each_call():
    @tf.function
    def f(x):
        assert tf.reduce_all(x > 0), "x must be positive"
        return tf.sqrt(x)

    np.testing.assert_allclose(f(tf.constant([4.0, 9.0])).numpy(), [2.0, 3.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="x must be positive"):
        f(tf.constant([4.0, -9.0]))
    assert f.experimental_get_tracing_count() == 1



def test_assert_on_a_python_value_runs_at_trace_time():
    @tf.function
    def f(x, n):
        assert n > 0, "n must be positive"
        return x * n

    assert float(f(tf.constant(2.0), 3)) == 6.0
    with pytest.raises(AssertionError, match="n must be positive"):
        f(tf.constant(2.0), 0)

