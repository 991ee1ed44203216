"""TensorFlow `NodeDef`s for tapeflow's string ops (`tf.strings`) and `tf.print`.

tapeflow's string ops carry TensorFlow's own attributes (`pattern`, `rewrite`,
`separator`, `unit`, ...), so most are written with their attributes as they are; a
reduction's axis becomes a `Const` operand, as for numbers.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.function import print_op
from tapeflow.saved_model._protos import protos
from tapeflow.saved_model.export_ops import (axes_of, base_name, exports, input_refs,
                                             unsupported)
from tapeflow.saved_model.structure_coder import dtype_number


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


def _types(values):
    av = protos().attr_value.AttrValue
    return av(list=av.ListValue(type=values))


@exports("StringFormat")
def _format(w, node):
    name = base_name(node)
    attrs = {"T": _types([dtype_number(x.dtype) for x in node.inputs]),
             "template": node.attrs["template"], "placeholder": node.attrs["placeholder"],
             "summarize": int(node.attrs["summarize"])}
    return w.add_node("StringFormat", input_refs(w, node, name), attrs, name=name)


@exports("PrintV2")
def _print(w, node):
    """`tf.print` as TF writes it: `StringFormat` of the tensors into the printed text's
    template, then `PrintV2` of that string to the stream."""
    stream = node.attrs["stream"]
    if not isinstance(stream, str):
        unsupported(node, "tf.print to a Python file object (TF saves 'stderr', 'stdout' "
                    "or 'file://<path>')")
    name = base_name(node) if node.outputs else "PrintV2"
    attrs = {"output_stream": stream}
    if node.attrs["end"] != "\n":
        attrs["end"] = node.attrs["end"]
    (only,) = node.inputs if len(node.inputs) == 1 else (None,)
    if (only is not None and only.dtype is dtypes.string and only.shape.rank == 0
            and isinstance(node.attrs["templates"][0], print_op._Slot)
            and len(node.attrs["templates"]) == 1):
        # One scalar string is printed as it is (formatting would quote it), as TF's print.
        w.add_node("PrintV2", input_refs(w, node, name), attrs, name=name, stateful=True)
        return []
    placeholder = "{}"
    while True:             # a placeholder the printed literals do not contain
        slots = [placeholder] * len(node.inputs)
        template = node.attrs["sep"].join(
            print_op._format_nested(t, slots, node.attrs["summarize"])
            for t in node.attrs["templates"])
        if template.count(placeholder) == len(node.inputs):
            break
        placeholder = "{" + placeholder + "}"
    text = w.add_node("StringFormat", input_refs(w, node, name),
                      {"T": _types([dtype_number(x.dtype) for x in node.inputs]),
                       "template": template, "placeholder": placeholder,
                       "summarize": int(node.attrs["summarize"])},
                      name=f"{name}/StringFormat")[0]
    w.add_node("PrintV2", [text], attrs, name=name, stateful=True)
    return []
