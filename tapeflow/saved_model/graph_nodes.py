"""The nodes of a SavedModel's own graph: what TensorFlow 1-style loaders run.

TensorFlow 2's loader rebuilds objects from the object graph and reads `variables/`
itself; loaders of the graph (`tf.compat.v1.saved_model.load`, TensorFlow Serving) run
nodes of `graph_def` instead, named by the `SaverDef` and the `SignatureDef`s:

* one `VarHandleOp` per Variable;
* the saver: a `saver_filename` placeholder and two calls, `_traced_restore` (`RestoreV2`
  of every Variable's checkpoint key, then an `AssignVariableOp` each) and `_traced_save`
  (`SaveV2` of every Variable's value and the object graph, one shard);
* per signature: a placeholder per input and a call of the signature's function, whose
  outputs the `SignatureDef` names (`StatefulPartitionedCall:0`, ...).
"""
from __future__ import annotations

import itertools

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.variables import Variable
from tapeflow.saved_model._protos import protos
from tapeflow.saved_model.function_def import FunctionWriter, captured_variables
from tapeflow.saved_model.structure_coder import dtype_number, shape_proto

DT_RESOURCE = 20
_SAVER_V2 = 2
_uid = itertools.count(1)


def variable_handles(graph, objects, ids) -> dict:
    """A `VarHandleOp` per Variable among `objects`: {id(Variable): node name}."""
    handles = {}
    for obj in objects:
        if isinstance(obj, Variable) and id(obj) not in handles:
            node = graph.node.add(name=f"variable_{ids[id(obj)]}", op="VarHandleOp")
            node.attr["dtype"].type = dtype_number(obj.dtype)
            node.attr["shape"].shape.CopyFrom(shape_proto(obj.shape))
            node.attr["shared_name"].s = node.name.encode()
            handles[id(obj)] = node.name
    return handles


def _call(graph, name, fdef, inputs, in_types, out_types):
    call = graph.node.add(name=name, op="StatefulPartitionedCall", input=inputs)
    call.attr["f"].func.name = fdef
    call.attr["Tin"].list.type.extend(in_types)
    call.attr["Tout"].list.type.extend(out_types)
    return call


def signature_calls(meta, sigs, handles):
    """Placeholders and a call of each signature's function, named by its SignatureDef."""
    graph = meta.graph_def
    for n, (key, sig) in enumerate(sorted(sigs.items())):
        concrete = sig.concrete
        sdef = meta.signature_def[key]
        sdef.method_name = "tensorflow/serving/predict"
        inputs = []
        for placeholder, in_name in zip(concrete.inputs, sig.input_names):
            ph = graph.node.add(name=f"{key}_{in_name}", op="Placeholder")
            ph.attr["dtype"].type = dtype_number(placeholder.dtype)
            ph.attr["shape"].shape.CopyFrom(shape_proto(placeholder.shape))
            inputs.append(ph.name)
            info = sdef.inputs[in_name]
            info.name = f"{ph.name}:0"
            info.dtype = ph.attr["dtype"].type
            info.tensor_shape.CopyFrom(ph.attr["shape"].shape)
        variables = captured_variables(concrete)
        out_keys = sorted(sig.output_names)
        call = _call(graph, "StatefulPartitionedCall" + (f"_{n}" if n else ""), sig.fdef_name,
                     inputs + [handles[id(v)] for v in variables],
                     [dtype_number(x.dtype) for x in concrete.inputs] +
                     [DT_RESOURCE] * len(variables),
                     [dtype_number(sig.output_names[k].dtype) for k in out_keys])
        for k, out_key in enumerate(out_keys):
            x = sig.output_names[out_key]
            info = sdef.outputs[out_key]
            info.name = f"{call.name}:{k}"
            info.dtype = dtype_number(x.dtype)
            info.tensor_shape.CopyFrom(shape_proto(x.shape))


def _saver_function(label, variables):
    """A FunctionWriter taking the file prefix and each Variable's resource."""
    w = FunctionWriter(f"__inference__traced_{label}_{next(_uid)}", f"_traced_{label}")
    prefix = w.add_input(None, "file_prefix", dtype=dtypes.string).name
    for var in variables:
        w.add_resource(var, "variable")
    w.set_input_shapes([[]] + [[] for _ in variables])
    return w, prefix


def _types(values):
    av = protos().attr_value.AttrValue
    return av(list=av.ListValue(type=values))


def _restore_function(variables, keys):
    w, prefix = _saver_function("restore", variables)
    names = w.const(np.array(keys, dtype=object), name="RestoreV2/tensor_names")
    slices = w.const(np.array([""] * len(keys), dtype=object), name="RestoreV2/shape_and_slices")
    values = w.add_node("RestoreV2", [prefix, names, slices],
                        {"dtypes": _types([dtype_number(v.dtype) for v in variables])},
                        list_outputs=len(variables))
    for var, ref in zip(variables, values):
        value = w.add_node("Identity", [ref], {"T": var.dtype})[0]
        w.add_node("AssignVariableOp", [w.resource(var), value], {"dtype": var.dtype},
                   stateful=True)
    w.add_outputs([(prefix, dtypes.string)])
    return w.fdef


def _save_function(variables, keys, object_graph_bytes):
    w, prefix = _saver_function("save", variables)
    values = [w.read(var) for var in variables]
    values.append(w.const(np.array(object_graph_bytes, dtype=object), name="object_graph"))
    all_keys = keys + ["_CHECKPOINTABLE_OBJECT_GRAPH"]
    names = w.const(np.array(all_keys, dtype=object), name="SaveV2/tensor_names")
    slices = w.const(np.array([""] * len(all_keys), dtype=object), name="SaveV2/shape_and_slices")
    types = [dtype_number(v.dtype) for v in variables] + [dtype_number(dtypes.string)]
    w.add_node("SaveV2", [prefix, names, slices] + values, {"dtypes": _types(types)},
               stateful=True)
    w.add_outputs([(prefix, dtypes.string)])
    return w.fdef


def saver(meta, objects, checkpoint, handles):
    """The saver's nodes and `SaverDef` (nothing when there are no Variables).

    Args:
        checkpoint: ({key: array}, object graph bytes) of the `variables/` checkpoint,
            keys in `objects` order of the Variables.
    """
    keys_by_id, object_graph_bytes = checkpoint
    variables = [o for o in objects if isinstance(o, Variable)]
    variables = list({id(v): v for v in variables}.values())
    if not variables:
        return
    keys = [keys_by_id[id(v)] for v in variables]
    graph = meta.graph_def
    restore, save = _restore_function(variables, keys), _save_function(
        variables, keys, object_graph_bytes)
    graph.library.function.extend([restore, save])
    filename = graph.node.add(name="saver_filename", op="Placeholder")
    filename.attr["dtype"].type = dtype_number(dtypes.string)
    filename.attr["shape"].shape.CopyFrom(shape_proto([]))
    inputs = [filename.name] + [handles[id(v)] for v in variables]
    in_types = [dtype_number(dtypes.string)] + [DT_RESOURCE] * len(variables)
    out_types = [dtype_number(dtypes.string)]
    save_call = _call(graph, "saver_save", save.signature.name, inputs, in_types, out_types)
    restore_call = _call(graph, "saver_restore", restore.signature.name, inputs, in_types,
                         out_types)
    meta.saver_def.filename_tensor_name = f"{filename.name}:0"
    meta.saver_def.save_tensor_name = f"{save_call.name}:0"
    meta.saver_def.restore_op_name = restore_call.name
    meta.saver_def.version = _SAVER_V2
