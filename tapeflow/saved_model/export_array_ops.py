"""TensorFlow `NodeDef`s for more array, indexing and checking ops.

`x[key]` with traced parts (`DynamicSlice`: a vector of the traced values and a static spec
of the key) becomes TF's `StridedSlice` with begin/end/strides packed from the values;
`logical_xor`, which TF composes, is composed the same way.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.ops.dynamic_index import TRACED
from tapeflow.saved_model.export_ops import base_name, element, exports, input_refs


@exports("LogicalXor")
def _logical_xor(w, node):
    """(x or y) and not (x and y)."""
    name = base_name(node)
    x, y = input_refs(w, node, name)
    either = w.add_node("LogicalOr", [x, y], name=f"{name}/LogicalOr")[0]
    both = w.add_node("LogicalAnd", [x, y], name=f"{name}/LogicalAnd")[0]
    not_both = w.add_node("LogicalNot", [both], name=f"{name}/LogicalNot")[0]
    return w.add_node("LogicalAnd", [either, not_both], name=name)


@exports("CheckNumerics")
def _check_numerics(w, node):
    name = base_name(node)
    return w.add_node("CheckNumerics", input_refs(w, node, name),
                      {"T": node.inputs[0].dtype, "message": node.attrs.get("message", "")},
                      name=name, stateful=True)


@exports("Roll")
def _roll(w, node):
    name = base_name(node)
    operands = [w.const(np.array(node.attrs[k], np.int32), name=f"{name}/{k}")
                for k in ("shift", "axis")]
    return w.add_node("Roll", input_refs(w, node, name) + operands,
                      {"T": node.inputs[0].dtype, "Tshift": dtypes.int32,
                       "Taxis": dtypes.int32}, name=name)


@exports("Unique")
def _unique(w, node):
    name = base_name(node)
    attrs = {"T": node.inputs[0].dtype}
    if node.outputs[1].dtype is not dtypes.int32:
        attrs["out_idx"] = node.outputs[1].dtype
    return w.add_node("Unique", input_refs(w, node, name), attrs, name=name)


@exports("InTopKV2")
def _in_top_k(w, node):
    name = base_name(node)
    targets = node.inputs[1]
    k = w.const(np.array(node.attrs["k"], targets.dtype._np), name=f"{name}/k")
    return w.add_node("InTopKV2", input_refs(w, node, name) + [k], {"T": targets.dtype},
                      name=name)


@exports("DynamicSlice")
def _dynamic_slice(w, node):
    """TF's StridedSlice; begin/end/strides packed from constants and the traced values."""
    name = base_name(node)
    x_ref, bounds_ref = input_refs(w, node, name)
    traced = iter(range(len(node.attrs["spec"]) * 3))

    def operand(v, default=0):
        if v == TRACED:
            return element(w, bounds_ref, next(traced), f"{name}/bound", dtypes.int64)
        return w.const(np.int64(default if v is None else v), name=f"{name}/const")

    begin, end, strides = [], [], []
    masks = dict.fromkeys(("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                           "shrink_axis_mask"), 0)
    for pos, part in enumerate(node.attrs["spec"]):
        bit, kind = 1 << pos, part[0]
        if kind == "slice":
            start, stop, step = part[1:]
            masks["begin_mask"] |= bit if start is None else 0
            masks["end_mask"] |= bit if stop is None else 0
            begin.append(operand(start)), end.append(operand(stop))
            strides.append(operand(step, 1))
        elif kind == "index":
            # One element, the axis dropped: TF reads only `begin` for a shrunk axis.
            masks["shrink_axis_mask"] |= bit
            begin.append(operand(part[1]))
            end.append(begin[-1]), strides.append(operand(1))
        else:
            masks["ellipsis_mask" if kind == "ellipsis" else "new_axis_mask"] |= bit
            begin.append(operand(0)), end.append(operand(0)), strides.append(operand(1))
    vectors = [w.add_node("Pack", refs, {"N": len(refs), "T": dtypes.int64},
                          name=f"{name}/{part}")[0]
               for refs, part in ((begin, "begin"), (end, "end"), (strides, "strides"))]
    attrs = {"T": node.inputs[0].dtype, "Index": dtypes.int64,
             **{m: v for m, v in masks.items() if v}}
    return w.add_node("StridedSlice", [x_ref] + vectors, attrs, name=name)
