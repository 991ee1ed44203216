"""TF1 SavedModels (a GraphDef and signatures, no object graph), as TF2's loader reads them.

TensorFlow's `tf.saved_model.load` opens a TF1 SavedModel (written by `simple_save`, the
`SavedModelBuilder` or an Estimator export) as an object with its `signatures` and
`variables`. Each signature becomes a function pruned out of the graph: its inputs are
the signature's fed tensors, its outputs the fetched ones. tapeflow does the same by
writing each signature as a `FunctionDef` of the graph's nodes that the fetches need (fed
placeholders become the function's arguments), run by the same interpreter as TF2
functions. Variables (TF1 `VariableV2` or resource `VarHandleOp` nodes) are restored from
`variables/` by name, as TF1's name-based checkpoints key them.
"""
from __future__ import annotations

import os

from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.framework.variables import Variable
from tapeflow.saved_model import constants
from tapeflow.saved_model._protos import protos
from tapeflow.saved_model.graph_runner import FunctionLibrary, _parse_ref
from tapeflow.saved_model.restored import RestoredConcreteFunction, _SignatureMap, _UserObject
from tapeflow.saved_model.structure_decoder import (
    SavedModelFormatError,
    decode_shape,
    to_dtype,
)

_VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")
_INIT_OP_KEY = "__saved_model_init_op"


def _trainable_names(meta) -> set:
    """Names of the variables in the graph's `trainable_variables` collection."""
    collection = meta.collection_def.get("trainable_variables")
    if collection is None:
        return set()
    names = set()
    for raw in collection.bytes_list.value:
        var_def = protos().variable.VariableDef.FromString(raw)
        names.add(var_def.variable_name.split(":")[0])
    return names


def _variables(meta, export_dir) -> dict:
    """{variable node name: Variable} with the values of `variables/`."""
    nodes = [n for n in meta.graph_def.node if n.op in _VARIABLE_OPS]
    if not nodes:
        return {}
    prefix = os.path.join(export_dir, constants.VARIABLES_DIRECTORY,
                          constants.VARIABLES_FILENAME)
    if not os.path.isfile(prefix + ".index"):
        raise FileNotFoundError(f"The SavedModel at {export_dir} has {len(nodes)} variable(s) "
                                f"but no checkpoint at {prefix}.index")
    from tapeflow.train.bundle import BundleReader
    reader = BundleReader(prefix)
    trainable = _trainable_names(meta)
    out = {}
    for node in nodes:
        if not reader.has(node.name):
            raise SavedModelFormatError(f"the variable '{node.name}' of the SavedModel at "
                                        f"{export_dir} has no value in variables/")
        value = reader.tensor(node.name)
        var = Variable(value, trainable=node.name in trainable or not trainable,
                       dtype=to_dtype(node.attr["dtype"].type), name=node.name)
        var._name = node.name
        shared = node.attr["shared_name"].s.decode() if "shared_name" in node.attr else ""
        out[shared or node.name] = out[node.name] = var
    return out


def _needed_nodes(graph, fed, fetches):
    """Names of the nodes the fetched tensors need, stopping at fed tensors."""
    by_name = {n.name: n for n in graph.node}
    needed, pending = set(), [_parse_ref(f)[0] for f in fetches]
    while pending:
        name = pending.pop()
        if name in needed or name in fed:
            continue
        if name not in by_name:
            raise SavedModelFormatError(f"a signature fetches '{name}', which is not in the "
                                        "graph")
        needed.add(name)
        pending.extend(_parse_ref(i.lstrip("^"))[0] for i in by_name[name].input)
    return [n for n in graph.node if n.name in needed]


def _signature_function(graph, key, signature):
    """A FunctionDef computing `signature`'s outputs from its inputs (sorted by key)."""
    fdef = protos().function.FunctionDef()
    fdef.signature.name = f"__tapeflow_v1_signature_{key}"
    fed = {}
    for name in sorted(signature.inputs):
        node = _parse_ref(signature.inputs[name].name)[0]
        fed[node] = name
        fdef.signature.input_arg.add(name=node, type=signature.inputs[name].dtype)
    fetches = []
    for name in sorted(signature.outputs):
        tensor = signature.outputs[name].name
        arg = f"output_{len(fetches)}"
        fdef.signature.output_arg.add(name=arg, type=signature.outputs[name].dtype)
        fdef.ret[arg] = tensor
        fetches.append(tensor)
    fdef.node_def.extend(_needed_nodes(graph, fed, fetches))
    return fdef


def _spec(info, name):
    return TensorSpec(decode_shape(info.tensor_shape), to_dtype(info.dtype), name)


def load_v1(meta, export_dir):
    """The object `tf.saved_model.load` returns for a TF1 MetaGraph: `signatures` (each
    taking its inputs by keyword, returning a dict) and `variables`."""
    variables = _variables(meta, export_dir)
    library = protos().function.FunctionDefLibrary()
    library.CopyFrom(meta.graph_def.library)
    keys = [k for k in meta.signature_def if k != _INIT_OP_KEY]
    for key in keys:
        library.function.append(_signature_function(meta.graph_def, key,
                                                     meta.signature_def[key]))
    functions = FunctionLibrary(library, export_dir, variables)
    root = _UserObject()
    root.signatures = _SignatureMap()
    for key in keys:
        signature = meta.signature_def[key]
        name = f"__tapeflow_v1_signature_{key}"
        functions.check(name)
        inputs = {k: _spec(v, k) for k, v in signature.inputs.items()}
        outputs = {k: _spec(v, k) for k, v in signature.outputs.items()}
        root.signatures._add(key, RestoredConcreteFunction(
            name, functions.program(name), [], ((), inputs), outputs, sorted(inputs), 0))
    unique = {id(v): v for v in variables.values()}
    root.variables = list(unique.values())
    root.trainable_variables = [v for v in root.variables if v.trainable]
    return root
