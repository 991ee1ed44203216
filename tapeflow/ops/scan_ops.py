"""Running and segmented sums: `tf.math.cumsum`, `segment_sum`, `unsorted_segment_sum`.

cumsum's gradient is a cumsum the other way; a segment sum's is a gather of
the incoming gradient by segment id (and a gather's is a segment sum), so the
family differentiates to any order.

    >>> import tapeflow as tf
    >>> tf.math.cumsum([1, 2, 3]).numpy()
    array([1, 3, 6], dtype=int32)
    >>> tf.math.unsorted_segment_sum([1., 2., 3.], [0, 1, 0], num_segments=2).numpy()
    array([4., 2.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import errors
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops._shapes import same_as_first


def _cumsum_kernel(x, axis, exclusive, reverse):
    if reverse:
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis, dtype=x.dtype)
    if exclusive and out.size:   # shift by one: the first entry becomes 0
        out = np.roll(out, 1, axis=axis)
        idx = [slice(None)] * out.ndim
        idx[axis] = 0
        out[tuple(idx)] = 0
    return np.flip(out, axis) if reverse else out


def _cumsum_grad(inputs, outputs, attrs, dy):
    # The adjoint of a running sum is the running sum the other way.
    return (execute(_CUMSUM, (dy,), dict(attrs, reverse=not attrs["reverse"])),)


_CUMSUM = OpDef("Cumsum", _cumsum_kernel, _cumsum_grad, shape_fn=same_as_first,
                grad_uses_outputs=False)


@tf_export("math.cumsum", "cumsum")
def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum along `axis` (`exclusive`: starting from 0; `reverse`: from the end)."""
    x = as_input(x)
    rank = x.shape.rank
    axis = int(axis)
    if rank is not None and not -rank <= axis < rank:
        raise errors.op_error("Cumsum", f"axis {axis} is out of range for a tensor of rank "
                              f"{rank}; expected an axis in [{-rank}, {rank})")
    return execute(_CUMSUM, (x,), {"axis": axis % rank if rank else 0,
                                   "exclusive": bool(exclusive), "reverse": bool(reverse)})


def _segment_sum_kernel(data, ids, num_segments):
    if ids.size and data.size and ids.max() >= num_segments:   # TF reads no id of no data
        raise ValueError(f"segment_ids must be < num_segments = {num_segments}; got "
                         f"{int(ids.max())}")
    out = np.zeros((num_segments,) + data.shape[ids.ndim:], data.dtype)
    if not data.size:
        return out
    keep = ids >= 0                     # negative ids are dropped, as TF does
    np.add.at(out, ids[keep], data[keep])
    return out


def _segment_grad_kernel(dy, ids):
    # Rows of negative ids got nothing: their gradient is 0.
    safe = np.where(ids >= 0, ids, 0)
    g = dy[safe]
    g[ids < 0] = 0
    return g


_SEGMENT_GATHER = OpDef(
    "SegmentGather", _segment_grad_kernel,
    lambda inputs, outputs, attrs, g: (execute(_SEGMENT_SUM, (g, inputs[1]),
                                               {"num_segments": inputs[0].shape[0]}), None),
    shape_fn=lambda i, a: [(TensorShape(i[1].shape.as_list() + i[0].shape.as_list()[1:]),
                            i[0].dtype)])
_SEGMENT_SUM = OpDef(
    "UnsortedSegmentSum", _segment_sum_kernel,
    lambda inputs, outputs, attrs, dy: (execute(_SEGMENT_GATHER, (dy, inputs[1])), None),
    shape_fn=lambda i, a: [(TensorShape([a["num_segments"]] + i[0].shape.as_list()[
        i[1].shape.rank:]), i[0].dtype)])


@tf_export("math.unsorted_segment_sum")
def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """Sums the rows of `data` that share a segment id (ids in any order; < 0 dropped)."""
    d, ids = as_input(data), as_input(segment_ids)
    if not ids.dtype.is_integer:
        raise TypeError(f"segment_ids must be int32 or int64; got {ids.dtype.name}.")
    ds, ims = d.shape.as_list(), ids.shape.as_list()
    if ds[:len(ims)] != ims:
        raise errors.op_error("UnsortedSegmentSum", f"segment_ids shape {ids.shape} must be a "
                              f"prefix of data shape {d.shape}")
    return execute(_SEGMENT_SUM, (d, ids), {"num_segments": int(num_segments)})


@tf_export("math.segment_sum")
def segment_sum(data, segment_ids, name=None):
    """Sums rows of `data` by sorted segment id; the result has max(id) + 1 rows."""
    ids = as_input(segment_ids)
    v = np.asarray(ids._value) if ids._value is not None else None
    if v is None:
        raise errors.op_error("SegmentSum", "segment_ids must be known (eager) to size the "
                              "result; use unsorted_segment_sum with num_segments in tf.function")
    if v.ndim != 1 or (v.size and np.any(np.diff(v) < 0)):
        raise errors.op_error("SegmentSum", f"segment_ids must be a sorted vector; got "
                              f"{v.tolist()}")
    return unsorted_segment_sum(data, ids, int(v.max()) + 1 if v.size else 0)
