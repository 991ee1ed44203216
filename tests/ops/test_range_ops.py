"""tf.range with bounds known only when a traced function runs."""
import numpy as np
import pytest

import tapeflow as tf
from tests.function.autograph_parity import check


@pytest.mark.parametrize("bounds", [(7,), (2, 9), (9, 2, -3), (1, 10, 4)])
def test_traced_int_bounds_match_tf(bounds):
    def make(tf):
        @tf.function
        def f(*b):
            return tf.range(*b)
        return f

    values, _, _ = check(make, [bounds])
    np.testing.assert_array_equal(values[0], np.arange(*bounds))


def test_float_bound_makes_a_float_range():
    @tf.function
    def f(limit):
        return tf.range(0.0, limit, 0.5)

    out = f(tf.constant(2.0))
    assert out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.5, 1.0, 1.5])


def test_one_trace_serves_every_bound():
    @tf.function
    def f(n):
        return tf.reduce_sum(tf.range(n))

    assert [int(f(tf.constant(n))) for n in (3, 5, 10)] == [3, 10, 45]
    assert f.experimental_get_tracing_count() == 1


def test_zero_delta_is_an_error():
    @tf.function
    def f(d):
        return tf.range(0, 5, d)

    with pytest.raises(tf.errors.InvalidArgumentError, match="delta != 0"):
        f(tf.constant(0))


def test_non_scalar_bound_is_an_error():
    @tf.function
    def f(n):
        return tf.range(n)

    with pytest.raises(tf.errors.InvalidArgumentError, match="must be scalars"):
        f(tf.constant([3, 4]))
