"""Rearranging and scattering: `tf.roll`, `tf.repeat`, `tf.meshgrid`, `tf.sequence_mask`,
`tf.scatter_nd`, `tf.tensor_scatter_nd_update`/`_add`/`_sub`/`_min`/`_max`, `tf.unique`,
`tf.ensure_shape`.

Most are compositions of differentiable ops; roll and the scatters are ops of
their own, each with its gradient beside it (a scatter's is a gather_nd).

    >>> import tapeflow as tf
    >>> tf.roll([1, 2, 3, 4], shift=1, axis=0).numpy()
    array([4, 1, 2, 3], dtype=int32)
    >>> tf.scatter_nd([[1], [3]], [5., 7.], [5]).numpy()
    array([0., 5., 0., 7., 0.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import array_ops, math_ops
from tapeflow.ops._shapes import same_as_first


def _ints(v):
    v = v._value if isinstance(v, Tensor) else v
    return [int(i) for i in np.atleast_1d(np.asarray(v)).tolist()]


def _roll_grad(inputs, outputs, attrs, dy):
    back = {"shift": tuple(-s for s in attrs["shift"]), "axis": attrs["axis"]}
    return (execute(_ROLL, (dy,), back),)


_ROLL = OpDef("Roll", lambda x, shift, axis: np.roll(x, shift, axis), _roll_grad,
              shape_fn=same_as_first, grad_uses_outputs=False)


@tf_export("roll")
def roll(input, shift, axis, name=None):  # noqa: A002
    """Shifts elements along `axis` by `shift` (both may be lists), wrapping around."""
    x = as_input(input)
    shifts, axes = _ints(shift), _ints(axis)
    if len(shifts) != len(axes):
        raise errors.op_error("Roll", f"shift and axis must have the same size; got {shifts} "
                              f"and {axes}")
    r = x.shape.rank
    if any(not -r <= a < r for a in axes):
        raise errors.op_error("Roll", f"axis {axes} out of range for a tensor of shape {x.shape}")
    return execute(_ROLL, (x,), {"shift": tuple(shifts), "axis": tuple(a % r for a in axes)})


@tf_export("repeat")
def repeat(input, repeats, axis=None, name=None):  # noqa: A002
    """Repeats each element `repeats` times (a number or one count per element) along
    `axis` (the flattened input when None), via a gather, so it differentiates."""
    x = as_input(input)
    if axis is None:
        x, axis = array_ops.reshape(x, [-1]), 0
    r = x.shape.rank
    if not -max(r, 1) <= int(axis) < max(r, 1):
        raise ValueError(f"axis={int(axis)} out of bounds: expected {-max(r, 1)}<=axis<"
                         f"{max(r, 1)}")
    axis = int(axis) % max(r, 1)
    n = x.shape[axis]
    counts = _ints(repeats)
    if len(counts) not in (1, n):
        raise errors.op_error("Repeat", f"repeats must be a number or have one count per "
                              f"element along axis {axis} ({n}); got {len(counts)}")
    idx = np.repeat(np.arange(n), counts if len(counts) == n else counts[0])
    return array_ops.gather(x, Tensor(idx.astype(np.int32)), axis=axis)


@tf_export("meshgrid")
def meshgrid(*args, indexing="xy", name=None):
    """Coordinate grids from 1-D tensors ('xy': Cartesian, first two dims swapped; 'ij')."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"indexing must be 'xy' or 'ij'; got {indexing!r}.")
    xs = [array_ops.reshape(as_input(a), [-1]) for a in args]
    sizes = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, x in enumerate(xs):
        pos = i if indexing == "ij" or len(xs) < 2 else {0: 1, 1: 0}.get(i, i)
        shape = [1] * len(xs)
        shape[pos] = -1
        out.append(array_ops.broadcast_to(array_ops.reshape(x, shape), sizes))
    return out


@tf_export("sequence_mask")
def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool, name=None):
    """mask[..., j] = j < lengths[...] (width `maxlen`, default max(lengths))."""
    lengths = as_input(lengths)
    if maxlen is None:
        maxlen = int(np.max(lengths._value)) if np.size(lengths._value) else 0
    rng = array_ops.range(int(maxlen), dtype=lengths.dtype)
    mask = math_ops.less(rng, array_ops.expand_dims(lengths, -1))
    return mask if dtypes.as_dtype(dtype) is dtypes.bool else math_ops.cast(mask, dtype)


def _check_indices(op_name, indices, shape):
    idx = np.asarray(indices)
    k = idx.shape[-1]
    if k > len(shape):
        raise ValueError(f"indices index {k} dimensions of a tensor of rank {len(shape)}")
    bad = (idx < 0) | (idx >= np.asarray(shape[:k]))
    if bad.any():
        pos = np.argwhere(bad)[0][:-1]
        raise ValueError(f"indices[{','.join(str(int(p)) for p in pos)}] = "
                         f"{idx[tuple(pos)].tolist()} does not index into shape {list(shape)}")
    return tuple(np.moveaxis(idx, -1, 0))


def _scatter_kernel(indices, updates, shape):
    out = np.zeros(shape, updates.dtype)
    np.add.at(out, _check_indices("ScatterNd", indices, shape), updates)
    return out


def _tensor_scatter_kernel(tensor, indices, updates, mode):
    out = np.array(tensor, copy=True)
    where = _check_indices("TensorScatter", indices, tensor.shape)
    if mode == "update":
        out[where] = updates
    else:   # repeated indices accumulate, as TF's kernels do
        _ACCUMULATE[mode].at(out, where, updates)
    return out


_ACCUMULATE = {"add": np.add, "sub": np.subtract, "min": np.minimum, "max": np.maximum}


def _tensor_scatter_grad(inputs, outputs, attrs, dy):
    from tapeflow.ops import indexing_ops
    tensor, indices, _ = inputs
    d_updates = indexing_ops.gather_nd(dy, indices)
    if attrs["mode"] == "update":   # overwritten entries got nothing from the old tensor
        d_tensor = execute(_TENSOR_SCATTER, (dy, indices, array_ops.zeros_like(d_updates)),
                           attrs)
    elif attrs["mode"] in ("min", "max"):
        return _min_max_grad(inputs, outputs, dy)
    else:
        d_tensor = dy
    if attrs["mode"] == "sub":
        d_updates = math_ops.negative(d_updates)
    return d_tensor, None, d_updates


def _min_max_grad(inputs, out, dy):
    """The gradient goes to whichever of the old entry and the updates that landed on it
    equal the result, shared evenly between ties (as TF's rule for scatter min/max)."""
    from tapeflow.ops import indexing_ops
    tensor, indices, updates = inputs
    from_tensor = math_ops.cast(math_ops.equal(tensor, out), dy.dtype)
    from_updates = math_ops.cast(math_ops.equal(updates, indexing_ops.gather_nd(out, indices)),
                                 dy.dtype)
    winners = from_tensor + execute(_SCATTER, (indices, from_updates),
                                    {"shape": tuple(tensor.shape.as_list())})
    share = dy / winners
    return share * from_tensor, None, indexing_ops.gather_nd(share, indices) * from_updates


_SCATTER = OpDef("ScatterNd", _scatter_kernel,
                 lambda inputs, outputs, attrs, dy: (None, _gather_nd(dy, inputs[0]), None),
                 shape_fn=lambda i, a: [(TensorShape(list(a["shape"])), i[1].dtype)])
_TENSOR_SCATTER = OpDef("TensorScatterNd", _tensor_scatter_kernel, _tensor_scatter_grad,
                        shape_fn=same_as_first)


def _gather_nd(params, indices):
    from tapeflow.ops import indexing_ops
    return indexing_ops.gather_nd(params, indices)


def _int_indices(indices):
    i = as_input(indices)
    if not i.dtype.is_integer:
        raise TypeError(f"indices must be int32 or int64; got {i.dtype.name}.")
    return i


@tf_export("scatter_nd")
def scatter_nd(indices, updates, shape, name=None):
    """A tensor of `shape`, zero but for `updates` summed in at `indices`."""
    return execute(_SCATTER, (_int_indices(indices), as_input(updates)),
                   {"shape": tuple(_ints(shape))})


@tf_export("tensor_scatter_nd_update")
def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """A copy of `tensor` with the entries at `indices` replaced by `updates`."""
    t = as_input(tensor)
    return execute(_TENSOR_SCATTER, (t, _int_indices(indices), as_input(updates, t.dtype)),
                   {"mode": "update"})


def _tensor_scatter(mode, tensor, indices, updates):
    t = as_input(tensor)
    return execute(_TENSOR_SCATTER, (t, _int_indices(indices), as_input(updates, t.dtype)),
                   {"mode": mode})


@tf_export("tensor_scatter_nd_add")
def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    """A copy of `tensor` with `updates` added at `indices` (repeats accumulate)."""
    return _tensor_scatter("add", tensor, indices, updates)


@tf_export("tensor_scatter_nd_sub")
def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    """A copy of `tensor` with `updates` subtracted at `indices` (repeats accumulate)."""
    return _tensor_scatter("sub", tensor, indices, updates)


@tf_export("tensor_scatter_nd_min")
def tensor_scatter_nd_min(tensor, indices, updates, name=None):
    """A copy of `tensor` whose entries at `indices` are the least of the entry and the
    updates that land there."""
    return _tensor_scatter("min", tensor, indices, updates)


@tf_export("tensor_scatter_nd_max")
def tensor_scatter_nd_max(tensor, indices, updates, name=None):
    """A copy of `tensor` whose entries at `indices` are the greatest of the entry and the
    updates that land there."""
    return _tensor_scatter("max", tensor, indices, updates)


_UNIQUE = OpDef("Unique", lambda x, out: _unique_kernel(x, out), NO_GRADIENT, num_outputs=2,
                shape_fn=lambda i, a: [(TensorShape([None]), i[0].dtype),
                                       (i[0].shape, dtypes.from_numpy(np.dtype(a["out"])))])


def _unique_kernel(x, out):
    if x.ndim != 1:
        raise ValueError(f"unique expects a vector; got shape {x.shape}")
    _, first, inverse = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")        # in order of first appearance, as TF
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return x[np.sort(first)], rank[inverse.reshape(-1)].astype(out)


@tf_export("unique")
def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of a vector in order of appearance, and each element's index."""
    y, idx = execute(_UNIQUE, (as_input(x),), {"out": dtypes.as_dtype(out_idx)._np})
    return y, idx


@tf_export("ensure_shape")
def ensure_shape(x, shape, name=None):
    """`x` unchanged, after checking its shape is compatible with `shape` (None: any)."""
    x = as_input(x)
    want = TensorShape(shape)
    if not x.shape.is_compatible_with(want):
        raise errors.op_error("EnsureShape", f"Shape of tensor {x.shape} is not compatible "
                              f"with expected shape {want}")
    return x
