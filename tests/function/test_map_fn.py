"""tf.map_fn / tf.vectorized_map eagerly and traced, beside TensorFlow."""
import numpy as np
import pytest

import tapeflow as tf
from tests.function.autograph_parity import check

ROWS = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], np.float32)


def test_map_fn_eager_values_and_gradients():
    def make(tf):
        return lambda x: tf.map_fn(lambda r: tf.reduce_sum(r * r) * r, x)

    check(make_function(make), [(ROWS,)], grad=True)


def make_function(make, traced=False):
    """A factory returning `make(tf)` wrapped so `check` can count traces (1 when eager)."""
    def factory(tf):
        inner = make(tf)
        f = tf.function(inner) if traced else inner
        if not traced:
            f.experimental_get_tracing_count = lambda: 1
        return f
    return factory


def test_map_fn_traced_values_and_gradients():
    def make(tf):
        return lambda x: tf.map_fn(lambda r: tf.reduce_sum(r * r) * r, x)

    check(make_function(make, traced=True), [(ROWS,), (ROWS * 2,)], grad=True)


def test_map_fn_over_a_tuple_with_an_output_signature():
    def make(tf):
        def f(x):
            return tf.map_fn(lambda pair: tf.cast(pair[0] > pair[1], tf.int32),
                             (x[0], x[1]), fn_output_signature=tf.int32)
        return f

    for traced in (False, True):
        values, _, _ = check(make_function(make, traced), [(ROWS,)])
        np.testing.assert_array_equal(values[0], [0, 0, 1])


def test_vectorized_map_matches_map_fn():
    def make(tf):
        return lambda x: tf.vectorized_map(lambda r: tf.tanh(r) + r[0], x)

    check(make_function(make, traced=True), [(ROWS,)], grad=True)


def test_map_fn_on_a_scalar_is_an_error():
    with pytest.raises(tf.errors.InvalidArgumentError, match="rank >= 1"):
        tf.map_fn(lambda r: r, tf.constant(1.0))
