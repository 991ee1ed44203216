"""TensorFlow `NodeDef`s for more array, indexing and checking ops.

`x[a:b]` with traced bounds (`DynamicSlice`: a bounds vector and a static spec of which
bounds exist) becomes TF's `StridedSlice` with begin/end vectors gathered from the bounds;
`logical_xor`, which TF composes, is composed the same way.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
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
    name = base_name(node)
    x_ref, bounds_ref = input_refs(w, node, name)
    zero = w.const(np.int32(0), name=f"{name}/zero")
    begin, end, strides, masks, k = [], [], [], {"begin_mask": 0, "end_mask": 0}, 0
    for axis, (has_start, has_stop, step) in enumerate(node.attrs["spec"]):
        for present, refs, mask in ((has_start, begin, "begin_mask"), (has_stop, end, "end_mask")):
            if present:
                refs.append(element(w, bounds_ref, k, f"{name}/bound"))
                k += 1
            else:
                refs.append(zero)
                masks[mask] |= 1 << axis
        strides.append(int(step))
    vectors = [w.add_node("Pack", refs, {"N": len(refs), "T": dtypes.int32},
                          name=f"{name}/{part}")[0]
               for refs, part in ((begin, "begin"), (end, "end"))]
    vectors.append(w.const(np.array(strides, np.int32), name=f"{name}/strides"))
    attrs = {"T": node.inputs[0].dtype, "Index": dtypes.int32,
             **{m: v for m, v in masks.items() if v}}
    return w.add_node("StridedSlice", [x_ref] + vectors, attrs, name=name)
