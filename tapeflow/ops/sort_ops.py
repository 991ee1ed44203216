"""Sorting along the last axis: `tf.math.top_k`, `tf.sort`, `tf.argsort`, `tf.math.in_top_k`.

`top_k` is the primitive (TF builds sort and argsort on it too). Its gradient
scatters into the chosen positions (`TopKGrad`), whose own gradient gathers
them back (`GatherLast`): the pair is adjoint, so derivatives of any order work.
Ties keep the lower index first, as TF's kernel does.

    >>> import tapeflow as tf
    >>> tf.math.top_k([1., 3., 3., 2.], k=2).indices.numpy()
    array([1, 2], dtype=int32)
    >>> tf.sort([3, 1, 2], direction='DESCENDING').numpy()
    array([3, 2, 1], dtype=int32)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape


class TopKV2(NamedTuple):
    """What `top_k` returns: the k largest values and their indices."""

    values: object
    indices: object


def _topk_kernel(x, k):
    # k None: the whole last axis (a sort whose size was unknown when tracing).
    if x.ndim == 0:
        raise ValueError("input must be at least 1-dimensional; got a scalar")
    # A stable ascending sort of a key in reverse order puts ties in index order: -x for
    # floats, ~x for integers and bools (-x would overflow at the most negative integer).
    key = np.invert(x) if x.dtype.kind in "iub" else -x
    idx = np.argsort(key, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)


def _gather_last_kernel(x, idx):
    return np.take_along_axis(x, idx.astype(np.intp), axis=-1)


def _topk_grad_kernel(x, idx, dy):
    g = np.zeros(x.shape, dy.dtype)
    np.put_along_axis(g, idx.astype(np.intp), dy, axis=-1)   # top_k's indices are distinct
    return g


_GATHER_LAST = OpDef(
    "GatherLast", _gather_last_kernel,
    lambda inputs, outputs, attrs, dy: (execute(_TOPK_GRAD, (inputs[0], inputs[1], dy)), None),
    shape_fn=lambda i, a: [(i[1].shape, i[0].dtype)])
_TOPK_GRAD = OpDef(
    "TopKGrad", _topk_grad_kernel,
    lambda inputs, outputs, attrs, g: (None, None, execute(_GATHER_LAST, (g, inputs[1]))),
    shape_fn=lambda i, a: [(i[0].shape, i[2].dtype)])


def _topk_shape(inputs, attrs):
    x, k = inputs[0], attrs["k"]
    if k is None or x.shape.rank is None:
        shape = x.shape if k is None else TensorShape(None)
    else:
        shape = TensorShape(x.shape.as_list()[:-1] + [k])
    return [(shape, inputs[0].dtype), (shape, dtypes.int32)]


def _topk_grad(inputs, outputs, attrs, dy):
    _, indices = outputs
    return (execute(_TOPK_GRAD, (inputs[0], indices, dy[0])),)


_TOPK = OpDef("TopKV2", _topk_kernel, _topk_grad, num_outputs=2, shape_fn=_topk_shape)


@tf_export("math.top_k", "nn.top_k")
def top_k(input, k=1, sorted=True, index_type=dtypes.int32, name=None):  # noqa: A002
    """The `k` largest entries along the last axis, and their indices.

    Raises:
        InvalidArgumentError: `k` is negative or larger than the last dimension.
    """
    x = as_input(input)
    k = int(k)
    n = x.shape[-1] if x.shape.rank else None
    if x.shape.rank == 0:
        raise errors.op_error("TopKV2", "input must be at least 1-dimensional; got a scalar")
    if k < 0 or (n is not None and k > n):
        raise errors.op_error("TopKV2", f"input must have at least k={k} columns (and k >= 0); "
                              f"got shape {x.shape}")
    values, indices = execute(_TOPK, (x,), {"k": k})
    return TopKV2(values, indices)


def _check_direction(direction):
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"direction must be 'ASCENDING' or 'DESCENDING'; got {direction!r}.")


def _swap_last_kernel(x, axis):
    if x.ndim == 0:
        raise ValueError("input must be at least 1-dimensional; got a scalar")
    return np.swapaxes(x, axis, -1)


# Swaps `axis` with the last one (its own inverse): sorting along an axis of a tensor
# whose rank was unknown when tracing.
_SWAP_LAST = OpDef(
    "SwapLastAxis", _swap_last_kernel,
    lambda inputs, outputs, attrs, dy: (execute(_SWAP_LAST, (dy,), attrs),),
    shape_fn=lambda i, a: [(TensorShape(None), i[0].dtype)], aliases=True,
    grad_uses_outputs=False)


def _along_axis(x, axis, op_name, fn):
    """fn (which works on the last axis) applied along `axis`: another axis is swapped
    with the last one first, and back after."""
    from tapeflow.ops import _checks, array_ops
    rank = x.shape.rank
    if rank == 0:
        raise errors.op_error(op_name, "input must be at least 1-dimensional; got a scalar")
    a = _checks.normalize_axis(op_name, axis, rank)
    if rank is None:
        if a == -1:
            return fn(x)
        return execute(_SWAP_LAST, (fn(execute(_SWAP_LAST, (x,), {"axis": a})),), {"axis": a})
    if a == rank - 1:
        return fn(x)
    perm = list(range(rank))
    perm[a], perm[-1] = perm[-1], perm[a]
    return array_ops.transpose(fn(array_ops.transpose(x, perm)), perm)


@tf_export("sort")
def sort(values, axis=-1, direction="ASCENDING", name=None):
    """Sorted along `axis` (`direction` 'ASCENDING' or 'DESCENDING')."""
    _check_direction(direction)
    return _along_axis(as_input(values), axis, "Sort", lambda x: _sort_last(x, direction))


def _all_k(x):
    """top_k of the whole last axis (its size unknown when tracing: k None)."""
    n = x.shape[-1] if x.shape.rank is not None else None
    values, indices = execute(_TOPK, (x,), {"k": None if n is None else int(n)})
    return TopKV2(values, indices)


def _sort_last(x, direction):
    if direction == "DESCENDING":
        return _all_k(x).values
    if x.dtype.is_floating:
        return -_all_k(-x).values          # differentiable: top_k's gradient, negated
    return _take_last(x, _all_k(_reversed(x)).indices)


@tf_export("argsort")
def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """Indices that sort along `axis` (int32); ties keep index order."""
    _check_direction(direction)
    return _along_axis(as_input(values), axis, "ArgSort",
                       lambda x: _argsort_last(x, direction))


def _argsort_last(x, direction):
    if direction == "DESCENDING":
        return _all_k(x).indices
    return _all_k(_reversed(x)).indices


def _reversed(x):
    """A key whose descending order is x's ascending order: -x for floats; for integers
    -x - 1 (= ~x, exact with wrapping, where -x overflows at the most negative value),
    unsigned and bool values first cast to int64."""
    from tapeflow.ops import math_ops
    if x.dtype.is_floating:
        return -x
    if x.dtype.is_unsigned or x.dtype.is_bool:
        x = math_ops.cast(x, dtypes.int64)
    return math_ops.subtract(math_ops.negative(x), math_ops.cast(1, x.dtype))


def _take_last(x, idx):
    return execute(_GATHER_LAST, (x, idx))


_IN_TOP_K = OpDef(
    "InTopKV2",
    lambda pred, tgt, k: _in_top_k_kernel(pred, tgt, k), NO_GRADIENT,
    shape_fn=lambda i, a: [(i[1].shape, dtypes.bool)])


def _in_top_k_kernel(pred, tgt, k):
    n = pred.shape[-1]
    if tgt.size and (tgt.min() < 0 or tgt.max() >= n):
        raise ValueError(f"targets must be class indices in [0, {n}); got {tgt.tolist()}")
    picked = np.take_along_axis(pred, tgt.astype(np.intp)[:, None], axis=-1)
    # In the top k if fewer than k classes score strictly higher (ties are all in, as TF).
    higher = np.sum(pred > picked, axis=-1)
    return (higher < k) & np.isfinite(picked[:, 0])


@tf_export("math.in_top_k", "nn.in_top_k")
def in_top_k(targets, predictions, k, name=None):
    """Whether each target class is among the `k` highest predictions of its row."""
    p, t = as_input(predictions), as_input(targets)
    if p.shape.rank != 2 or t.shape.rank != 1:
        raise errors.op_error("InTopKV2", f"predictions must be [batch, classes] and targets "
                              f"[batch]; got shapes {p.shape} and {t.shape}")
    return execute(_IN_TOP_K, (p, t), {"k": int(k)})
