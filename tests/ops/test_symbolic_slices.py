"""t[key] inside tf.function where integers or slice bounds of the key are traced scalars:
any position, with `...` and tf.newaxis, negative values and steps; values and gradients
against NumPy's indexing (same rules as TF's strided slice) and against TF."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

A = np.arange(36, dtype=np.float64).reshape(3, 3, 4) / 7.0

# name -> key(n, newaxis): the same key for tapeflow/TF (n traced) and NumPy (n an int).
KEYS = {
    "int_then_traced_stop": lambda n, na: (0, slice(1, n)),
    "traced_start_second_axis": lambda n, na: (slice(None), slice(n, None)),
    "ellipsis_traced_stop": lambda n, na: (Ellipsis, slice(None, n)),
    "int_then_static_step": lambda n, na: (1, slice(None, None, 2)),
    "traced_index": lambda n, na: n,
    "negative_traced_start": lambda n, na: slice(-n, None),
    "negative_traced_index": lambda n, na: -n,
    "index_ellipsis_newaxis_traced_step": lambda n, na: (n, Ellipsis, na, slice(None, None, n)),
    "traced_negative_step": lambda n, na: slice(None, None, -n),
    "newaxis_index_int_slice": lambda n, na: (na, n, 1, slice(n, None)),
    "ellipsis_traced_index": lambda n, na: (Ellipsis, n),
    "all_traced_bounds": lambda n, na: (slice(None), slice(n - 3, n + 10, n), -n),
}


def _sliced(tf_module, name):
    key = KEYS[name]

    @tf_module.function
    def f(a, n):
        with tf_module.GradientTape() as tape:
            tape.watch(a)
            y = a[key(n, tf_module.newaxis)]
            loss = tf_module.reduce_sum(tf_module.sin(y) * y)
        return y, tape.gradient(loss, a)
    return f


def _numpy(name, n):
    y = A[KEYS[name](n, None)]
    g = np.zeros_like(A)
    g[KEYS[name](n, None)] = np.sin(y) + y * np.cos(y)
    return y, g


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("name", sorted(KEYS))
def test_values_and_gradients_equal_numpys(name, n):
    y, g = _sliced(tf, name)(tf.constant(A), tf.constant(n))
    want_y, want_g = _numpy(name, n)
    assert y.shape == want_y.shape
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), want_g, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_values_and_gradients_equal_tfs(name, real_tf):
    ours, theirs = _sliced(tf, name), _sliced(real_tf, name)
    for n in (1, 2):
        for a, b in zip(ours(tf.constant(A), tf.constant(n)),
                        theirs(real_tf.constant(A), real_tf.constant(n))):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["index_ellipsis_newaxis_traced_step", "all_traced_bounds",
                                  "newaxis_index_int_slice"])
def test_gradients_first_and_second_order(name):
    key = KEYS[name]

    @tf.function
    def f(a, n):
        return tf.sin(a[key(n, tf.newaxis)])

    check_gradients(f, [A, tf.constant(2)], order=2)


def test_the_bug_report_case():
    # a[0, 1:n] with n traced used to be refused ("must come before any integer index").
    f = tf.function(lambda a, n: a[0, 1:n])
    out = f(tf.constant(np.arange(6, dtype=np.float32).reshape(2, 3)), tf.constant(3))
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0])


def test_static_shapes_keep_what_the_key_fixes():
    seen = {}

    @tf.function(input_signature=[tf.TensorSpec([None, 3, 4]), tf.TensorSpec([], tf.int32)])
    def f(a, n):
        seen["a"] = a[n, ..., :n, tf.newaxis].shape.as_list()
        seen["b"] = a[:, n:, ::2].shape.as_list()
        seen["c"] = a[..., n].shape.as_list()
        seen["d"] = a[n].shape.as_list()
        return a[n]

    f(tf.constant(A, tf.float32), tf.constant(1))
    assert seen == {"a": [3, None, 1], "b": [None, None, 2], "c": [None, 3], "d": [3, 4]}


@pytest.mark.parametrize("n, message", [(3, "slice index 3 of dimension 0 out of bounds"),
                                        (-4, "slice index -4 of dimension 0 out of bounds")])
def test_traced_index_out_of_range_is_an_error(n, message):
    f = tf.function(lambda a, n: a[n])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        f(tf.constant(A), tf.constant(n))


def test_zero_traced_step_is_an_error():
    f = tf.function(lambda a, n: a[:, ::n])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"strides\[1\] must be non-zero"):
        f(tf.constant(A), tf.constant(0))


@pytest.mark.parametrize("key, error, message", [
    (lambda n: (1, 2, 3, n), ValueError, "Index out of range using input dim 3"),
    (lambda n: (Ellipsis, n, Ellipsis), ValueError, "Multiple ellipses"),
    (lambda n: tf.cast(n, tf.float32), TypeError, "scalar tf.int32/tf.int64"),
    (lambda n: slice(None, tf.stack([n, n])), TypeError, "scalar tf.int32/tf.int64"),
])
def test_bad_keys_are_trace_time_errors(key, error, message):
    f = tf.function(lambda a, n: a[key(n)])
    with pytest.raises(error, match=message):
        f(tf.constant(A), tf.constant(1))


def test_int64_bounds_and_a_traced_key_on_an_unknown_rank_tensor():
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float64), tf.TensorSpec([], tf.int64)])
    def f(a, n):
        y = a[n, ..., :n]
        assert y.shape.rank is None
        return y

    np.testing.assert_array_equal(f(tf.constant(A), tf.constant(1, tf.int64)).numpy(),
                                  A[1, ..., :1])
