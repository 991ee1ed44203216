"""x[i] with i a traced scalar: values, gradients (first and second order), errors."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients
from tests.function.autograph_parity import check

M = np.arange(12, dtype=np.float32).reshape(3, 4)


@pytest.mark.parametrize("case", ["row", "row_then_slice", "two_indices", "slice_then_index"])
def test_symbolic_index_matches_tf(case):
    def make(tf):
        @tf.function
        def f(m, i, j):
            if case == "row":
                return m[i]
            if case == "row_then_slice":
                return m[i, 1:3]
            if case == "two_indices":
                return m[i, j]
            return m[1:, j]
        return f

    check(make, [(M, 2, 1), (M, 0, 3)], grad=True)


def test_gradients_first_and_second_order():
    @tf.function
    def f(m):
        total = tf.zeros([4], tf.float64)
        for i in tf.range(3):
            total += tf.sin(m[i]) * m[i]
        return total

    check_gradients(f, [M.astype(np.float64) / 7.0], order=2)


def test_symbolic_float_index_is_an_error():
    @tf.function
    def f(m, i):
        return m[i]

    with pytest.raises(TypeError, match="scalar tf.int32/tf.int64 tensors are valid indices"):
        f(tf.constant(M), tf.constant(1.0))


def test_symbolic_slice_step_matches_tf():
    # A traced step is fine, as in TF (it used to be refused).
    def make(tf):
        @tf.function
        def f(m, i, j):
            return m[::i, j::-i]
        return f

    out = check(make, [(M, 2, 3), (M, -1, 1)], grad=True)
    np.testing.assert_array_equal(out[0][0], M[::2, 3::-2])


@pytest.mark.parametrize("case", ["prefix", "window", "suffix_rows_then_col"])
def test_symbolic_slice_bounds_match_tf(case):
    def make(tf):
        @tf.function
        def f(m, i, j):
            if case == "prefix":
                return m[:i]
            if case == "window":
                return m[i:j, 1:]
            return m[i:, j]
        return f

    check(make, [(M, 1, 3), (M, 0, 2)], grad=True)


def test_symbolic_slice_gradients_first_and_second_order():
    @tf.function
    def f(m):
        n = tf.shape(m)[0] - 1
        return tf.sin(m[1:n + 1, :2]) * m[:n, 1:3]

    check_gradients(f, [M.astype(np.float64) / 5.0], order=2)


def test_dynamic_slice_and_its_gradient_are_each_others_rules(rng):
    # The ops themselves, eagerly (the checks above run them inside functions).
    from tapeflow.framework.op import execute
    from tapeflow.ops import dynamic_index
    traced = dynamic_index.TRACED
    spec = {"spec": (("slice", traced, traced, None),)}     # x[start:stop] on the first axis
    bounds = tf.constant(np.array([1, 3], np.int32))
    check_gradients(lambda x: execute(dynamic_index._DYNAMIC_SLICE, (x, bounds), spec),
                    [rng.normal(size=(4, 3))])
    like = tf.constant(np.zeros((4, 3)))
    check_gradients(
        lambda dy: execute(dynamic_index._DYNAMIC_SLICE_GRAD, (like, dy, bounds), spec),
        [rng.normal(size=(2, 3))])
