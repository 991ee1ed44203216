"""Creating and reshaping tensors: constant, reshape, transpose, concat, stack,
split, tile, pad, gather, one_hot, slicing (`t[...]`), shape/size/rank, fills.
"""
from __future__ import annotations

import builtins

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import (NO_GRADIENT, TRANSPARENT, OpDef, as_input, convert_to_tensor,
                                   execute)
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import _checks
from tapeflow.ops._shapes import same_as_first

_pyrange = builtins.range   # `range` and `slice` below are tf.range and tf.slice
_pyslice = builtins.slice


def _is_sym(x) -> bool:
    return getattr(x, "_is_symbolic", False)


def _static_shape_list(shape):
    """A shape argument as a list of ints/None, or None when it is a symbolic tensor.

    Raises TypeError for non-integer sizes (`[2.5]`, a float tensor), as TF does.
    """
    if isinstance(shape, TensorShape):
        return shape.as_list()
    if isinstance(shape, Tensor) and not shape._is_symbolic:
        _checks.shape_dims(shape._value)
        return [int(d) for d in np.atleast_1d(shape._value).tolist()]
    if isinstance(shape, (int, np.integer)):
        return [int(shape)]
    _checks.shape_dims(shape)
    if isinstance(shape, (list, tuple)):
        out = []
        for d in shape:
            if _is_sym(d):
                return None
            if isinstance(d, Tensor):
                _checks.shape_dims(d._value)
            out.append(None if d is None else int(d))
        return out
    if isinstance(shape, np.ndarray):
        return [int(d) for d in shape.tolist()]
    return None


# -- constants and fills ------------------------------------------------------

@tf_export("constant")
def constant(value, dtype=None, shape=None, name=None):
    """`tf.constant`: a tensor from a Python/NumPy value (optionally broadcast to `shape`).

    Example:
        >>> import tapeflow as tf
        >>> tf.constant(3.0)
        <tf.Tensor: shape=(), dtype=float32, numpy=3.0>
    """
    if isinstance(value, Tensor) and not value._is_symbolic:
        t = value if dtype is None else Tensor(value._value.astype(dtypes.as_dtype(dtype)._np))
    elif getattr(value, "_is_variable", False):
        v = value.numpy()
        t = Tensor(v if dtype is None else v.astype(dtypes.as_dtype(dtype)._np))
    else:
        t = convert_to_tensor(value, dtype)
    if shape is not None:
        dims = _static_shape_list(shape)
        v = np.asarray(t._value)
        if v.size == int(np.prod(dims)):
            v = v.reshape(dims)
        elif v.size == 1:
            v = np.broadcast_to(v.reshape(()), dims).copy()
        else:
            raise TypeError(f"Eager execution of tf.constant with unsupported shape. Tensor "
                            f"{value!r} (converted from {v.shape}) has {v.size} elements, but "
                            f"got `shape` {tuple(dims)} with {int(np.prod(dims))} elements).")
        t = Tensor(v)
    return t


def _fill_kernel(shape, value):
    dims = tuple(int(d) for d in np.atleast_1d(shape))
    _checks.check_non_negative_dims("Fill", dims)
    return np.full(dims, value, dtype=np.asarray(value).dtype)


def _fill_shape(inputs, attrs):
    shape, value = inputs
    if not shape._is_symbolic:
        return [(TensorShape(np.atleast_1d(shape._value).tolist()), value.dtype)]
    n = shape.shape[0] if shape.shape.rank else None
    return [(TensorShape(None if n is None else [None] * n), value.dtype)]


_FILL = OpDef("Fill", _fill_kernel,
              lambda inputs, outputs, attrs, dy: (None, reduce_sum_all(dy)),
              shape_fn=_fill_shape, grad_uses_outputs=False)


def reduce_sum_all(x):
    from tapeflow.ops import reduce_ops
    return reduce_ops.reduce_sum(x)


def _shape_input(shape):
    if not _is_sym(shape):
        _checks.shape_dims(shape._value if isinstance(shape, Tensor) else shape)
    if isinstance(shape, Tensor):
        return shape if shape.dtype.is_integer else convert_to_tensor(shape._value.astype(np.int32))
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if isinstance(shape, (list, tuple)) and any(_is_sym(d) for d in shape):
        return stack([cast_int(d) for d in shape])
    return Tensor(np.asarray(shape if not isinstance(shape, (int, np.integer)) else [shape],
                             dtype=np.int32).reshape(-1))


def cast_int(d):
    from tapeflow.ops import math_ops
    if _is_sym(d):
        return math_ops.cast(d, dtypes.int32) if d.dtype is not dtypes.int32 else d
    return Tensor(np.int32(d))


@tf_export("fill")
def fill(dims, value, name=None):
    """A tensor of shape `dims` filled with `value` (its dtype is the value's).

    Example:
        >>> import tapeflow as tf
        >>> tf.fill([2, 2], 7).numpy()
        array([[7, 7],
               [7, 7]], dtype=int32)
    """
    return execute(_FILL, (_shape_input(dims), as_input(value)))


@tf_export("zeros")
def zeros(shape, dtype=dtypes.float32, name=None):
    """A tensor of zeros of `shape` (default float32).

    Example:
        >>> import tapeflow as tf
        >>> print(tf.zeros(2, dtype=tf.int32))
        tf.Tensor([0 0], shape=(2,), dtype=int32)
    """
    dtype = dtypes.as_dtype(dtype)
    dims = _static_shape_list(shape)
    if dims is not None and None not in dims:
        _checks.check_non_negative_dims("Fill", dims)
        return Tensor(np.zeros(dims, dtype=dtype._np))
    return fill(shape, Tensor(dtype._np.type(0)))


@tf_export("ones")
def ones(shape, dtype=dtypes.float32, name=None):
    """A tensor of ones of `shape` (default float32)."""
    dtype = dtypes.as_dtype(dtype)
    dims = _static_shape_list(shape)
    if dims is not None and None not in dims:
        _checks.check_non_negative_dims("Fill", dims)
        return Tensor(np.ones(dims, dtype=dtype._np))
    return fill(shape, Tensor(dtype._np.type(1)))


def _like_shape(dtype_attr="dtype"):
    def rule(inputs, attrs):
        x = inputs[0]
        d = attrs.get(dtype_attr)
        return [(x.shape, dtypes.from_numpy(np.dtype(d)) if d is not None else x.dtype)]
    return rule


_ZEROS_LIKE = OpDef("ZerosLike", lambda x, dtype=None: np.zeros_like(x, dtype=dtype),
                    NO_GRADIENT, shape_fn=_like_shape(), shape_only=True)
_ONES_LIKE = OpDef("OnesLike", lambda x, dtype=None: np.ones_like(x, dtype=dtype),
                   NO_GRADIENT, shape_fn=_like_shape(), shape_only=True)
_NO_DTYPE: dict = {}


@tf_export("zeros_like")
def zeros_like(input, dtype=None, name=None):  # noqa: A002
    x = as_input(input)
    return execute(_ZEROS_LIKE, (x,), {"dtype": dtypes.as_dtype(dtype)._np} if dtype else _NO_DTYPE)


@tf_export("ones_like")
def ones_like(input, dtype=None, name=None):  # noqa: A002
    x = as_input(input)
    return execute(_ONES_LIKE, (x,), {"dtype": dtypes.as_dtype(dtype)._np} if dtype else _NO_DTYPE)


@tf_export("eye", "linalg.eye")
def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None):
    m = np.eye(num_rows, num_columns, dtype=dtypes.as_dtype(dtype)._np)
    if batch_shape:
        m = np.broadcast_to(m, tuple(batch_shape) + m.shape).copy()
    return Tensor(m)


@tf_export("range")
def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """`tf.range`: like Python's range; int32 for ints, float32 if any bound is a float.

    Example:
        >>> import tapeflow as tf
        >>> tf.range(1, 7, 2).numpy(), tf.range(0.0, 1.0, 0.5).numpy()
        (array([1, 3, 5], dtype=int32), array([0. , 0.5], dtype=float32))
    """
    if any(getattr(v, "_is_symbolic", False) for v in (start, limit, delta)):
        from tapeflow.ops.range_ops import traced_range
        return traced_range(start, limit, delta, dtype)
    vals = [v._value.item() if isinstance(v, Tensor) else v for v in (start, limit, delta)]
    start, limit, delta = vals
    if limit is None:
        start, limit = 0, start
    if delta == 0:
        raise errors.op_error("Range", f"Requires delta != 0: {delta}")
    if (delta > 0 and start > limit) or (delta < 0 and start < limit):
        raise errors.op_error("Range", f"Requires start {'<=' if delta > 0 else '>='} limit "
                              f"when delta {'>' if delta > 0 else '<'} 0: {start}/{limit}")
    if dtype is None:
        dtype = dtypes.float32 if any(isinstance(v, float) for v in (start, limit, delta)) \
            else dtypes.int32
    return Tensor(np.arange(start, limit, delta, dtype=dtypes.as_dtype(dtype)._np))


@tf_export("linspace")
def linspace(start, stop, num, name=None, axis=0):
    return Tensor(np.linspace(float(start), float(stop), int(num), dtype=np.float32))


# -- identity, stop_gradient --------------------------------------------------

_IDENTITY = OpDef("Identity", lambda x: x, lambda inputs, outputs, attrs, dy: (dy,),
                  shape_fn=same_as_first, aliases=True, grad_uses_outputs=False,
                  batch_rule=TRANSPARENT)
_STOP = OpDef("StopGradient", lambda x: x, NO_GRADIENT, shape_fn=same_as_first, aliases=True)


@tf_export("identity")
def identity(input, name=None):  # noqa: A002
    return execute(_IDENTITY, (as_input(input),))


@tf_export("stop_gradient")
def stop_gradient(input, name=None):  # noqa: A002
    """The same value, but tapes see no connection through it."""
    return execute(_STOP, (as_input(input),))


# -- shape queries --------------------------------------------------------------

def _shape_kernel(x, out):
    return np.asarray(np.shape(x), dtype=out)


_SHAPE = OpDef("Shape", _shape_kernel, NO_GRADIENT,
               shape_fn=lambda i, a: [(TensorShape([i[0].shape.rank]),
                                       dtypes.from_numpy(a["out"]))], shape_only=True)


@tf_export("shape")
def shape(input, out_type=dtypes.int32, name=None):  # noqa: A002
    """The shape of `input` as an int32 tensor (known at trace time when fully defined)."""
    x = as_input(input)
    out = dtypes.as_dtype(out_type)._np
    if not _is_sym(x) or x.shape.is_fully_defined():
        return Tensor(np.asarray(x.shape.as_list(), dtype=out))
    return execute(_SHAPE, (x,), {"out": out})


@tf_export("shape_n")
def shape_n(inputs, out_type=dtypes.int32, name=None):
    return [shape(x, out_type) for x in inputs]


_RANK = OpDef("Rank", lambda x: np.int32(np.ndim(x)), NO_GRADIENT,
              shape_fn=lambda i, a: [(TensorShape([]), dtypes.int32)], shape_only=True)


@tf_export("rank")
def rank(input, name=None):  # noqa: A002
    """The number of dimensions of `input` (an op only while its rank is unknown)."""
    x = as_input(input)
    if x.shape.rank is None:
        return execute(_RANK, (x,))
    return Tensor(np.int32(x.shape.rank))


@tf_export("size")
def size(input, out_type=dtypes.int32, name=None):  # noqa: A002
    x = as_input(input)
    n = x.shape.num_elements()
    if n is not None:
        return Tensor(dtypes.as_dtype(out_type)._np.type(n))
    from tapeflow.ops import reduce_ops
    return reduce_ops.reduce_prod(shape(x, out_type))


# -- reshape family ---------------------------------------------------------------

def _reshape_grad(inputs, outputs, attrs, dy):
    return (reshape(dy, shape(inputs[0])),) + (None,) * (len(inputs) - 1)


def _batch_reshape(inputs, outputs, attrs, dy, batch):
    # Any reshape's gradient: dy back to x's shape, behind the batch axis.
    g = reshape(dy, [batch] + list(inputs[0]._value.shape))
    return (g,) + (None,) * (len(inputs) - 1)


def _reshape_kernel(x, shape_input=None, shape=None):
    # The target shape is the `shape` attribute, or, when known only at run time, the
    # op's second input (an int array).
    if shape is None:
        shape = tuple(int(d) for d in shape_input)
    return np.reshape(x, shape)


def _reshape_shape(inputs, attrs):
    if len(inputs) == 2:
        return _reshape_dyn_shape(inputs, attrs)
    x = inputs[0]
    dims = list(attrs["shape"])
    if x.shape.is_fully_defined():
        dims = _checks.reshape_dims(dims, x.shape.as_list())
    elif -1 in dims:
        dims[dims.index(-1)] = None
    return [(TensorShape(dims), x.dtype)]


def shape_tensor_dims(s):
    """What is known, while tracing, of the shape held by the 1-D int tensor `s`: a list
    with None for sizes known only at run time, or None when even the rank is unknown.

    As TF's partial shape inference: `tf.shape(x)` gives x's static dims, and a shape
    stacked from scalars (`[tf.shape(x)[0], 12]`) keeps its constant sizes.
    """
    if not s._is_symbolic:
        return [int(d) for d in np.atleast_1d(s._value)]
    n = s.shape[0] if s.shape.rank else None
    if n is None:
        return None
    dims = [None] * n
    node = s.node
    if node is not None and node.op is _SHAPE and node.inputs[0].shape.rank == n:
        return node.inputs[0].shape.as_list()
    if node is not None and node.op is _STACK and len(node.inputs) == n:
        for i, d in enumerate(node.inputs):
            if not d._is_symbolic and np.ndim(d._value) == 0 and int(d._value) >= 0:
                dims[i] = int(d._value)
    return dims


def _reshape_dyn_shape(inputs, attrs):
    x, s = inputs
    return [(TensorShape(shape_tensor_dims(s)), x.dtype)]


_RESHAPE = OpDef("Reshape", _reshape_kernel, _reshape_grad, shape_fn=_reshape_shape, aliases=True,
                 grad_uses_outputs=False, batch_rule=_batch_reshape, fuse={"reshape": True})


@tf_export("reshape")
def reshape(tensor, shape, name=None):
    """Same values, new shape (one dim may be -1).

    Example:
        >>> import tapeflow as tf
        >>> tf.reshape(tf.range(6), [2, -1]).shape
        TensorShape([2, 3])
    """
    x = as_input(tensor)
    try:
        dims = _static_shape_list(shape)
    except TypeError:
        raise errors.op_error("Reshape", f"Value for attr 'Tshape' of float is not in the list "
                              f"of allowed values: int32, int64 (shape {shape!r})") from None
    if dims is None or None in dims:
        return execute(_RESHAPE, (x, _shape_input(shape)))
    if dims.count(-1) > 1:
        raise errors.op_error("Reshape", f"only one input size may be -1, not both; shape={dims}")
    if not _is_sym(x):
        dims = _checks.reshape_dims(dims, x._value.shape)
    return execute(_RESHAPE, (x,), {"shape": tuple(dims)})


@tf_export("expand_dims")
def expand_dims(input, axis, name=None):  # noqa: A002
    """Inserts a dimension of size 1 at `axis` (negative counts from the end).

    Example:
        >>> import tapeflow as tf
        >>> tf.expand_dims(tf.ones((2, 3)), -1).shape
        TensorShape([2, 3, 1])
    """
    x = as_input(input)
    r = x.shape.rank
    axis = int(axis)
    if r is None:               # traced with an unknown rank: the kernel places the axis
        return execute(_EXPAND, (x,), {"axis": axis})
    if not -r - 1 <= axis <= r:
        raise errors.op_error("ExpandDims", f"Tried to expand dim index {axis} for tensor with "
                              f"{r} dimensions.")
    axis = axis % (r + 1)
    dims = x.shape.as_list()
    dims.insert(axis, 1)
    if None in dims:
        return execute(_EXPAND, (x,), {"axis": axis})
    return reshape(x, dims)


_EXPAND = OpDef("ExpandDims", lambda x, axis: np.expand_dims(x, axis), _reshape_grad,
                shape_fn=lambda i, a: [(TensorShape(
                    i[0].shape.as_list()[:a["axis"]] + [1] + i[0].shape.as_list()[a["axis"]:]),
                    i[0].dtype)], aliases=True, grad_uses_outputs=False,
                batch_rule=_batch_reshape)


def _squeeze_kernel(x, axis):
    # axis None: every size-1 dim (the rank or a dim was unknown when tracing); axes
    # given while the rank was unknown may be negative and repeat one another here.
    if axis is not None and axis and min(axis) < 0:
        axis = tuple(sorted({a + x.ndim if a < 0 else a for a in axis}))
    return np.squeeze(x, axis=axis)


def _squeeze_shape(inputs, attrs):
    x, axis = inputs[0], attrs["axis"]
    if axis is None or x.shape.rank is None:
        return [(TensorShape(None), x.dtype)]
    return [(TensorShape([d for k, d in enumerate(x.shape.as_list()) if k not in axis]),
             x.dtype)]


_SQUEEZE = OpDef("Squeeze", _squeeze_kernel, _reshape_grad, shape_fn=_squeeze_shape,
                 aliases=True, grad_uses_outputs=False, batch_rule=_batch_reshape)


@tf_export("squeeze")
def squeeze(input, axis=None, name=None):  # noqa: A002
    """Removes dimensions of size 1 (all of them, or those in `axis`).

    Example:
        >>> import tapeflow as tf
        >>> tf.squeeze(tf.ones((1, 2, 1))).shape
        TensorShape([2])
    """
    x = as_input(input)
    r = x.shape.rank
    if axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) == 0:
        axis = None              # TF: an empty list squeezes every size-1 axis
    if axis is None:
        if r is None or not x.shape.is_fully_defined():
            # Which dims are 1 is known only at run time: the kernel finds them.
            return execute(_SQUEEZE, (x,), {"axis": None})
        ax = tuple(i for i, d in enumerate(x.shape.as_list()) if d == 1)
    else:
        ax = tuple(sorted({     # a repeated axis counts once (as TF)
            _checks.normalize_axis("Squeeze", a, r, "Tried to squeeze dim index {axis} "
                                   f"for tensor with {r} dimensions.")
            for a in ([axis] if isinstance(axis, (int, np.integer)) else axis)}))
        dims = x.shape.as_list() if r is not None else []   # rank unknown: the kernel checks
        for a in ax[:len(dims)]:
            if dims[a] is not None and dims[a] != 1:
                raise errors.op_error("Squeeze", f"Can not squeeze dim[{a}], expected a dimension "
                                      f"of 1, got {dims[a]} (shape {x.shape})")
    return execute(_SQUEEZE, (x,), {"axis": ax})


def _transpose_grad(inputs, outputs, attrs, dy):
    perm = attrs["perm"]
    if perm is None:             # reversing the dims undoes itself
        return (transpose(dy),)
    return (transpose(dy, np.argsort(perm).tolist()),)


def _batch_transpose(inputs, outputs, attrs, dy, batch):
    inv = np.argsort(attrs["perm"]).tolist()
    return (transpose(dy, [0] + [p + 1 for p in inv]),)


def _transpose_shape(inputs, attrs):
    x, perm = inputs[0], attrs["perm"]
    if x.shape.rank is None:
        return [(TensorShape(None if perm is None else [None] * len(perm)), x.dtype)]
    dims = x.shape.as_list()
    if perm is None:
        return [(TensorShape(dims[::-1]), x.dtype)]
    return [(TensorShape([dims[p] for p in perm]), x.dtype)]


def _transpose_kernel(x, perm):
    if perm is not None and len(perm) != x.ndim:
        raise ValueError(f"transpose expects a vector of size {x.ndim}. But input(1) is a "
                         f"vector of size {len(perm)}")
    return np.transpose(x, perm)


# perm None (only while the rank is unknown when tracing): the dims reversed.
_TRANSPOSE = OpDef("Transpose", _transpose_kernel, _transpose_grad,
                   shape_fn=_transpose_shape, aliases=True, grad_uses_outputs=False,
                   batch_rule=_batch_transpose,
                   batch_when=lambda inputs, attrs: attrs["perm"] is not None)


@tf_export("transpose")
def transpose(a, perm=None, conjugate=False, name="transpose"):
    """Permutes dimensions (reverses them by default).

    Example:
        >>> import tapeflow as tf
        >>> tf.transpose(tf.ones((2, 3, 4)), [2, 0, 1]).shape
        TensorShape([4, 2, 3])
    """
    x = as_input(a)
    r = x.shape.rank
    if perm is None:
        if r is None:            # the kernel reverses however many dims there are
            return execute(_TRANSPOSE, (x,), {"perm": None})
        perm = list(_pyrange(r))[::-1]
    else:
        raw = [int(p) for p in (perm._value.tolist() if isinstance(perm, Tensor) else perm)]
        n = len(raw) if r is None else r     # an unknown rank: the perm's length says it
        perm = [p % n if -n <= p < n else p for p in raw] if n else raw
        if sorted(perm) != list(_pyrange(n)):
            raise errors.op_error("Transpose", f"perm {raw} is not a permutation of the "
                                  f"{n} dimensions of a tensor of shape {x.shape}")
    return execute(_TRANSPOSE, (x,), {"perm": tuple(perm)})


def _broadcast_to_kernel(x, shape):
    return np.broadcast_to(x, tuple(int(d) for d in shape))


def _broadcast_to_shape(inputs, attrs):
    x, s = inputs
    if not s._is_symbolic:
        return [(TensorShape(s._value.tolist()), x.dtype)]
    n = s.shape[0]
    return [(TensorShape([None] * n if n is not None else None), x.dtype)]


# The gradient is dy itself: the engine sums it back to the input's shape.
_BROADCAST_TO = OpDef("BroadcastTo", _broadcast_to_kernel,
                      lambda inputs, outputs, attrs, dy: (dy, None),
                      shape_fn=_broadcast_to_shape, aliases=True, grad_uses_outputs=False,
                      batch_rule=TRANSPARENT)


@tf_export("broadcast_to")
def broadcast_to(input, shape, name=None):  # noqa: A002
    x = as_input(input)
    s = _shape_input(shape)
    if not _is_sym(x) and not _is_sym(s) and tuple(x._value.shape) == tuple(s._value.tolist()):
        return x if isinstance(x, Tensor) else identity(x)
    return execute(_BROADCAST_TO, (x, s))


# Joining and splitting live in join_ops; their public names are part of array_ops too.
from tapeflow.ops.join_ops import (  # noqa: E402,F401
    _STACK, concat, pad, split, stack, tile, unstack)


# Indexing lives in indexing_ops; its public names are part of array_ops too.
from tapeflow.ops.indexing_ops import (  # noqa: E402,F401
    boolean_mask, gather, gather_nd, getitem, one_hot, reverse, slice, where_indices)
