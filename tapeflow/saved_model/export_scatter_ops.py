"""TensorFlow `NodeDef`s for scatters and for traced `tf.TensorArray` buffers.

A TensorArray written in a traced loop is one buffer tensor `[size, *element]`
(`function/tensor_array.py`): writes are `TensorScatterNd` updates, a dynamic array grows
with `TensorArrayGrow` (zero rows appended up to a size) and `stack` of a grown buffer
keeps its first rows (`TensorArrayTakeRows`). The last two are tapeflow's; they are written
as TF's `Pad` and `Slice` with operands computed from the shapes when the graph runs.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.saved_model.export_ops import base_name, element, exports, input_refs, rank_of

_TENSOR_SCATTER = {"update": "TensorScatterUpdate", "add": "TensorScatterAdd",
                   "sub": "TensorScatterSub", "min": "TensorScatterMin",
                   "max": "TensorScatterMax"}
_I32 = {"T": dtypes.int32}


@exports("TensorScatterNd")
def _tensor_scatter(w, node):
    name = base_name(node)
    tensor, indices, _ = node.inputs
    return w.add_node(_TENSOR_SCATTER[node.attrs.get("mode", "update")],
                      input_refs(w, node, name),
                      {"T": tensor.dtype, "Tindices": indices.dtype}, name=name)


@exports("ScatterNd")
def _scatter(w, node):
    name = base_name(node)
    indices, updates = node.inputs[:2]
    shape = w.const(np.array(node.attrs["shape"], indices.dtype._np), name=f"{name}/shape")
    return w.add_node("ScatterNd", input_refs(w, node, name)[:2] + [shape],
                      {"T": updates.dtype, "Tindices": indices.dtype}, name=name)


@exports("UnsortedSegmentSum")
def _segment_sum(w, node):
    name = base_name(node)
    data, ids = node.inputs[:2]
    refs = input_refs(w, node, name)[:2]
    if "num_segments" in node.attrs:
        refs.append(w.const(np.int32(node.attrs["num_segments"]), name=f"{name}/num_segments"))
    else:
        refs.append(w.ref(node.inputs[2], name=f"{name}/num_segments"))
    return w.add_node("UnsortedSegmentSum", refs, {"T": data.dtype, "Tindices": ids.dtype},
                      name=name)


def _rows(w, ref, x, name):
    """The length of `x`'s first axis, a scalar int32 computed when the graph runs."""
    shape = w.add_node("Shape", [ref], {"T": x.dtype}, name=f"{name}/Shape")[0]
    return element(w, shape, 0, f"{name}/rows")


@exports("TensorArrayGrow")
def _grow(w, node):
    """Pad(x, [[0, max(rows - len(x), 0)], [0, 0], ...])."""
    name = base_name(node)
    x, rows = node.inputs
    x_ref, rows_ref = input_refs(w, node, name)
    if rows.dtype is not dtypes.int32:
        rows_ref = w.add_node("Cast", [rows_ref], {"SrcT": rows.dtype, "DstT": dtypes.int32},
                              name=f"{name}/Cast")[0]
    extra = w.add_node("Sub", [rows_ref, _rows(w, x_ref, x, name)], _I32, name=f"{name}/sub")[0]
    extra = w.add_node("Maximum", [extra, w.const(np.int32(0), name=f"{name}/zero")], _I32,
                       name=f"{name}/Maximum")[0]
    first = w.add_node("Pack", [w.const(np.int32(0), name=f"{name}/zero"), extra],
                       {"N": 2, "T": dtypes.int32}, name=f"{name}/first")[0]
    others = w.const(np.zeros((rank_of(node, x) - 1, 2), np.int32), name=f"{name}/others")
    first = w.add_node("ExpandDims", [first, w.const(np.int32(0), name=f"{name}/dim")], _I32,
                       name=f"{name}/ExpandDims")[0]
    axis = w.const(np.int32(0), name=f"{name}/axis")
    paddings = w.add_node("ConcatV2", [first, others, axis], {"N": 2, "T": dtypes.int32},
                          name=f"{name}/paddings")[0]
    return w.add_node("Pad", [x_ref, paddings], {"T": x.dtype}, name=name)


@exports("TensorArrayTakeRows")
def _take_rows(w, node):
    """Slice(x, [0, ...], [len(like), -1, ...])."""
    name = base_name(node)
    x, like = node.inputs
    x_ref, like_ref = input_refs(w, node, name)
    rank = rank_of(node, x)
    n = w.add_node("ExpandDims", [_rows(w, like_ref, like, name),
                                  w.const(np.int32(0), name=f"{name}/dim")], _I32,
                   name=f"{name}/ExpandDims")[0]
    rest = w.const(np.full(rank - 1, -1, np.int32), name=f"{name}/rest")
    size = w.add_node("ConcatV2", [n, rest, w.const(np.int32(0), name=f"{name}/axis")],
                      {"N": 2, "T": dtypes.int32}, name=f"{name}/size")[0]
    begin = w.const(np.zeros(rank, np.int32), name=f"{name}/begin")
    return w.add_node("Slice", [x_ref, begin, size], {"T": x.dtype, "Index": dtypes.int32},
                      name=name)
