"""tf.debugging.assert_*: TensorFlow's error classes and messages, eager and traced."""
import numpy as np
import pytest

import tapeflow as tf


def _error(module, fn):
    try:
        fn(module)
    except Exception as e:   # noqa: BLE001 - the class and text are what is compared
        return type(e).__name__, str(e)
    return None


CASES = {
    "equal": lambda m: m.debugging.assert_equal(m.constant([1., 2.]), m.constant([1., 3.])),
    "equal_message": lambda m: m.debugging.assert_equal(
        m.constant([1., 2.]), m.constant([1., 3.]), message="mine", summarize=1),
    "less": lambda m: m.debugging.assert_less(m.constant([1., 2.]), m.constant([1., 3.])),
    "greater": lambda m: m.debugging.assert_greater(m.constant([1., 2.]), m.constant([1., 3.])),
    "greater_equal": lambda m: m.debugging.assert_greater_equal(
        m.constant([1., 2.]), m.constant([1., 3.])),
    "none_equal": lambda m: m.debugging.assert_none_equal(
        m.constant([1., 2.]), m.constant([1., 3.])),
    "near": lambda m: m.debugging.assert_near(m.constant([1., 2.]), m.constant([1., 3.])),
    "near_tolerances": lambda m: m.debugging.assert_near(
        m.constant([1., 2.]), m.constant([2., 3.]), rtol=0.1, atol=0.2, message="m"),
    "rank": lambda m: m.debugging.assert_rank(m.constant([1., 2.]), 2, message="hey"),
    "rank_at_least": lambda m: m.debugging.assert_rank_at_least(m.constant([1., 2.]), 2),
    "shapes_size": lambda m: m.debugging.assert_shapes(
        [(m.zeros([2, 3]), ("N", "M")), (m.zeros([3]), ("N",))]),
    "shapes_explicit": lambda m: m.debugging.assert_shapes([(m.zeros([2, 3]), (2, 4))]),
    "shapes_rank": lambda m: m.debugging.assert_shapes([(m.zeros([2, 3]), ("N",))]),
    "type": lambda m: m.debugging.assert_type(m.constant([1., 2.]), m.int32, message="hey"),
    "integer": lambda m: m.debugging.assert_integer(m.constant([1., 2.])),
    "non_negative": lambda m: m.debugging.assert_non_negative(m.constant([-1., 2.])),
    "positive": lambda m: m.debugging.assert_positive(m.constant([0., 2.]), message="hey"),
    "negative": lambda m: m.debugging.assert_negative(m.constant([1., 2.])),
    "scalar": lambda m: m.debugging.assert_scalar(m.constant([1., 2.])),
    "Assert": lambda m: m.debugging.Assert(
        m.constant(False), [m.constant([1., 2.]), "hello", m.constant([1, 2, 3, 4, 5])],
        summarize=2),
    "Assert_python_bool": lambda m: m.debugging.Assert(False, [m.constant([1., 2.]), "hello"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_failed_assertion_matches_tensorflow(case, real_tf):
    assert _error(tf, CASES[case]) == _error(real_tf, CASES[case])


def test_all_finite_names_nan_like_tensorflow(real_tf):
    def fn(m):
        return m.debugging.assert_all_finite(m.constant([1., float("nan")]), "fin")
    name, text = _error(tf, fn)
    tf_name, tf_text = _error(real_tf, fn)
    assert name == tf_name == "InvalidArgumentError"
    assert "fin : Tensor had NaN values [Op:CheckNumerics]" in text
    assert "fin : Tensor had NaN values [Op:CheckNumerics]" in tf_text


@pytest.mark.parametrize("fn", [
    lambda: tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 2])),
    lambda: tf.debugging.assert_less(tf.constant([1., 2.]), 3.0),
    lambda: tf.debugging.assert_near(tf.constant([1., 2.]), tf.constant([1., 2.0000001])),
    lambda: tf.debugging.assert_shapes([(tf.zeros([2, 3]), ("N", "M")), (tf.zeros([2]), ("N",))]),
    lambda: tf.debugging.assert_rank(tf.zeros([2, 3]), 2),
    lambda: tf.debugging.Assert(tf.constant(True), ["never shown"]),
])
def test_assertion_that_holds_returns_none(fn):
    assert fn() is None


def test_assertion_in_function_raises_when_run_with_bad_values():
    @tf.function
    def positive_sum(x):
        tf.debugging.assert_positive(x, message="x must be positive")
        return tf.reduce_sum(x)

    assert float(positive_sum(tf.constant([1., 2.]))) == 3.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="x must be positive"):
        positive_sum(tf.constant([1., -2.]))


def test_assert_rank_in_function_is_checked_while_tracing():
    @tf.function
    def f(x):
        tf.debugging.assert_rank(x, 2)
        return x

    with pytest.raises(ValueError, match="must have rank 2"):
        f(tf.constant([1., 2.]))


def test_assert_equal_with_incompatible_shapes_names_them():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[2\] vs. \[3\]"):
        tf.debugging.assert_equal(tf.zeros([2]), tf.zeros([3]))


def test_assert_near_uses_ten_epsilon_by_default():
    eps = float(np.finfo(np.float32).eps)
    tf.debugging.assert_near(tf.constant([1.0]), tf.constant([1.0 + 5 * eps]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.debugging.assert_near(tf.constant([1.0]), tf.constant([1.0 + 40 * eps]))


def test_is_numeric_tensor():
    assert tf.debugging.is_numeric_tensor(tf.constant([1, 2]))
    assert tf.debugging.is_numeric_tensor(tf.Variable(1.0))
    assert not tf.debugging.is_numeric_tensor([1.0])


def test_assert_same_float_dtype():
    assert tf.debugging.assert_same_float_dtype([tf.constant(1.0), tf.constant(2.0)]) \
        is tf.float32
    with pytest.raises(ValueError, match="Expected tf.float32, got tf.float64"):
        tf.debugging.assert_same_float_dtype([tf.constant(1.0), tf.constant(np.float64(2.0))])
    with pytest.raises(ValueError, match="Expected floating point type"):
        tf.debugging.assert_same_float_dtype([tf.constant(1)])
