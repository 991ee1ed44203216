"""Indexing: `t[...]` (strided slices), tf.slice, gather, gather_nd, one_hot,
boolean_mask, reverse and where's index form. Split out of array_ops (which
re-exports every public name here), each op with its kernel and gradient.
"""
from __future__ import annotations

import builtins

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import _checks, dynamic_index

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


def _batch_slice(inputs, outputs, attrs, dy, batch):
    # The same scatter, into zeros shaped like x behind the batch axis.
    xv = inputs[0]._value
    base = Tensor(np.broadcast_to(xv, (batch,) + xv.shape))   # only its shape is read
    return (execute(_SLICE_GRAD, (base, dy), {"key": (_pyslice(None),) + tuple(attrs["key"])}),)


def _batch_slice_grad(inputs, outputs, attrs, g, batch):
    # StridedSliceGrad(x, dy) scatters dy into zeros shaped like x: the adjoint slices g.
    return None, getitem(g, (_pyslice(None),) + tuple(attrs["key"]))


_SLICE = OpDef("StridedSlice", lambda x, key: x[key],
               lambda inputs, outputs, attrs, dy: (
                   execute(_SLICE_GRAD, (inputs[0], dy), attrs),),
               shape_fn=_getitem_shape, aliases=True, node_name="strided_slice",
               grad_uses_outputs=False, batch_rule=_batch_slice)
_SLICE_GRAD = OpDef("StridedSliceGrad", _slice_grad_kernel,
                    lambda inputs, outputs, attrs, g: (None, getitem(g, attrs["key"])),
                    shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)], grad_uses_outputs=False,
                    batch_rule=_batch_slice_grad)


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


@tf_export("slice")
def slice(input_, begin, size, name=None):  # noqa: A001
    """`tf.slice`: the block starting at `begin` with extent `size` (-1: to the end).

    Unlike Python slicing, a block reaching past the end is an error (as in TF),
    not a shorter block.
    """
    x = as_input(input_)
    b = [int(v) for v in np.atleast_1d(begin._value if isinstance(begin, Tensor) else begin)]
    s = [int(v) for v in np.atleast_1d(size._value if isinstance(size, Tensor) else size)]
    _check_slice(x.shape.as_list(), b, s)
    key = tuple(_pyslice(bi, None if si == -1 else bi + si) for bi, si in zip(b, s))
    return getitem(x, key)


def _check_slice(dims, begin, size):
    if len(begin) != len(dims) or len(size) != len(dims):
        raise errors.op_error("Slice", f"Expected begin and size arguments to be 1-D tensors of "
                              f"size {len(dims)}, but got shapes [{len(begin)}] and "
                              f"[{len(size)}] instead.")
    for k, (d, bk, sk) in enumerate(zip(dims, begin, size)):
        if d is None:
            continue
        if not 0 <= bk <= d:
            raise errors.op_error("Slice", f"Expected begin[{k}] in [0, {d}], but got {bk}")
        if sk != -1 and not 0 <= sk <= d - bk:
            raise errors.op_error("Slice", f"Expected size[{k}] in [0, {d - bk}], but got {sk}")


def _gather_kernel(params, indices, axis, batch_dims):
    if batch_dims == 0:
        n = params.shape[axis]
        shape = params.shape[:axis] + indices.shape + params.shape[axis + 1:]
        if 0 in shape:           # an empty result reads no index (TF checks none then)
            return np.zeros(shape, params.dtype)
        if (indices.max() >= n or indices.min() < 0):
            # TF's CPU kernel rejects negative indices too (no wrap-around).
            pos = np.argwhere((indices >= n) | (indices < 0))[0]
            where = ",".join(str(int(p)) for p in pos)
            raise IndexError(f"indices[{where}] = {indices[tuple(pos)]} is not in [0, {n})")
        return np.take(params, indices, axis=axis)
    # batch_dims > 0: gather per leading batch index.
    if params.shape[0] == 0:
        return np.zeros(params.shape[:axis] + indices.shape[batch_dims:]
                        + params.shape[axis + 1:], params.dtype)
    out = [_gather_kernel(p, i, axis - batch_dims, batch_dims - 1) for p, i in zip(params, indices)]
    return np.stack(out)


def _gather_checked_kernel(params, indices, axis, batch_dims):
    if axis < 0 or batch_dims < 0:     # a rank was unknown when tracing: resolved now
        axis, batch_dims = _gather_axes(list(params.shape), list(indices.shape), axis,
                                        batch_dims)
    return _gather_kernel(params, indices, axis, batch_dims)


def _gather_grad_checked_kernel(params, indices, dy, axis, batch_dims):
    if axis < 0 or batch_dims < 0:
        axis, batch_dims = _gather_axes(list(params.shape), list(indices.shape), axis,
                                        batch_dims)
    return _gather_grad_kernel(params, indices, dy, axis, batch_dims)


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


def _gather_grad_grad(inputs, outputs, attrs, g):
    # GatherGrad(params, indices, dy) scatters dy: linear in dy, whose adjoint gathers g.
    _, indices, _ = inputs
    return None, None, execute(_GATHER, (g, indices), attrs)


def _gather_grad(inputs, outputs, attrs, dy):
    params, indices = inputs
    return execute(_GATHER_GRAD, (params, indices, dy), attrs), None


_GATHER_GRAD = OpDef("GatherGrad", _gather_grad_checked_kernel, _gather_grad_grad,
                     shape_fn=lambda i, a: [(i[0].shape, i[2].dtype)], grad_uses_outputs=False)


def _gather_shape(inputs, attrs):
    p, i = inputs[0].shape, inputs[1].shape
    if p.rank is None or i.rank is None:
        return [(TensorShape(None), inputs[0].dtype)]
    axis, b = attrs["axis"], attrs["batch_dims"]
    p, i = p.as_list(), i.as_list()
    return [(TensorShape(p[:axis] + i[b:] + p[axis + 1:]), inputs[0].dtype)]


# A negative axis or batch_dims (a rank unknown when tracing) is resolved by the kernel.
_GATHER = OpDef("GatherV2", _gather_checked_kernel, _gather_grad, grad_uses_outputs=False,
                shape_fn=_gather_shape)


@tf_export("gather")
def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """Picks slices of `params` along `axis` at `indices` (an int tensor of any shape)."""
    p = as_input(params)
    i = as_input(indices)
    if not i.dtype.is_integer:
        raise TypeError(f"tf.gather: indices must be int32 or int64; got {i.dtype.name}.")
    if p.shape.rank is None or i.shape.rank is None:
        axis, batch_dims = _gather_axes_partial(p.shape, i.shape, axis, batch_dims)
    else:
        axis, batch_dims = _gather_axes(p.shape.as_list(), i.shape.as_list(), axis, batch_dims)
    return execute(_GATHER, (p, i), {"axis": axis, "batch_dims": batch_dims})


def _gather_axes_partial(p_shape, i_shape, axis, batch_dims):
    """(axis, batch_dims) when a rank is unknown: each normalized where its rank is known,
    checked as far as the known ranks allow; a negative one is left to the kernel."""
    b = 0 if axis is not None and int(axis) == 0 else int(batch_dims)
    ri = i_shape.rank
    if ri is not None:
        if not -ri <= b <= ri:
            raise errors.op_error("GatherV2", f"Expected batch_dims in the range [{-ri}, {ri}], "
                                  f"but got {b}")
    axis = b if axis is None else int(axis)
    b = b + ri if ri is not None and b < 0 else b
    rp = p_shape.rank
    if rp is not None:
        if rp == 0 or not -rp <= axis < rp:
            need = axis + 1 if axis >= 0 else -axis
            raise errors.op_error("GatherV2", f"Shape must be at least rank {max(need, 1)} but "
                                  f"is rank {rp}")
        axis = axis + rp if axis < 0 else axis
    if 0 <= axis < b:
        raise errors.op_error("GatherV2", f"batch_dims ({b}) must be less than or equal to "
                              f"axis ({axis}).")
    return axis, b


def _gather_axes(p_dims, i_dims, axis, batch_dims):
    """(axis, batch_dims) normalized and checked against the shapes, as TF's GatherV2."""
    rp, ri = len(p_dims), len(i_dims)
    # TF gathers along an explicit axis 0 as if batch_dims were 0 (unchecked).
    b = 0 if axis is not None and int(axis) == 0 else int(batch_dims)
    if not -ri <= b <= ri:
        raise errors.op_error("GatherV2", f"Expected batch_dims in the range [{-ri}, {ri}], but "
                              f"got {b}")
    if axis is None:           # TF: axis defaults to batch_dims as given (-1: the last)
        axis = b
    b = b + ri if b < 0 else b
    if rp == 0 or not -rp <= int(axis) < rp:
        need = int(axis) + 1 if int(axis) >= 0 else -int(axis)
        raise errors.op_error("GatherV2", f"Shape must be at least rank {max(need, 1)} but is "
                              f"rank {rp}")
    axis = _checks.normalize_axis("GatherV2", axis, rp)
    if b > axis:
        raise errors.op_error("GatherV2", f"batch_dims ({b}) must be less than or equal to "
                              f"axis ({axis}).")
    for k in _pyrange(b):
        if p_dims[k] is not None and i_dims[k] is not None and p_dims[k] != i_dims[k]:
            raise errors.op_error("GatherV2", f"params.shape[{k}]: {p_dims[k]} should be equal "
                                  f"to indices.shape[{k}]: {i_dims[k]}")
    return axis, b


def _gather_nd_kernel(params, indices):
    if indices.ndim == 0:
        raise ValueError(f"indices must be at least a vector; got a scalar {indices}")
    k = indices.shape[-1]
    if k > params.ndim:
        raise ValueError(f"index innermost dimension length must be <= params rank; saw: "
                         f"{k} vs. {params.ndim}")
    bad = (indices < 0) | (indices >= np.asarray(params.shape[:k], indices.dtype))
    if bad.any():                # no wrap-around for negative indices (as TF)
        pos = np.argwhere(bad.any(axis=-1))[0]
        raise IndexError(f"indices{list(pos)} = {indices[tuple(pos)].tolist()} does not index "
                         f"into param shape {list(params.shape)}")
    idx = tuple(np.moveaxis(indices, -1, 0))
    return params[idx]


def _gather_nd_grad_kernel(params, indices, dy):
    g = np.zeros(np.shape(params), dtype=dy.dtype)
    np.add.at(g, tuple(np.moveaxis(indices, -1, 0)), dy)
    return g


_GATHER_ND_GRAD = OpDef("GatherNdGrad", _gather_nd_grad_kernel,
                        lambda inputs, outputs, attrs, g: (None, None, gather_nd(g, inputs[1])),
                        shape_fn=lambda i, a: [(i[0].shape, i[2].dtype)], grad_uses_outputs=False)


def _gather_nd_grad(inputs, outputs, attrs, dy):
    params, indices = inputs
    return execute(_GATHER_ND_GRAD, (params, indices, dy)), None


_GATHER_ND = OpDef("GatherNd", _gather_nd_kernel, _gather_nd_grad, grad_uses_outputs=False)


@tf_export("gather_nd")
def gather_nd(params, indices, batch_dims=0, name=None):
    """Slices of `params` at the index vectors in the last axis of `indices`.

    With `batch_dims=b`, the first b axes of both are batch axes: each batch
    element's indices pick from that element's params (the result is
    `indices.shape[:-1] + params.shape[b + k:]`, k the index length).

    Example:
        >>> import tapeflow as tf
        >>> tf.gather_nd([[1, 2], [3, 4]], [[1], [0]], batch_dims=1).numpy()
        array([2, 3], dtype=int32)
    """
    p, i = as_input(params), as_input(indices)
    b = int(batch_dims)
    if b == 0:
        return execute(_GATHER_ND, (p, i))
    if b < 0:
        raise ValueError("tf.gather_nd does not allow negative batch_dims.")
    if b >= i.shape.rank:
        raise ValueError(f"Argument `batch_dims` = {b} must be less than rank(`indices`) = "
                         f"{i.shape.rank}")
    return _batched_gather_nd(p, i, b)


def _batched_gather_nd(p, i, b):
    """gather_nd with b batch axes, as one plain gather_nd over the batch flattened:
    each index vector gets its batch element's flat number prepended."""
    from tapeflow.ops import array_ops
    p_dims, i_dims = p.shape.as_list(), i.shape.as_list()
    if None in p_dims[:b] or None in i_dims:
        raise NotImplementedError("gather_nd with batch_dims needs the batch axes of params "
                                  "and the shape of indices known when tracing.")
    if b >= len(p_dims):
        raise ValueError(f"Argument `batch_dims` = {b} must be less than rank(`params`) = "
                         f"{len(p_dims)}")
    batch = int(np.prod(i_dims[:b]))
    if p_dims[:b] != i_dims[:b]:
        raise errors.op_error("GatherNd", f"batch dimensions of params {p_dims[:b]} and "
                              f"indices {i_dims[:b]} must be equal (batch_dims={b})")
    flat_p = array_ops.reshape(p, [batch] + p_dims[b:])
    inner = i_dims[b:-1]
    flat_i = array_ops.reshape(i, [batch, int(np.prod(inner)), i_dims[-1]])
    rows = np.broadcast_to(np.arange(batch, dtype=i.dtype._np)[:, None, None],
                           (batch, int(np.prod(inner)), 1))
    flat_i = array_ops.concat([Tensor(np.ascontiguousarray(rows)), flat_i], axis=-1)
    out = execute(_GATHER_ND, (flat_p, flat_i))
    return array_ops.reshape(out, i_dims[:-1] + p_dims[b + i_dims[-1]:])


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


@tf_export("one_hot")
def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot vectors of length `depth` (out-of-range indices give all `off_value`)."""
    i = as_input(indices)
    if not i.dtype.is_integer:
        raise TypeError(f"tf.one_hot: indices must be uint8, int32 or int64 class indices; got "
                        f"{i.dtype.name}.")
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.float32
    if int(depth) < 0:
        raise errors.op_error("OneHot", f"depth must be non-negative, got: {int(depth)}")
    r = i.shape.rank
    if axis is not None and int(axis) != -1 and not 0 <= int(axis) <= r:
        raise errors.op_error("OneHot", f"Expected axis to be -1 or between [0, {r + 1}). "
                              f"But received: {axis}")
    return execute(_ONE_HOT, (i,), {
        "depth": int(depth), "on_value": 1 if on_value is None else on_value,
        "off_value": 0 if off_value is None else off_value,
        "axis": -1 if axis is None else int(axis), "dtype": dtype._np})


_WHERE_INDICES = OpDef("Where", lambda c: np.argwhere(c).astype(np.int64), NO_GRADIENT,
                       shape_fn=lambda i, a: [(TensorShape([None, i[0].shape.rank]),
                                               dtypes.int64)], stateful=False)


def where_indices(condition):
    return execute(_WHERE_INDICES, (as_input(condition),))


@tf_export("boolean_mask")
def boolean_mask(tensor, mask, axis=None, name="boolean_mask"):
    """The elements (or slices) of `tensor` where `mask` is true, flattened over mask's dims."""
    from tapeflow.ops.array_ops import reshape
    x = as_input(tensor)
    m = as_input(mask)
    k = m.shape.rank
    if k == 0:
        raise ValueError("mask cannot be scalar.")
    axis = 0 if axis is None else int(axis)
    dims = x.shape.as_list()
    axis = axis + len(dims) if axis < 0 else axis
    part = TensorShape(dims[axis:axis + k])
    if len(dims[axis:axis + k]) != k or not part.is_compatible_with(m.shape):
        raise ValueError(f"Shapes {part} and {m.shape} are incompatible (boolean_mask: the mask "
                         f"must match the tensor's axes {axis} to {axis + k - 1})")
    idx = where_indices(m)
    if k == 1:
        return gather(x, reshape(idx, [-1]), axis=axis)
    if axis == 0:
        return gather_nd(x, idx)
    if None in dims:
        raise NotImplementedError("boolean_mask with a mask of rank > 1 and axis > 0 needs "
                                  "the tensor's shape known when tracing.")
    merged = reshape(x, dims[:axis] + [-1] + dims[axis + k:])
    return gather(merged, reshape(where_indices(reshape(m, [-1])), [-1]), axis=axis)


def _reverse_kernel(x, axis):
    # The axes as given (the rank was unknown when tracing): checked against x's rank here.
    axes = [_checks.normalize_axis("ReverseV2", a, x.ndim, f"'axis'[{k}] = {{axis}} is out of "
                                   "valid range [{lo}, {hi})") for k, a in enumerate(axis)]
    _checks.check_unique_axes("ReverseV2", axes)
    return np.flip(x, axes) if x.size else x


_REVERSE = OpDef("ReverseV2", _reverse_kernel,
                 lambda inputs, outputs, attrs, dy: (execute(_REVERSE, (dy,), attrs),),
                 shape_fn=lambda i, a: [(i[0].shape, i[0].dtype)], aliases=True,
                 grad_uses_outputs=False)


@tf_export("reverse")
def reverse(tensor, axis, name=None):
    x = as_input(tensor)
    r = x.shape.rank
    raw = np.atleast_1d(axis._value if isinstance(axis, Tensor) else axis)
    if r is None:
        return execute(_REVERSE, (x,), {"axis": tuple(int(a) for a in raw)})
    if x.shape.num_elements() == 0:      # TF returns an empty tensor unchecked
        return getitem(x, ())
    axes = [_checks.normalize_axis("ReverseV2", a, r, f"'axis'[{k}] = {{axis}} is out of valid "
                                   "range [{lo}, {hi})")
            for k, a in enumerate(raw)]
    _checks.check_unique_axes("ReverseV2", axes)
    key = tuple(_pyslice(None, None, -1) if d in axes else _pyslice(None)
                for d in _pyrange(x.shape.rank))
    return getitem(x, key)
