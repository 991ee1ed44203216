"""tapeflow/ops/math_ops.py: values, gradients (1st and 2nd order) and TF parity."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

# name -> sampler of a valid domain (kept away from kinks and poles, where a
# central difference would straddle a non-differentiable point).
def _any(rng, shape):
    return rng.uniform(-2, 2, shape)


def _pos(rng, shape):
    return rng.uniform(0.3, 2.5, shape)


def _unit(rng, shape):
    return rng.uniform(-0.8, 0.8, shape)


def _nonzero(rng, shape):
    return rng.uniform(0.3, 2, shape) * rng.choice([-1, 1], shape)


UNARY = {
    "negative": _any, "abs": _nonzero, "exp": _any, "expm1": _any, "log": _pos,
    "log1p": _pos, "sqrt": _pos, "rsqrt": _pos, "square": _any, "reciprocal": _nonzero,
    "sin": _any, "cos": _any, "tan": _unit, "asin": _unit, "acos": _unit, "atan": _any,
    "sinh": _any, "cosh": _any, "tanh": _any, "sigmoid": _any, "softplus": _any, "erf": _any,
}
SHAPES = [(), (3,), (2, 3)]
BINARY = {
    "add": (_any, _any), "subtract": (_any, _any), "multiply": (_any, _any),
    "divide": (_any, _nonzero), "pow": (_pos, _any), "squared_difference": (_any, _any),
    "atan2": (_nonzero, _nonzero), "maximum": (_any, _any), "minimum": (_any, _any),
}
BROADCAST = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)),
             ((4, 1, 3), (2, 1))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients(name, shape, dtype, rng):
    x = UNARY[name](rng, shape).astype(dtype)
    check_gradients(getattr(tf.math, name), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients_with_broadcasting(name, shapes, dtype, rng):
    fx, fy = BINARY[name]
    x, y = fx(rng, shapes[0]).astype(dtype), fy(rng, shapes[1]).astype(dtype)
    if name in ("maximum", "minimum"):
        y = y + 0.05  # keep x and y apart: the gradient switches sides where they tie
    check_gradients(getattr(tf.math, name), [x, y])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_tensorflow(name, real_tf, rng):
    x = UNARY[name](rng, (2, 3)).astype(np.float32)
    tf_parity.check(lambda m, x: getattr(m.math, name)(x), [x], real_tf=real_tf)


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_tensorflow(name, shapes, real_tf, rng):
    fx, fy = BINARY[name]
    x, y = fx(rng, shapes[0]).astype(np.float32), fy(rng, shapes[1]).astype(np.float32)
    tf_parity.check(lambda m, x, y: getattr(m.math, name)(x, y), [x, y], real_tf=real_tf)


def test_operators_match_tensorflow(real_tf, rng):
    x = rng.uniform(0.5, 2, (2, 3)).astype(np.float32)
    y = rng.uniform(0.5, 2, (3,)).astype(np.float32)

    def expr(m, x, y):
        return (x + y, x - y, x * y, x / y, x ** y, -x, abs(x), 2.0 * x, 2.0 - x, 3.0 / x,
                2.0 ** x, x ** 2, x // y, x % y, x < y, x <= y, x > y, x >= y,
                m.matmul(x, m.reshape(y, (3, 1))), x @ m.transpose(x))
    tf_parity.check(expr, [x, y], real_tf=real_tf)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 1)),
                                    ((2, 1, 2, 3), (4, 3, 2))], ids=str)
def test_matmul_gradients_batched_and_broadcast(shapes, dtype, rng):
    a, b = rng.normal(size=shapes[0]).astype(dtype), rng.normal(size=shapes[1]).astype(dtype)
    check_gradients(tf.matmul, [a, b])


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_transposes_match_tensorflow(ta, tb, real_tf, rng):
    a = rng.normal(size=(3, 2) if ta else (2, 3)).astype(np.float32)
    b = rng.normal(size=(4, 3) if tb else (3, 4)).astype(np.float32)
    tf_parity.check(lambda m, a, b: m.matmul(a, b, transpose_a=ta, transpose_b=tb), [a, b],
                    real_tf=real_tf)
    check_gradients(lambda a, b: tf.matmul(a, b, transpose_a=ta, transpose_b=tb), [a, b])


def test_matmul_shape_mismatch_names_op_and_shapes():
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"\[2, 3\].*\[4, 5\].*inner dimensions 3 and 4.*MatMul"):
        tf.matmul(tf.ones((2, 3)), tf.ones((4, 5)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="rank >= 2"):
        tf.matmul(tf.ones((3,)), tf.ones((3, 2)))


def test_mixed_dtypes_are_an_error_naming_both():
    with pytest.raises(tf.errors.InvalidArgumentError, match="AddV2.*float32.*float64"):
        tf.constant(1.0) + tf.constant(1.0, tf.float64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Mul.*int32.*float32"):
        tf.constant(1) * tf.constant(1.0)


def test_python_operand_adopts_the_tensor_dtype():
    w = tf.Variable([[1.0], [2.0], [3.0]], dtype=tf.float64)
    out = [[1., 2., 3.]] @ w
    assert out.dtype == tf.float64 and float(out) == 14.0
    assert (tf.constant(2, tf.int64) * 3).dtype == tf.int64
    assert (2.5 * tf.constant(2.0, tf.float16)).dtype == tf.float16
    with pytest.raises(TypeError, match="Mul"):
        tf.constant([1, 2]) * 1.5   # a float operand cannot silently become int32


def test_integer_division_and_rounding_follow_tensorflow(real_tf):
    def expr(m):
        a, b = m.constant([7, -7, 3]), m.constant([2, 2, -2])
        return (a / b, a // b, a % b, m.round(m.constant([0.5, 1.5, 2.5, -0.5])),
                m.floor(m.constant([-1.5, 1.5])), m.math.ceil(m.constant([-1.5, 1.5])),
                m.sign(m.constant([-2.0, 0.0, 3.0])))
    tf_parity.check(expr, [], real_tf=real_tf)


def test_where_clip_and_cast_gradients(rng):
    x = rng.uniform(-2, 2, (3, 4))
    x = np.where(np.abs(np.abs(x) - 1) < 0.05, 0.5, x)  # away from the clip edges
    check_gradients(lambda x: tf.clip_by_value(x, -1.0, 1.0) * x, [x])
    check_gradients(lambda x, y: tf.where(x > 0, x * y, tf.sin(y)), [x, rng.normal(size=(3, 4))])
    # float32 rounding inside: a wide step keeps the difference quotient exact for x**2.
    check_gradients(lambda x: tf.cast(tf.cast(x, tf.float32), tf.float64) ** 2, [x], order=1,
                    eps=1e-2, rtol=1e-5, atol=1e-5)


def test_cast_gives_no_gradient_to_integers():
    x = tf.constant([1.7, -2.5])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.cast(tf.cast(x, tf.int32), tf.float32)
    assert t.gradient(y, x) is None
    np.testing.assert_array_equal(tf.cast(x, tf.int32).numpy(), [1, -2])  # truncation


def test_no_gradient_ops_give_none_not_an_error():
    x = tf.constant([1.2, -0.7])
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        ys = [tf.floor(x), tf.round(x), tf.math.ceil(x)]
        s = tf.sign(x)
    assert all(t.gradient(y, x) is None for y in ys)
    np.testing.assert_array_equal(t.gradient(s, x).numpy(), [0.0, 0.0])  # zeros, as TF


def test_add_n_and_tensordot(rng, real_tf):
    a = rng.normal(size=(2, 3, 4)).astype(np.float32)
    b = rng.normal(size=(4, 3, 5)).astype(np.float32)
    tf_parity.check(lambda m, a, b: m.tensordot(a, b, axes=[[1, 2], [1, 0]]), [a, b],
                    real_tf=real_tf)
    tf_parity.check(lambda m, a: m.add_n([a, a * 2.0, m.sin(a)]), [a], real_tf=real_tf)
    check_gradients(lambda a, b: tf.tensordot(a, b, axes=1), [a[..., :4], b[:, :2, 0]], order=1)


def test_float16_values_and_gradient(rng):
    x = rng.uniform(-1, 1, (4,)).astype(np.float16)
    check_gradients(lambda x: tf.tanh(x) * x, [x], order=1)
    assert tf.exp(tf.constant(x)).dtype == tf.float16


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "floor",
                                  "reciprocal", "is_nan"])
def test_float_only_ops_reject_integers_instead_of_promoting(name):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"floating-point.*int32 tensor of shape \(2,\).*tf.cast"):
        getattr(tf.math, name)(tf.constant([1, 2]))


def test_integer_friendly_unary_ops_keep_the_dtype(real_tf):
    def expr(m):
        i = m.constant([-3, 0, 2])
        return (-i, m.abs(i), m.sign(i), m.square(i), m.round(i),
                m.logical_not(m.constant([True, False])))
    tf_parity.check(expr, [], real_tf=real_tf)
    with pytest.raises(tf.errors.InvalidArgumentError, match="bool tensor"):
        tf.logical_not(tf.constant([1, 0]))


def test_floormod_gradient():
    # Values whose quotients stay away from integers, where floormod jumps.
    x, y = np.array([2.3, -1.7, 0.4]), np.array([0.9, 0.7, -1.1])
    check_gradients(tf.math.floormod, [x, y])
