"""Reductions (`reduce_sum`, `reduce_mean`, ..., `argmax`) with `axis` and `keepdims`."""
from __future__ import annotations

import numpy as np

from tapeflow.framework.api_export import export, tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import _inline


def _norm_axis(op_name, x, axis):
    """`axis` as a sorted tuple of non-negative ints (None: all axes)."""
    rank = x.shape.rank
    if axis is None:
        return None
    if hasattr(axis, "_value") and not getattr(axis, "_is_symbolic", False):
        axis = axis._value.tolist()
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axes = []
    for a in axis:
        a = int(a)
        if rank is not None and not -rank <= a < max(rank, 1):
            raise errors.op_error(op_name, f"Invalid reduction dimension {a} for input with "
                                  f"{rank} dimensions; expected an axis in [{-rank}, {rank})")
        a = a % rank if rank else a
        if a in axes:
            raise errors.op_error(op_name, f"Invalid reduction arguments: Axes contains "
                                  f"duplicate dimension: {a}")
        axes.append(a)
    return tuple(sorted(axes))


def _reduced_shape(shape, axis, keepdims):
    if shape.rank is None:
        # Reducing every axis of a tensor of unknown rank still gives a scalar.
        return TensorShape([] if axis is None and not keepdims else None)
    dims = shape.as_list()
    axes = range(len(dims)) if axis is None else axis
    if keepdims:
        return TensorShape([1 if i in axes else d for i, d in enumerate(dims)])
    return TensorShape([d for i, d in enumerate(dims) if i not in axes])


def _reduce_shape_fn(out_dtype=None):
    def rule(inputs, attrs):
        x = inputs[0]
        return [(_reduced_shape(x.shape, attrs["axis"], attrs["keepdims"]), out_dtype or x.dtype)]
    return rule


def _expand_back(g, x, attrs):
    """Reshapes a reduced gradient so it broadcasts against `x`."""
    from tapeflow.ops import array_ops
    if attrs["keepdims"]:
        return g
    axis = attrs["axis"]
    rank = x.shape.rank
    axes = range(rank) if axis is None else axis
    shape = [1 if i in axes else d for i, d in enumerate(x.shape.as_list())]
    if any(d is None for d in shape):
        dyn = array_ops.shape(x)
        shape = [1 if i in axes else dyn[i] for i in range(rank)]
    return array_ops.reshape(g, shape)


def _spread(x, dy, axis, keepdims):
    """dy (the reduced shape) broadcast back over x's shape: a read-only view, no copy."""
    if not keepdims and axis is not None:
        dy = np.expand_dims(dy, axis)
    return np.broadcast_to(dy, x.shape)


def _sum_grad_kernel(x, dy, axis, keepdims):
    return _spread(x, dy, axis, keepdims)


def _mean_grad_kernel(x, dy, axis, keepdims):
    count = x.size // max(np.size(dy), 1) if np.size(dy) else 1
    return _spread(x, dy * dy.dtype.type(1.0 / max(count, 1)), axis, keepdims)


def _batch_spread_grad(inputs, outputs, attrs, g, batch, mean=False):
    # SumGrad/MeanGrad(x, dy) spread dy over x: the adjoint reduces g over x's axes,
    # behind the leading batch axis.
    xv = inputs[0]._value
    axes = range(xv.ndim) if attrs["axis"] is None else attrs["axis"]
    out = reduce_sum(g, axis=[a + 1 for a in axes], keepdims=attrs["keepdims"])
    if mean:
        out = out * (np.size(inputs[1]._value) / max(xv.size, 1))
    return None, out


def _batch_reduce(inputs, outputs, attrs, dy, batch, mean=False):
    # dy has a leading batch axis: put back x's reduced axes behind it and spread.
    from tapeflow.ops import array_ops
    shape = inputs[0]._value.shape
    axes = range(len(shape)) if attrs["axis"] is None else attrs["axis"]
    g = array_ops.reshape(dy, [batch] + [1 if i in axes else d for i, d in enumerate(shape)])
    if mean:
        g = g * (np.size(outputs._value) / max(inputs[0]._value.size, 1))
    return (array_ops.broadcast_to(g, [batch] + list(shape)),)


# One op each in the backward pass. Both are linear in dy and adjoint to the reduction,
# so their gradient w.r.t. dy is the reduction itself (higher orders work).
_SUM_GRAD = OpDef("SumGrad", _sum_grad_kernel,
                  lambda inputs, outputs, attrs, g: (None, execute(_SUM, (g,), attrs)),
                  shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)], grad_uses_outputs=False,
                  batch_rule=_batch_spread_grad)
_MEAN_GRAD = OpDef("MeanGrad", _mean_grad_kernel,
                   lambda inputs, outputs, attrs, g: (None, execute(_MEAN, (g,), attrs)),
                   shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)], grad_uses_outputs=False,
                   batch_rule=lambda i, o, a, g, b: _batch_spread_grad(i, o, a, g, b, mean=True))


def _sum_grad(inputs, outputs, attrs, dy):
    return (execute(_SUM_GRAD, (inputs[0], dy), attrs),)


def _sum_kernel(x, axis, keepdims):
    # The ufunc's reduce, not np.sum: NumPy's Python wrappers would be the frame an
    # "invalid value" warning (inf + -inf) is attributed to, which tapeflow's
    # kernel-warning filter (by module) does not cover; TF sums silently.
    return np.add.reduce(x, axis=axis, dtype=x.dtype, keepdims=keepdims)


def _mean_kernel(x, axis, keepdims):
    if x.size == 0:
        # TF's integer mean of nothing is 0 (NumPy's: NaN, cast to INT_MIN); a float
        # one NaN, without NumPy's "Mean of empty slice" warning.
        fill = 0 if x.dtype.kind in "iub" else np.nan
        return np.full(np.sum(x, axis=axis, keepdims=keepdims).shape, fill, x.dtype)
    if x.dtype.kind in "iub":
        # Integer means truncate toward zero, as TF's integer division does.
        return np.trunc(np.mean(x, axis=axis, keepdims=keepdims)).astype(x.dtype)
    return np.mean(x, axis=axis, keepdims=keepdims, dtype=x.dtype)


def _extreme_kernel(reduce, lowest):
    """max/min; over no elements the identity (max: -inf or the dtype's lowest value;
    min: +inf or its highest), as TF, where NumPy raises."""
    def kernel(x, axis, keepdims):
        if x.size:
            return reduce(x, axis=axis, keepdims=keepdims)
        if x.dtype.kind == "f":
            start = -np.inf if lowest else np.inf
        elif x.dtype.kind in "iu":
            info = np.iinfo(x.dtype)
            start = info.min if lowest else info.max
        else:
            start = not lowest
        return reduce(x, axis=axis, keepdims=keepdims, initial=start)
    return kernel


def _mean_grad(inputs, outputs, attrs, dy):
    return (execute(_MEAN_GRAD, (inputs[0], dy), attrs),)


def _minmax_grad(inputs, extreme, attrs, dy):
    """Gradient split evenly among the elements equal to the extreme (as TF)."""
    from tapeflow.ops import array_ops, math_ops
    xin = inputs[0]
    yk = _expand_back(extreme, xin, attrs)
    mask = math_ops.cast(math_ops.equal(xin, yk), dy.dtype)
    count = reduce_sum(mask, axis=attrs["axis"], keepdims=True)
    g = _expand_back(dy, xin, attrs)
    return (array_ops.broadcast_to(g, array_ops.shape(xin)) * mask / count,)


def _prod_grad(inputs, product, attrs, dy):
    # Product of the others = product / x where x != 0; exact zeros handled via where.
    from tapeflow.ops import array_ops, math_ops
    xin = inputs[0]
    yk = _expand_back(product, xin, attrs)
    g = _expand_back(dy, xin, attrs)
    nz = math_ops.not_equal(xin, array_ops.zeros_like(xin))
    safe = math_ops.where(nz, xin, array_ops.ones_like(xin))
    others = math_ops.where(nz, yk / safe, _prod_excluding(xin, attrs))
    return (g * others,)


def _prod_excluding(x, attrs):
    """Product of all other elements along the reduced axes (used where x == 0)."""
    from tapeflow.ops import array_ops, math_ops
    nz = math_ops.not_equal(x, array_ops.zeros_like(x))
    ones = array_ops.ones_like(x)
    safe = math_ops.where(nz, x, ones)
    prod_nz = reduce_prod(safe, axis=attrs["axis"], keepdims=True)
    zeros_count = reduce_sum(math_ops.cast(math_ops.logical_not(nz), x.dtype),
                             axis=attrs["axis"], keepdims=True)
    only_me = math_ops.cast(math_ops.equal(zeros_count, 1), x.dtype)
    return prod_nz * only_me


def _sum_inline(node, context):
    # np.sum(x, axis, dtype=x.dtype, keepdims) is this reduction minus its Python wrapper.
    (x,) = node.inputs
    name = _inline.float_name(x)
    attrs = node.attrs
    if name is None or set(attrs) != {"axis", "keepdims"}:
        return None
    axis = attrs["axis"]
    if not (axis is None or isinstance(axis, int) or (
            isinstance(axis, tuple) and all(isinstance(a, int) for a in axis))):
        return None
    return (f"_add_reduce({{0}}, {axis!r}, {name}, None, {bool(attrs['keepdims'])!r})",
            _inline.CONSTANTS)


_SUM = OpDef("Sum", _sum_kernel, _sum_grad, shape_fn=_reduce_shape_fn(),
             grad_uses_outputs=False, batch_rule=_batch_reduce, inline=_sum_inline,
             fuse={"bias_grad": True})
_MEAN = OpDef("Mean", _mean_kernel, _mean_grad, shape_fn=_reduce_shape_fn(),
              grad_uses_outputs=False,
              batch_rule=lambda i, o, a, dy, b: _batch_reduce(i, o, a, dy, b, mean=True))
_MAX = OpDef("Max", _extreme_kernel(np.max, lowest=True),
             _minmax_grad, shape_fn=_reduce_shape_fn())
_MIN = OpDef("Min", _extreme_kernel(np.min, lowest=False),
             _minmax_grad, shape_fn=_reduce_shape_fn())
_PROD = OpDef("Prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims,
                                                         dtype=x.dtype),
              _prod_grad, shape_fn=_reduce_shape_fn())
_ANY = OpDef("Any", lambda x, axis, keepdims: np.any(x, axis=axis, keepdims=keepdims),
             NO_GRADIENT, shape_fn=_reduce_shape_fn(dtypes.bool))
_ALL = OpDef("All", lambda x, axis, keepdims: np.all(x, axis=axis, keepdims=keepdims),
             NO_GRADIENT, shape_fn=_reduce_shape_fn(dtypes.bool))


def _reducer(op, doc, api):
    def fn(input_tensor, axis=None, keepdims=False, name=None):
        x = as_input(input_tensor)
        ax = _norm_axis(op.name, x, axis)
        return execute(op, (x,), {"axis": ax, "keepdims": bool(keepdims)})
    fn.__doc__ = doc
    return export(fn, api)


reduce_sum = _reducer(_SUM, "Sum over `axis` (all axes when None).\n\n"
                      "    >>> import tapeflow as tf\n"
                      "    >>> print(tf.reduce_sum([[1., 2.], [3., 4.]], axis=0))\n"
                      "    tf.Tensor([4. 6.], shape=(2,), dtype=float32)\n",
                      api=("math.reduce_sum", "reduce_sum"))
reduce_mean = _reducer(_MEAN, "Mean over `axis`; integer tensors give integer means (as TF).",
                       api=("math.reduce_mean", "reduce_mean"))
reduce_max = _reducer(_MAX, "Maximum over `axis`.", api=("math.reduce_max", "reduce_max"))
reduce_min = _reducer(_MIN, "Minimum over `axis`.", api=("math.reduce_min", "reduce_min"))
reduce_prod = _reducer(_PROD, "Product over `axis`.", api=("math.reduce_prod", "reduce_prod"))
reduce_any = _reducer(_ANY, "Logical or over `axis`.", api=("math.reduce_any", "reduce_any"))
reduce_all = _reducer(_ALL, "Logical and over `axis`.", api=("math.reduce_all", "reduce_all"))


@tf_export("math.reduce_logsumexp", "reduce_logsumexp")
def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    """log(sum(exp(x))) computed stably (shifted by the max, which gets no gradient)."""
    from tapeflow.ops import array_ops, math_ops
    x = as_input(input_tensor)
    m = array_ops.stop_gradient(reduce_max(x, axis=axis, keepdims=True))
    m = math_ops.where(math_ops.is_finite(m), m, array_ops.zeros_like(m))
    out = math_ops.log(reduce_sum(math_ops.exp(x - m), axis=axis, keepdims=True)) + m
    ax = _norm_axis("Logsumexp", x, axis)
    if not keepdims and ax != ():
        out = array_ops.squeeze(out, axis=list(ax) if ax is not None else None)
    return out


@tf_export("math.reduce_euclidean_norm")
def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """sqrt(sum(x**2)) over `axis`."""
    from tapeflow.ops import math_ops
    x = as_input(input_tensor)
    if x.dtype.is_integer:       # TF: the integer norm, truncated
        y = math_ops.cast(x, dtypes.float64)
        return math_ops.cast(math_ops.sqrt(reduce_sum(y * y, axis=axis, keepdims=keepdims)),
                             x.dtype)
    return math_ops.sqrt(reduce_sum(x * x, axis=axis, keepdims=keepdims))


@tf_export("math.reduce_variance")
def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    from tapeflow.ops import math_ops
    x = as_input(input_tensor)
    if not (x.dtype.is_floating or x.dtype.is_complex):
        raise TypeError(f"Input must be either real or complex. Received integer type "
                        f"{x.dtype!r}.")
    mean = reduce_mean(x, axis=axis, keepdims=True)
    return reduce_mean(math_ops.square(x - mean), axis=axis, keepdims=keepdims)


@tf_export("math.reduce_std")
def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    from tapeflow.ops import math_ops
    return math_ops.sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def _arg_shape(inputs, attrs):
    x = inputs[0]
    return [(_reduced_shape(x.shape, (attrs["axis"],), False), dtypes.from_numpy(attrs["out"]))]


def _check_arg_rank(op_name, x, axis):
    if x.shape.rank == 0:
        raise errors.op_error(op_name, f"Expected dimension in the range [0, 0), but got "
                              f"{0 if axis is None else axis}")


def _argmax_kernel(x, axis, out):
    return np.argmax(x, axis=axis).astype(out)


def _argmin_kernel(x, axis, out):
    return np.argmin(x, axis=axis).astype(out)


_ARGMAX = OpDef("ArgMax", _argmax_kernel, NO_GRADIENT, shape_fn=_arg_shape)
_ARGMIN = OpDef("ArgMin", _argmin_kernel, NO_GRADIENT, shape_fn=_arg_shape)


@tf_export("math.argmax", "argmax")
def argmax(input, axis=None, output_type=dtypes.int64, name=None):  # noqa: A002
    """Index of the largest value along `axis` (default 0), as int64; ties: the first.

    Example:
        >>> import tapeflow as tf
        >>> tf.argmax([[1, 5, 5], [7, 0, 2]], axis=1).numpy()
        array([1, 0])
    """
    x = as_input(input)
    _check_arg_rank("ArgMax", x, axis)
    ax = _norm_axis("ArgMax", x, 0 if axis is None else axis)[0]
    return execute(_ARGMAX, (x,), {"axis": ax, "out": dtypes.as_dtype(output_type)._np})


@tf_export("math.argmin", "argmin")
def argmin(input, axis=None, output_type=dtypes.int64, name=None):  # noqa: A002
    """Index of the smallest value along `axis` (default 0), as int64; ties: the first."""
    x = as_input(input)
    _check_arg_rank("ArgMin", x, axis)
    ax = _norm_axis("ArgMin", x, 0 if axis is None else axis)[0]
    return execute(_ARGMIN, (x,), {"axis": ax, "out": dtypes.as_dtype(output_type)._np})


@tf_export("math.count_nonzero")
def count_nonzero(input, axis=None, keepdims=False, dtype=dtypes.int64, name=None):  # noqa: A002
    from tapeflow.ops import array_ops, math_ops
    x = as_input(input)
    nz = math_ops.not_equal(x, array_ops.zeros_like(x))
    return reduce_sum(math_ops.cast(nz, dtype), axis=axis, keepdims=keepdims)
