"""Indexing: `t[...]` (strided slices), tf.slice, gather, gather_nd, one_hot,
boolean_mask, reverse and where's index form. Split out of array_ops (which
re-exports every public name here), each op with its kernel and gradient.
"""
from __future__ import annotations

import builtins

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import dynamic_index

_pyrange = builtins.range   # `slice` below is tf.slice
_pyslice = builtins.slice


def _is_sym(x) -> bool:
    return getattr(x, "_is_symbolic", False)


def _normalize_key(key):
    """A __getitem__ key with tensors replaced by ints (symbolic ones are not supported)."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor) or getattr(k, "_is_variable", False):
            if _is_sym(k):
                raise TypeError("Indexing with a symbolic tensor is not supported while tracing; "
                                "use tf.gather.")
            v = np.asarray(k._value)
            if v.ndim == 0:
                k = int(v)
            else:
                raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis "
                                "(`None`) and scalar int32/int64 tensors are valid indices, got "
                                f"a tensor of shape {v.shape}.")
        elif isinstance(k, _pyslice):
            k = _pyslice(*(int(v._value) if isinstance(v, Tensor) else v
                        for v in (k.start, k.stop, k.step)))
        elif isinstance(k, (list, np.ndarray)):
            raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) "
                            f"and scalar int32/int64 tensors are valid indices, got {k!r}. Use "
                            "tf.gather for lists of indices.")
        elif isinstance(k, np.integer):
            k = int(k)
        out.append(k)
    return tuple(out)


def _slice_grad_kernel(x, dy, key):
    g = np.zeros(np.shape(x), dtype=dy.dtype)
    g[key] = dy
    return g


def _getitem_shape(inputs, attrs):
    x = inputs[0]
    dims = x.shape.as_list()
    probe = np.empty([6 if d is None else d for d in dims], dtype=np.bool_)
    probe2 = np.empty([12 if d is None else d for d in dims], dtype=np.bool_)
    a, b = probe[attrs["key"]].shape, probe2[attrs["key"]].shape
    return [(TensorShape([p if p == q else None for p, q in zip(a, b)]), x.dtype)]


_SLICE = OpDef("StridedSlice", lambda x, key: x[key],
               lambda x, y, a, dy: (execute(_SLICE_GRAD, (x[0], dy), a),),
               shape_fn=_getitem_shape, aliases=True)
_SLICE_GRAD = OpDef("StridedSliceGrad", _slice_grad_kernel,
                    lambda x, y, a, dy: (None, getitem(dy, a["key"])),
                    shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)])


def getitem(tensor, key):
    """`tensor[key]`: ints, slices, `...` and `tf.newaxis`, as TF's strided slice."""
    x = as_input(tensor)
    if dynamic_index.has_symbolic_index(key):
        return dynamic_index.symbolic_getitem(x, key)
    key = _normalize_key(key)
    if not _is_sym(x):
        try:
            x._value[key]
        except IndexError as e:
            raise errors.op_error("StridedSlice", f"{e}; the tensor has shape "
                                  f"{tuple(x._value.shape)}") from None
    return execute(_SLICE, (x,), {"key": key})


def slice(input_, begin, size, name=None):  # noqa: A001
    """`tf.slice`: the block starting at `begin` with extent `size` (-1: to the end)."""
    x = as_input(input_)
    b = [int(v) for v in (begin._value.tolist() if isinstance(begin, Tensor) else begin)]
    s = [int(v) for v in (size._value.tolist() if isinstance(size, Tensor) else size)]
    key = tuple(_pyslice(bi, None if si == -1 else bi + si) for bi, si in zip(b, s))
    return getitem(x, key)


def _gather_kernel(params, indices, axis, batch_dims):
    if batch_dims == 0:
        n = params.shape[axis]
        if indices.size and (indices.max() >= n or indices.min() < 0):
            # TF's CPU kernel rejects negative indices too (no wrap-around).
            pos = np.argwhere((indices >= n) | (indices < 0))[0]
            where = ",".join(str(int(p)) for p in pos)
            raise IndexError(f"indices[{where}] = {indices[tuple(pos)]} is not in [0, {n})")
        return np.take(params, indices, axis=axis)
    # batch_dims > 0: gather per leading batch index.
    out = [_gather_kernel(p, i, axis - batch_dims, batch_dims - 1) for p, i in zip(params, indices)]
    return np.stack(out)


def _gather_grad_kernel(params, indices, dy, axis, batch_dims):
    g = np.zeros(np.shape(params), dtype=dy.dtype)
    if batch_dims == 0:
        gm = np.moveaxis(g, axis, 0)
        dym = np.moveaxis(dy.reshape(params.shape[:axis] + indices.shape + params.shape[axis + 1:]),
                          list(_pyrange(axis, axis + indices.ndim)),
                          list(_pyrange(indices.ndim)))
        np.add.at(gm, indices, dym)
        return g
    for b in _pyrange(params.shape[0]):
        g[b] = _gather_grad_kernel(params[b], indices[b], dy[b], axis - 1, batch_dims - 1)
    return g


_GATHER_GRAD = OpDef("GatherGrad", _gather_grad_kernel,
                     lambda x, y, a, dy: (None, None, execute(_GATHER, (dy, x[1]), a)),
                     shape_fn=lambda i, a: [(i[0].shape, i[2].dtype)])
_GATHER = OpDef("GatherV2", _gather_kernel,
                lambda x, y, a, dy: (execute(_GATHER_GRAD, (x[0], x[1], dy), a), None),
                shape_fn=lambda i, a: [(TensorShape(
                    i[0].shape.as_list()[:a["axis"]] + i[1].shape.as_list()[a["batch_dims"]:]
                    + i[0].shape.as_list()[a["axis"] + 1:]), i[0].dtype)])


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """Picks slices of `params` along `axis` at `indices` (an int tensor of any shape)."""
    p = as_input(params)
    i = as_input(indices)
    if not i.dtype.is_integer:
        raise TypeError(f"tf.gather: indices must be int32 or int64; got {i.dtype.name}.")
    axis = batch_dims if axis is None else int(axis) % p.shape.rank
    return execute(_GATHER, (p, i), {"axis": axis, "batch_dims": int(batch_dims)})


def _gather_nd_kernel(params, indices):
    idx = tuple(np.moveaxis(indices, -1, 0))
    return params[idx]


def _gather_nd_grad_kernel(params, indices, dy):
    g = np.zeros(np.shape(params), dtype=dy.dtype)
    np.add.at(g, tuple(np.moveaxis(indices, -1, 0)), dy)
    return g


_GATHER_ND_GRAD = OpDef("GatherNdGrad", _gather_nd_grad_kernel,
                        lambda x, y, a, dy: (None, None, gather_nd(dy, x[1])),
                        shape_fn=lambda i, a: [(i[0].shape, i[2].dtype)])
_GATHER_ND = OpDef("GatherNd", _gather_nd_kernel,
                   lambda x, y, a, dy: (execute(_GATHER_ND_GRAD, (x[0], x[1], dy)), None))


def gather_nd(params, indices, batch_dims=0, name=None):
    return execute(_GATHER_ND, (as_input(params), as_input(indices)))


def _one_hot_kernel(indices, depth, on_value, off_value, axis, dtype):
    eye = np.arange(depth)
    hot = np.expand_dims(indices, -1) == eye
    out = np.where(hot, np.asarray(on_value, dtype), np.asarray(off_value, dtype)).astype(dtype)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return out


_ONE_HOT = OpDef("OneHot", _one_hot_kernel, NO_GRADIENT,
                 shape_fn=lambda i, a: [(TensorShape(
                     _insert(i[0].shape.as_list(), a["axis"], a["depth"])),
                     dtypes.from_numpy(np.dtype(a["dtype"])))])


def _insert(dims, axis, v):
    dims = list(dims)
    dims.insert(len(dims) if axis == -1 else axis, v)
    return dims


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot vectors of length `depth` (out-of-range indices give all `off_value`)."""
    i = as_input(indices)
    if not i.dtype.is_integer:
        raise TypeError(f"tf.one_hot: indices must be uint8, int32 or int64 class indices; got "
                        f"{i.dtype.name}.")
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.float32
    return execute(_ONE_HOT, (i,), {
        "depth": int(depth), "on_value": 1 if on_value is None else on_value,
        "off_value": 0 if off_value is None else off_value,
        "axis": -1 if axis is None else int(axis), "dtype": dtype._np})


_WHERE_INDICES = OpDef("Where", lambda c: np.argwhere(c).astype(np.int64), NO_GRADIENT,
                       shape_fn=lambda i, a: [(TensorShape([None, i[0].shape.rank]),
                                               dtypes.int64)], stateful=False)


def where_indices(condition):
    return execute(_WHERE_INDICES, (as_input(condition),))


def boolean_mask(tensor, mask, axis=None, name="boolean_mask"):
    """The elements (or slices) of `tensor` where `mask` is true, flattened over mask's dims."""
    x = as_input(tensor)
    m = as_input(mask)
    k = m.shape.rank
    idx = where_indices(m)
    if k == 1:
        from tapeflow.ops.array_ops import reshape
        return gather(x, reshape(idx, [-1]))
    return gather_nd(x, idx)


def reverse(tensor, axis, name=None):
    x = as_input(tensor)
    axes = [int(a) % x.shape.rank for a in axis]
    key = tuple(_pyslice(None, None, -1) if d in axes else _pyslice(None)
                for d in _pyrange(x.shape.rank))
    return getitem(x, key)


