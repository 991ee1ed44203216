"""tapeflow/ops/reduce_ops.py: reductions over axes, their gradients and TF parity."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

REDUCERS = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
            "reduce_logsumexp", "reduce_variance", "reduce_std"]
AXES = [None, 0, -1, (0, 2), [1]]


def _distinct(rng, shape, dtype):
    # Distinct values of moderate size: max/min have a unique winner, prod stays tame.
    x = rng.permutation(np.prod(shape)).reshape(shape) / np.prod(shape) + 0.5
    return (x * rng.choice([-1, 1], shape)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", REDUCERS)
def test_reduction_gradients(name, axis, keepdims, dtype, rng):
    x = _distinct(rng, (2, 3, 2), dtype)
    fn = getattr(tf.math, name)
    check_gradients(lambda x: fn(x, axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", REDUCERS)
def test_reduction_matches_tensorflow(name, axis, keepdims, real_tf, rng):
    x = _distinct(rng, (2, 3, 2), np.float32)
    tf_parity.check(lambda m, x: getattr(m.math, name)(x, axis=axis, keepdims=keepdims), [x],
                    real_tf=real_tf)


def test_max_gradient_is_shared_between_ties_as_tensorflow(real_tf):
    x = np.array([[1., 3., 3.], [2., 2., 0.]], np.float32)
    out = tf_parity.check(lambda m, x: m.reduce_max(x, axis=1), [x], real_tf=real_tf)
    assert out.grads[0][0, 1] == out.grads[0][0, 2] != 0


def test_prod_gradient_with_zeros_matches_tensorflow(real_tf):
    x = np.array([[0., 2., 3.], [0., 0., 4.], [1., 2., 3.]], np.float32)
    tf_parity.check(lambda m, x: m.reduce_prod(x, axis=1), [x], real_tf=real_tf)


def test_integer_and_bool_reductions_match_tensorflow(real_tf):
    def expr(m):
        i = m.constant([[1, 2, 4], [3, 5, 8]])
        b = m.constant([[True, False], [True, True]])
        return (m.reduce_mean(i), m.reduce_mean(i, axis=1), m.reduce_sum(i, axis=0),
                m.reduce_prod(i), m.reduce_all(b, axis=1), m.reduce_any(b),
                m.math.count_nonzero(m.constant([0., 1., 2.])))
    tf_parity.check(expr, [], real_tf=real_tf)


def test_argmax_argmin_match_tensorflow(real_tf, rng):
    x = _distinct(rng, (3, 4), np.float32)

    def expr(m, x):
        return (m.argmax(x), m.argmax(x, axis=1), m.argmin(x, axis=-1),
                m.argmax(x, axis=1, output_type=m.int32))
    tf_parity.check(expr, [x], real_tf=real_tf, grads=False)


def test_argmax_has_no_gradient():
    x = tf.constant([1., 3., 2.])
    with tf.GradientTape() as t:
        t.watch(x)
        i = tf.argmax(x)
    assert t.gradient(i, x) is None and i.dtype == tf.int64


def test_invalid_axis_names_op_and_rank():
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Invalid reduction dimension 2.*2 dimensions.*Sum"):
        tf.reduce_sum(tf.ones((2, 3)), axis=2)


def test_reduce_over_tensor_axis_and_empty_input():
    x = tf.constant([[1., 2.], [3., 4.]])
    np.testing.assert_array_equal(tf.reduce_sum(x, axis=tf.constant(1)).numpy(), [3., 7.])
    assert float(tf.reduce_sum(tf.zeros((0, 3)))) == 0.0


def test_logsumexp_is_stable_for_large_inputs(real_tf):
    x = np.array([[1000., 1000.], [-1000., -1e30]], np.float32)
    tf_parity.check(lambda m, x: m.reduce_logsumexp(x, axis=1), [x], real_tf=real_tf)
