"""Elementwise math (`tf.math`), matmul, cast: each op's kernel, shape rule and
gradient side by side. Gradients use tapeflow ops, so they differentiate again.
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.backend import blas, fused
from tapeflow.framework.api_export import export, tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import (EAGER_TYPES, NO_GRADIENT, TRANSPARENT, OpDef, as_input,
                                   binary_inputs, convert_to_tensor, execute)
from tapeflow.framework.tensor import Tensor, override_operator
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import _inline
from tapeflow.ops._shapes import BOOL, elementwise, same_as_first

# Ops defined here are referenced by the gradient rules below them; the module
# reads top to bottom as: unary ops, binary ops, comparisons, matmul, cast.


def _dtype_error(op_name, x, allowed="a floating-point or complex tensor"):
    return errors.op_error(
        op_name, f"expected {allowed}, got a {x.dtype.name} tensor of shape {x.shape}; "
        "convert it first, e.g. tf.cast(x, tf.float32)")


def _bool_result(inputs, attrs):
    return [(inputs[0].shape, BOOL)]


def _unary(name, kernel, grad, doc="", float_only=True, shape_fn=same_as_first, api=None,
           **meta):
    """A unary op; `float_only` ones reject integer/bool inputs (as TF's kernels do)
    instead of letting NumPy promote them to float64. `meta`: more of the OpDef's
    declarations; a differentiable elementwise op's rule is transparent to a
    leading batch axis of dy unless it says otherwise."""
    if grad is not NO_GRADIENT:
        meta.setdefault("batch_rule", TRANSPARENT)
    op = OpDef(name, kernel, grad, shape_fn=shape_fn, **meta)

    if float_only:
        def fn(x, name=None):
            if type(x) in EAGER_TYPES:
                kind = x._value.dtype.kind
            else:
                # Symbolic tensors have no value to read (a Keras tensor raises on it).
                x = as_input(x)
                kind = x.dtype._np.kind
            if kind not in "fc":
                raise _dtype_error(op.name, x)
            return execute(op, (x,))
    else:
        def fn(x, name=None):
            return execute(op, (x if type(x) in EAGER_TYPES else as_input(x),))

    fn.__name__ = fn.__qualname__ = name.lower()
    fn.__doc__ = doc or f"Elementwise `{name}` of `x` (op '{name}')."
    fn.op = op
    return export(fn, api) if api else fn


def _binary(name, kernel, grad, out_dtype=None, doc="", api=None, **meta):
    """A broadcasting binary op (see `_unary` for `meta`)."""
    if grad is not NO_GRADIENT:
        meta.setdefault("batch_rule", TRANSPARENT)
    op = OpDef(name, kernel, grad, shape_fn=elementwise(name, out_dtype), **meta)

    def fn(x, y, name=None):
        return execute(op, binary_inputs(name_, x, y))

    name_ = name

    fn.__doc__ = doc or f"Elementwise `{name}` of `x` and `y`, with broadcasting."
    fn.op = op
    return export(fn, api) if api else fn


def _pointwise(d):
    """The gradient rule of a unary elementwise op from `d(x, y, dy)`, the chain rule
    written with the op's input `x`, its output `y` and the incoming gradient `dy`."""
    def rule(inputs, outputs, attrs, dy):
        return (d(inputs[0], outputs, dy),)
    return rule


# -- unary ------------------------------------------------------------------

negative = _unary("Neg", np.negative, _pointwise(lambda x, y, dy: negative(dy)),
                  float_only=False, node_name="Neg", api=("math.negative", "negative"))
neg = negative
abs = _unary("Abs", np.abs, _pointwise(lambda x, y, dy: dy * sign(x)), float_only=False,
        api=("math.abs", "abs"))  # noqa: A001
# Sign's gradient is zero (not None), as in TF: sign(x) * y still connects x.
sign = _unary("Sign", np.sign, _pointwise(lambda x, y, dy: zeros_like(dy)), float_only=False,
        api=("math.sign", "sign"))
floor = _unary("Floor", np.floor, NO_GRADIENT, api=("math.floor", "floor"))
ceil = _unary("Ceil", np.ceil, NO_GRADIENT, api="math.ceil")
# TF's round is banker's rounding (half to even), which np.round implements.
round = _unary("Round", np.round, NO_GRADIENT, float_only=False,  # noqa: A001
               api=("math.round", "round"))
rint = _unary("Rint", np.rint, NO_GRADIENT, api="math.rint")
is_nan = _unary("IsNan", np.isnan, NO_GRADIENT, shape_fn=_bool_result, api="math.is_nan")
is_inf = _unary("IsInf", np.isinf, NO_GRADIENT, shape_fn=_bool_result, api="math.is_inf")
is_finite = _unary("IsFinite", np.isfinite, NO_GRADIENT, shape_fn=_bool_result,
                   api="math.is_finite")
_LOGICAL_NOT = OpDef("LogicalNot", np.logical_not, NO_GRADIENT, shape_fn=same_as_first)


@tf_export("math.logical_not", "logical_not")
def logical_not(x, name=None):
    """Elementwise `not` of a bool tensor."""
    x = as_input(x)
    if x.dtype is not dtypes.bool:
        raise _dtype_error("LogicalNot", x, "a bool tensor")
    return execute(_LOGICAL_NOT, (x,))
exp = _unary("Exp", np.exp, _pointwise(lambda x, y, dy: dy * y), api=("math.exp", "exp"))
expm1 = _unary("Expm1", np.expm1, _pointwise(lambda x, y, dy: dy * (y + 1)), api="math.expm1")
log = _unary("Log", np.log, _pointwise(lambda x, y, dy: dy / x), api="math.log")
log1p = _unary("Log1p", np.log1p, _pointwise(lambda x, y, dy: dy / (x + 1)), api="math.log1p")
# Fused gradient ops (as TF's SqrtGrad, TanhGrad, ...): one dispatch instead of two or
# three in the backward pass. Each is linear in dy, so its own gradient w.r.t. dy is the
# same op again; w.r.t. its first input it is written in ops (higher orders still work).

def _grad_op(name, kernel, d_first):
    """`name(u, dy)`, linear in dy; `d_first(u, dy, g)` is its gradient w.r.t. `u`."""
    def rule(inputs, outputs, attrs, g, needs):
        u, dy = inputs
        return (d_first(u, dy, g) if needs[0] else None,
                execute(op, (u, g)) if needs[1] else None)
    op = OpDef(name, kernel, rule, shape_fn=same_as_first, grad_needs=True,
               grad_uses_outputs=False, batch_rule=TRANSPARENT)
    return op


def _sqrt_grad_kernel(y, dy):
    out = dy * (0.5 / y)
    # At y = 0 a zero incoming gradient gives 0, not 0 * inf = NaN (as TF), so that
    # `where(x > 0, sqrt(x), 0)` trains: its unused branch passes dy = 0 back.
    return out if y.all() else np.where(dy == 0, np.zeros((), out.dtype), out)


def _rsqrt_grad_kernel(y, dy):
    out = dy * (-0.5 * y * y * y)
    return out if np.isfinite(y).all() else np.where(dy == 0, np.zeros((), out.dtype), out)


_SQRT_GRAD = _grad_op("SqrtGrad", _sqrt_grad_kernel,
                      lambda y, dy, g: -g * dy * 0.5 / (y * y))
sqrt = _unary("Sqrt", np.sqrt, _pointwise(lambda x, y, dy: execute(_SQRT_GRAD, (y, dy))),
        api=("math.sqrt", "sqrt"))


def _rsqrt_kernel(x):
    return 1 / np.sqrt(x)


_RSQRT_GRAD = _grad_op("RsqrtGrad", _rsqrt_grad_kernel,
                       lambda y, dy, g: g * dy * -1.5 * y * y)
rsqrt = _unary("Rsqrt", _rsqrt_kernel,
               _pointwise(lambda x, y, dy: execute(_RSQRT_GRAD, (y, dy))), api="math.rsqrt")
square = _unary("Square", np.square, _pointwise(lambda x, y, dy: dy * 2 * x), float_only=False,
        api=("math.square", "square"))
reciprocal = _unary("Reciprocal", np.reciprocal, _pointwise(lambda x, y, dy: -dy * y * y),
        api="math.reciprocal")
_SIN_GRAD = _grad_op("SinGrad", lambda x, dy: dy * np.cos(x),
                     lambda x, dy, g: -g * dy * sin(x))
_COS_GRAD = _grad_op("CosGrad", lambda x, dy: -dy * np.sin(x),
                     lambda x, dy, g: -g * dy * cos(x))
sin = _unary("Sin", np.sin, _pointwise(lambda x, y, dy: execute(_SIN_GRAD, (x, dy))),
        api=("math.sin", "sin"))
cos = _unary("Cos", np.cos, _pointwise(lambda x, y, dy: execute(_COS_GRAD, (x, dy))),
        api=("math.cos", "cos"))
tan = _unary("Tan", np.tan, _pointwise(lambda x, y, dy: dy * (1 + y * y)), api=("math.tan", "tan"))
asin = _unary("Asin", np.arcsin, _pointwise(lambda x, y, dy: dy * rsqrt(1 - x * x)),
        api=("math.asin", "asin"))
acos = _unary("Acos", np.arccos, _pointwise(lambda x, y, dy: -dy * rsqrt(1 - x * x)),
        api=("math.acos", "acos"))
atan = _unary("Atan", np.arctan, _pointwise(lambda x, y, dy: dy / (1 + x * x)),
        api=("math.atan", "atan"))
sinh = _unary("Sinh", np.sinh, _pointwise(lambda x, y, dy: dy * cosh(x)), api=("math.sinh", "sinh"))
cosh = _unary("Cosh", np.cosh, _pointwise(lambda x, y, dy: dy * sinh(x)), api=("math.cosh", "cosh"))
_TANH_GRAD = _grad_op("TanhGrad", lambda y, dy: dy * (1 - y * y),
                      lambda y, dy, g: -2 * g * dy * y)
tanh = _unary("Tanh", np.tanh, _pointwise(lambda x, y, dy: execute(_TANH_GRAD, (y, dy))),
        api=("math.tanh", "tanh", "nn.tanh"))
asinh = _unary("Asinh", np.arcsinh, _pointwise(lambda x, y, dy: dy * rsqrt(x * x + 1)),
        api=("math.asinh", "asinh"))
acosh = _unary("Acosh", np.arccosh, _pointwise(lambda x, y, dy: dy * rsqrt(x * x - 1)),
        api=("math.acosh", "acosh"))
atanh = _unary("Atanh", np.arctanh, _pointwise(lambda x, y, dy: dy / (1 - x * x)),
        api=("math.atanh", "atanh"))


def _sigmoid_kernel(x):
    # exp(-|x|) never overflows; pick the form that is exact on each side of 0.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


_SIGMOID_GRAD = _grad_op("SigmoidGrad", lambda y, dy: dy * y * (1 - y),
                         lambda y, dy, g: g * dy * (1 - 2 * y))
sigmoid = _unary("Sigmoid", _sigmoid_kernel,
                 _pointwise(lambda x, y, dy: execute(_SIGMOID_GRAD, (y, dy))),
                 api=("math.sigmoid", "sigmoid", "nn.sigmoid"))


def _softplus_kernel(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|.
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


def _sigmoid_slope(x):
    sx = sigmoid(x)
    return sx * (1 - sx)


_SOFTPLUS_GRAD = _grad_op("SoftplusGrad", lambda x, dy: dy * _sigmoid_kernel(x),
                          lambda x, dy, g: g * dy * _sigmoid_slope(x))
softplus = _unary("Softplus", _softplus_kernel,
                  _pointwise(lambda x, y, dy: execute(_SOFTPLUS_GRAD, (x, dy))),
                  api=("math.softplus", "nn.softplus"))

_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf_kernel(x):
    if x.dtype == np.float64 or x.size < 64:
        return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.ndim else x.dtype.type(math.erf(x))
    # Abramowitz & Stegun 7.1.26 in float64: |error| < 1.5e-7, below float32's resolution.
    ax = np.abs(x.astype(np.float64))
    t = 1 / (1 + _ERF_P * ax)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return (np.sign(x) * (1 - poly * np.exp(-ax * ax))).astype(x.dtype)


erf = _unary("Erf", _erf_kernel,
             _pointwise(lambda x, y, dy: dy * (2 / math.sqrt(math.pi)) * exp(-square(x))),
             api="math.erf")


# -- binary ------------------------------------------------------------------

def _add_grad(inputs, outputs, attrs, dy):
    return dy, dy


def _sub_grad(inputs, outputs, attrs, dy, needs):
    return dy, (-dy if needs[1] else None)


def _mul_grad(inputs, outputs, attrs, dy, needs):
    x, y = inputs
    return (dy * y if needs[0] else None), (dy * x if needs[1] else None)


def _div_grad(inputs, quotient, attrs, dy, needs):
    _, divisor = inputs
    return ((dy / divisor if needs[0] else None),
            (-dy * quotient / divisor if needs[1] else None))


def _pow_grad(inputs, power, attrs, dy, needs):
    base, p = inputs
    dbase = dy * p * pow(base, p - 1) if needs[0] else None
    if not needs[1] or not p.dtype.is_floating:
        return dbase, None
    # d/dp b^p = b^p log b; defined as 0 where b == 0 (as TF does).
    safe = where(base > 0, base, ones_like(base))
    return dbase, dy * power * where(base > 0, log(safe), zeros_like(base))


def _truediv_kernel(x, y):
    return np.true_divide(x, y)


def _int_divisor_check(name, x, y):
    # Only divisions that happen count: TF divides nothing when the result is empty.
    if y.dtype.kind in "iu" and not np.all(y) and x.size and y.size and 0 not in \
            np.broadcast_shapes(x.shape, y.shape):
        raise errors.op_error(name, "Integer division by zero")


def _floordiv_kernel(x, y):
    _int_divisor_check("FloorDiv", x, y)
    return np.floor_divide(x, y)


def _floormod_kernel(x, y):
    _int_divisor_check("FloorMod", x, y)
    return np.mod(x, y)


add = _binary("AddV2", np.add, _add_grad, node_name="add", grad_uses_outputs=False,
              inline=_inline.binary("{0} + {1}"), api=("math.add", "add"),
              fuse={"bias": True, "fresh": True,
                    "in_place": lambda a, b: np.add(a, b, out=a)})
subtract = _binary("Sub", np.subtract, _sub_grad, node_name="sub", grad_needs=True,
                   grad_uses_outputs=False, inline=_inline.binary("{0} - {1}"),
        api=("math.subtract", "subtract"))
multiply = _binary("Mul", np.multiply, _mul_grad, node_name="mul", grad_needs=True,
                   grad_uses_outputs=False, inline=_inline.binary("{0} * {1}"),
        api=("math.multiply", "multiply"))
_div = _binary("RealDiv", _truediv_kernel, _div_grad, node_name="truediv", grad_needs=True,
        api="realdiv")
pow = _binary("Pow", np.power, _pow_grad, node_name="pow", grad_needs=True,
        api=("math.pow", "pow"))  # noqa: A001
floordiv = _binary("FloorDiv", _floordiv_kernel, NO_GRADIENT, node_name="floordiv",
        api="math.floordiv")


def _floormod_grad(inputs, outputs, attrs, dy):
    x, y = inputs
    return dy, -dy * floordiv(x, y)


def _maximum_grad(inputs, outputs, attrs, dy):
    # Ties go to the first operand, as TF's.
    x, y = inputs
    return dy * cast(x >= y, dy.dtype), dy * cast(x < y, dy.dtype)


def _minimum_grad(inputs, outputs, attrs, dy):
    x, y = inputs
    return dy * cast(x <= y, dy.dtype), dy * cast(x > y, dy.dtype)


def _squared_difference_grad(inputs, outputs, attrs, dy):
    x, y = inputs
    return dy * 2 * (x - y), dy * -2 * (x - y)


def _atan2_grad(inputs, outputs, attrs, dy):
    y, x = inputs                      # atan2(y, x), as TF names its operands
    r2 = y * y + x * x
    return dy * x / r2, -dy * y / r2


floormod = _binary("FloorMod", _floormod_kernel, _floormod_grad, node_name="mod",
                   grad_uses_outputs=False, api=("math.floormod", "math.mod"))
mod = floormod
maximum = _binary("Maximum", np.maximum, _maximum_grad, grad_uses_outputs=False,
        api=("math.maximum", "maximum"))
minimum = _binary("Minimum", np.minimum, _minimum_grad, grad_uses_outputs=False,
        api=("math.minimum", "minimum"))
squared_difference = _binary(
    "SquaredDifference", lambda x, y: np.square(np.subtract(x, y)), _squared_difference_grad,
    grad_uses_outputs=False, api="math.squared_difference")


def _atan2_kernel(y, x):
    if y.dtype.kind not in "fc":           # TF has no integer Atan2 kernel
        raise TypeError(f"Atan2: expected float tensors, got {y.dtype}")
    return np.arctan2(y, x)


atan2 = _binary("Atan2", _atan2_kernel, _atan2_grad, grad_uses_outputs=False,
        api=("math.atan2", "atan2"))
equal = _binary("Equal", np.equal, NO_GRADIENT, BOOL, api=("math.equal", "equal"))
not_equal = _binary("NotEqual", np.not_equal, NO_GRADIENT, BOOL,
        api=("math.not_equal", "not_equal"))
less = _binary("Less", np.less, NO_GRADIENT, BOOL, api=("math.less", "less"))
less_equal = _binary("LessEqual", np.less_equal, NO_GRADIENT, BOOL,
        api=("math.less_equal", "less_equal"))
greater = _binary("Greater", np.greater, NO_GRADIENT, BOOL, api=("math.greater", "greater"))
greater_equal = _binary("GreaterEqual", np.greater_equal, NO_GRADIENT, BOOL,
        api=("math.greater_equal", "greater_equal"))
logical_and = _binary("LogicalAnd", np.logical_and, NO_GRADIENT, BOOL,
        api=("math.logical_and", "logical_and"))
logical_or = _binary("LogicalOr", np.logical_or, NO_GRADIENT, BOOL,
        api=("math.logical_or", "logical_or"))
logical_xor = _binary("LogicalXor", np.logical_xor, NO_GRADIENT, BOOL, api="math.logical_xor")


@tf_export("math.divide", "divide")
def divide(x, y, name=None):
    """`x / y`. Integer tensors divide to float64 (int8/16 to float32), as TF's truediv.

    Example:
        >>> import tapeflow as tf
        >>> print(tf.constant([3, 4]) / 2)
        tf.Tensor([1.5 2. ], shape=(2,), dtype=float64)
    """
    x, y = binary_inputs("RealDiv", x, y)
    d = x.dtype
    if d.is_integer:
        target = dtypes.float32 if d.size <= 2 else dtypes.float64
        x, y = cast(x, target), cast(y, target)
    return _div(x, y)


@tf_export("math.truediv", "truediv")
def truediv(x, y, name=None):
    """`x / y` (what the `/` operator computes): `divide`."""
    return divide(x, y)


realdiv = _div


@tf_export("math.log_sigmoid")
def log_sigmoid(x, name=None):
    """log(sigmoid(x)) = -softplus(-x), without overflow for large |x|."""
    return negative(softplus(negative(x)))


@tf_export("nn.softsign", "math.softsign")
def softsign(features, name=None):
    """x / (1 + |x|)."""
    x = as_input(features)
    if not x.dtype.is_floating:
        raise _dtype_error("Softsign", x)
    return x / (1 + abs(x))


@tf_export("math.xlogy")
def xlogy(x, y, name=None):
    """x * log(y), and 0 where x == 0 (even where y == 0)."""
    x, y = binary_inputs("Xlogy", x, y)
    nz = not_equal(x, zeros_like(x))
    return where(nz, x * log(where(nz, y, ones_like(y))), zeros_like(x * y))


@tf_export("math.multiply_no_nan")
def multiply_no_nan(x, y, name=None):
    """x * y, but 0 where y == 0 (even if x is inf or nan)."""
    x, y = binary_inputs("MulNoNan", x, y)
    if not (x.dtype.is_floating or x.dtype.is_complex):
        raise _dtype_error("MulNoNan", x)
    nz = not_equal(y, zeros_like(y))
    return where(nz, x * y, zeros_like(x * y))


@tf_export("math.reciprocal_no_nan")
def reciprocal_no_nan(x, name=None):
    """1 / x, but 0 where x == 0."""
    x = as_input(x)
    if not (x.dtype.is_floating or x.dtype.is_complex):
        raise _dtype_error("ReciprocalNoNan", x)
    return divide_no_nan(ones_like(x), x)


@tf_export("math.divide_no_nan")
def divide_no_nan(x, y, name=None):
    """`x / y`, but 0 where `y == 0`."""
    x, y = binary_inputs("DivNoNan", x, y)
    if x.dtype.is_integer:       # as `x / y`: integers divide to float
        target = dtypes.float32 if x.dtype.size <= 2 else dtypes.float64
        x, y = cast(x, target), cast(y, target)
    nz = not_equal(y, zeros_like(y))
    return where(nz, x / where(nz, y, ones_like(y)), zeros_like(x * y))


@tf_export("math.scalar_mul", "scalar_mul")
def scalar_mul(scalar, x, name=None):
    return multiply(scalar, x)


# -- where / cast / clip --------------------------------------------------------

def _where_grad(inputs, outputs, attrs, dy):
    cond = inputs[0]
    z = zeros_like(dy)
    return None, where(cond, dy, z), where(cond, z, dy)


def _where_shape(inputs, attrs):
    from tapeflow.ops._shapes import broadcast_shapes
    s = broadcast_shapes("SelectV2", inputs[0].shape, inputs[1].shape)
    return [(broadcast_shapes("SelectV2", s, inputs[2].shape), inputs[1].dtype)]


_WHERE = OpDef("SelectV2", np.where, _where_grad, shape_fn=_where_shape,
               grad_uses_outputs=False, batch_rule=TRANSPARENT)


@tf_export("where")
def where(condition, x=None, y=None, name=None):
    """`tf.where`: elementwise choice (with x and y), or indices of true elements.

    Example:
        >>> import tapeflow as tf
        >>> x = tf.constant([-1., 2.])
        >>> tf.where(x > 0, x, 0.).numpy(), tf.where(x > 0).numpy()
        (array([0., 2.], dtype=float32), array([[1]]))
    """
    condition = as_input(condition)
    if x is None and y is None:
        from tapeflow.ops import array_ops
        return array_ops.where_indices(condition)
    if x is None or y is None:
        raise ValueError("tf.where: x and y must both be given, or neither.")
    x, y = binary_inputs("SelectV2", x, y)
    if condition.dtype is not dtypes.bool:
        raise TypeError(f"tf.where: condition must be a bool tensor; got {condition.dtype.name}.")
    return execute(_WHERE, (condition, x, y))


def _cast_kernel(x, dtype):
    return x.astype(dtype, copy=False) if isinstance(x, np.ndarray) else np.asarray(x).astype(dtype)


def _cast_grad(inputs, outputs, attrs, dy):
    src = inputs[0].dtype
    if not (src.is_floating or src.is_complex):
        return (None,)
    return (cast(dy, src),)


def _cast_shape(inputs, attrs):
    return [(inputs[0].shape, dtypes.from_numpy(np.dtype(attrs["dtype"])))]


_CAST = OpDef("Cast", _cast_kernel, _cast_grad, shape_fn=_cast_shape, aliases=True,
              grad_uses_outputs=False, batch_rule=TRANSPARENT)


@tf_export("cast")
def cast(x, dtype, name=None):
    """`tf.cast`: converts `x` to `dtype` (floats to ints truncate toward zero).

    Example:
        >>> import tapeflow as tf
        >>> tf.cast([-1.7, 2.9], tf.int32).numpy()
        array([-1,  2], dtype=int32)
    """
    dtype = dtypes.as_dtype(dtype)
    x = as_input(x)
    if x.dtype is dtype:
        return x if isinstance(x, Tensor) else execute(_CAST, (x,), {"dtype": dtype._np})
    return execute(_CAST, (x,), {"dtype": dtype._np})


@tf_export("dtypes.saturate_cast", "saturate_cast")
def saturate_cast(value, dtype, name=None):
    dtype = dtypes.as_dtype(dtype)
    value = as_input(value)
    if dtype.is_integer and not value.dtype.is_integer or dtype.size < value.dtype.size:
        value = clip_by_value(value, dtype.min, dtype.max)
    return cast(value, dtype)


@tf_export("clip_by_value")
def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clips to [min, max]; the gradient passes where the value was inside the range.

    Example:
        >>> import tapeflow as tf
        >>> tf.clip_by_value([-2., 0.5, 3.], -1., 1.).numpy()
        array([-1. ,  0.5,  1. ], dtype=float32)
    """
    t = as_input(t)
    lo, hi = (v if isinstance(v, Tensor) else convert_to_tensor(v, t.dtype)
              for v in (clip_value_min, clip_value_max))
    # min first, then max (as TF): with min > max every value becomes min.
    return maximum(minimum(t, hi), lo)


@tf_export("math.add_n", "add_n")
def add_n(inputs, name=None):
    """Sum of a list of tensors of the same shape and dtype.

    Example:
        >>> import tapeflow as tf
        >>> tf.add_n([[1, 2], [3, 4], [5, 6]]).numpy()
        array([ 9, 12], dtype=int32)
    """
    if not inputs:
        raise ValueError("tf.add_n: inputs must be a non-empty list of tensors.")
    out = as_input(inputs[0])
    for i, x in enumerate(inputs[1:], 1):
        x = as_input(x)
        # No broadcasting (as TF's AddN): every input has the first one's shape.
        if not x.shape.is_compatible_with(out.shape):
            raise errors.op_error("AddN", f"Inputs to operation AddN must have the same "
                                  f"shape: inputs[0] has shape {out.shape}, inputs[{i}] "
                                  f"has shape {x.shape}")
        out = add(out, x)
    return out


def zeros_like(x, dtype=None, name=None):
    from tapeflow.ops import array_ops
    return array_ops.zeros_like(x, dtype)


def ones_like(x, dtype=None, name=None):
    from tapeflow.ops import array_ops
    return array_ops.ones_like(x, dtype)


# -- matmul -------------------------------------------------------------------

def _matmul_kernel(a, b, transpose_a=False, transpose_b=False):
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    # Large 2-D products are split over both cores by tapeflow's own pool,
    # which copes with a busy machine better than OpenBLAS's threads (blas.py).
    return blas.matmul(a, b)


def _matmul_grad(inputs, outputs, attrs, dy, needs):
    a, b = inputs
    ta, tb = attrs.get("transpose_a", False), attrs.get("transpose_b", False)
    da = db = None
    # Only the wanted side is computed: a Dense layer's input batch needs none.
    if not ta and not tb:
        if needs[0]:
            da = matmul(dy, b, transpose_b=True)
        if needs[1]:
            db = matmul(a, dy, transpose_a=True)
    elif ta and not tb:
        if needs[0]:
            da = matmul(b, dy, transpose_b=True)
        if needs[1]:
            db = matmul(a, dy)
    elif not ta and tb:
        if needs[0]:
            da = matmul(dy, b)
        if needs[1]:
            db = matmul(dy, a, transpose_a=True)
    else:
        if needs[0]:
            da = matmul(b, dy, transpose_a=True, transpose_b=True)
        if needs[1]:
            db = matmul(dy, a, transpose_a=True, transpose_b=True)
    # Batched matmul broadcasts leading dims; the engine sums them back.
    return da, db


def _matmul_dims(op_name, a_shape, b_shape, ta, tb):
    if a_shape.rank is None or b_shape.rank is None:
        return None
    if a_shape.rank < 2 or b_shape.rank < 2:
        raise errors.op_error(
            op_name, f"In[0] and In[1] must have rank >= 2, but got shapes {a_shape} and {b_shape}")
    a = a_shape.as_list()
    b = b_shape.as_list()
    m, k1 = (a[-1], a[-2]) if ta else (a[-2], a[-1])
    k2, n = (b[-1], b[-2]) if tb else (b[-2], b[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise errors.op_error(
            op_name, f"Matrix size-incompatible: In[0]: {a}, In[1]: {b}"
            + (f" (transpose_a={ta}, transpose_b={tb})" if ta or tb else "")
            + f": the inner dimensions {k1} and {k2} must be equal")
    from tapeflow.ops._shapes import broadcast_shapes
    batch = broadcast_shapes(op_name, TensorShape(a[:-2]), TensorShape(b[:-2]))
    return TensorShape(batch.as_list() + [m, n])


def _matmul_shape(inputs, attrs):
    a, b = inputs
    shape = _matmul_dims("MatMul", a.shape, b.shape, attrs.get("transpose_a", False),
                         attrs.get("transpose_b", False))
    return [(shape, a.dtype)]


def _matmul_inline(node, context):
    # A product below the BLAS pool's threshold (known from the traced shapes) goes
    # straight to NumPy; large or unknown-size products keep the kernel (the pool).
    a, b = node.inputs
    if _inline.float_name(a) is None or a.dtype is not b.dtype:
        return None
    attrs = dict(node.attrs)
    ta, tb = attrs.pop("transpose_a", False), attrs.pop("transpose_b", False)
    if attrs or not (a.shape.is_fully_defined() and b.shape.is_fully_defined()):
        return None
    sa, sb = a.shape.as_list(), b.shape.as_list()
    if len(sa) == 2 and len(sb) == 2:
        m, k = (sa[1], sa[0]) if ta else (sa[0], sa[1])
        n = sb[0] if tb else sb[1]
        if 2.0 * m * k * n >= blas.MIN_FLOPS:
            return None
    lhs = "{0}.swapaxes(-1, -2)" if ta else "{0}"
    rhs = "{1}.swapaxes(-1, -2)" if tb else "{1}"
    return f"_matmul({lhs}, {rhs})", _inline.CONSTANTS


_MATMUL = OpDef("MatMul", _matmul_kernel, _matmul_grad, shape_fn=_matmul_shape,
                grad_needs=True, grad_uses_outputs=False, batch_rule=TRANSPARENT,
                # Vectors have no leading axes to carry the batch.
                batch_when=lambda inputs, attrs: all(x._value.ndim >= 2 for x in inputs),
                inline=_matmul_inline, fuse={"bias_act": fused.matmul_bias_act, "fresh": True,
                                              "relu_grad": fused.matmul_relu_grad})
_NO_T: dict = {}


@tf_export("linalg.matmul", "matmul")
def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, name=None):
    """Matrix product of the last two dims of `a` and `b` (batched over the rest).

    Example:
        >>> import tapeflow as tf
        >>> tf.matmul([[1., 2.]], [[3.], [4.]]).numpy()
        array([[11.]], dtype=float32)
    """
    a, b = binary_inputs("MatMul", a, b)
    ta, tb = transpose_a or adjoint_a, transpose_b or adjoint_b
    if a._is_symbolic or b._is_symbolic:
        _matmul_dims("MatMul", a.shape, b.shape, ta, tb)
    else:
        sa, sb = a._value.shape, b._value.shape
        if len(sa) < 2 or len(sb) < 2 or (sa[-2] if ta else sa[-1]) != (sb[-1] if tb else sb[-2]):
            _matmul_dims("MatMul", TensorShape(sa), TensorShape(sb), ta, tb)
    attrs = {"transpose_a": True, "transpose_b": tb} if ta else (
        {"transpose_b": True} if tb else _NO_T)
    return execute(_MATMUL, (a, b), attrs)


@tf_export("tensordot", "linalg.tensordot")
def tensordot(a, b, axes, name=None):
    """`tf.tensordot`, expressed with transpose/reshape/matmul (so it differentiates)."""
    from tapeflow.ops import array_ops
    a, b = binary_inputs("TensorDot", a, b)
    if isinstance(axes, int):
        a_axes = list(range(a.ndim - axes, a.ndim))
        b_axes = list(range(axes))
    else:
        a_axes, b_axes = axes
        a_axes = [a_axes] if isinstance(a_axes, int) else list(a_axes)
        b_axes = [b_axes] if isinstance(b_axes, int) else list(b_axes)
    a_axes = [ax % a.ndim for ax in a_axes]
    b_axes = [ax % b.ndim for ax in b_axes]
    a_free = [i for i in range(a.ndim) if i not in a_axes]
    b_free = [i for i in range(b.ndim) if i not in b_axes]
    sa, sb = a.shape.as_list(), b.shape.as_list()
    k = int(np.prod([sa[i] for i in a_axes])) if a_axes else 1
    at = array_ops.reshape(array_ops.transpose(a, a_free + a_axes), [-1, k])
    bt = array_ops.reshape(array_ops.transpose(b, b_axes + b_free), [k, -1])
    out = matmul(at, bt)
    return array_ops.reshape(out, [sa[i] for i in a_free] + [sb[i] for i in b_free])


# -- operators ----------------------------------------------------------------

def _r(fn):
    return lambda self, other: fn(other, self)


def _getitem(self, key):
    from tapeflow.ops import array_ops
    return array_ops.getitem(self, key)


def _eq(self, other):
    if other is None:
        return False
    try:
        return equal(self, other)
    except (TypeError, errors.InvalidArgumentError):
        return False


def _ne(self, other):
    if other is None:
        return True
    try:
        return not_equal(self, other)
    except (TypeError, errors.InvalidArgumentError):
        return True


def _pow_op(self, other):
    return pow(self, other)


for _name, _fn in [
        ("__add__", add), ("__radd__", _r(add)), ("__sub__", subtract),
        ("__rsub__", _r(subtract)), ("__mul__", multiply), ("__rmul__", _r(multiply)),
        ("__truediv__", divide), ("__rtruediv__", _r(divide)),
        ("__floordiv__", floordiv), ("__rfloordiv__", _r(floordiv)),
        ("__mod__", floormod), ("__rmod__", _r(floormod)),
        ("__pow__", _pow_op), ("__rpow__", _r(pow)), ("__matmul__", matmul),
        ("__rmatmul__", _r(matmul)), ("__neg__", negative), ("__abs__", abs),
        ("__lt__", less), ("__le__", less_equal), ("__gt__", greater),
        ("__ge__", greater_equal), ("__eq__", _eq), ("__ne__", _ne),
        ("__and__", logical_and), ("__rand__", _r(logical_and)), ("__or__", logical_or),
        ("__ror__", _r(logical_or)), ("__xor__", logical_xor), ("__invert__", logical_not),
        ("__getitem__", _getitem), ("__pos__", lambda self: self)]:
    override_operator(_name, _fn)
