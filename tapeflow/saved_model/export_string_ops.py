"""TensorFlow `NodeDef`s for tapeflow's string ops (`tf.strings`).

tapeflow's string ops carry TensorFlow's own attributes (`pattern`, `rewrite`,
`separator`, `unit`, ...), so most are written with their attributes as they are; a
reduction's axis becomes a `Const` operand, as for numbers.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.saved_model.export_ops import axes_of, base_name, exports, input_refs


@exports("StringUpper", "StringLower", "StringLength", "StaticRegexReplace",
         "StaticRegexFullMatch", "StringStrip")
def _with_attrs(w, node):
    name = base_name(node)
    return w.add_node(node.op.name, input_refs(w, node, name), dict(node.attrs), name=name)


@exports("StringJoin")
def _join(w, node):
    name = base_name(node)
    attrs = {"N": len(node.inputs), "separator": node.attrs.get("separator", b"")}
    return w.add_node("StringJoin", input_refs(w, node, name), attrs, name=name)


@exports("StringToNumber")
def _to_number(w, node):
    name = base_name(node)
    return w.add_node("StringToNumber", input_refs(w, node, name),
                      {"out_type": dtypes.as_dtype(node.attrs["out_type"])}, name=name)


@exports("ReduceJoin")
def _reduce_join(w, node):
    name = base_name(node)
    x = node.inputs[0]
    axes = w.const(np.array(axes_of(node, x, node.attrs.get("axis")), np.int32),
                   name=f"{name}/reduction_indices")
    attrs = {"separator": node.attrs.get("separator", b"")}
    if node.attrs.get("keepdims"):
        attrs["keep_dims"] = True
    return w.add_node("ReduceJoin", input_refs(w, node, name) + [axes], attrs, name=name)
