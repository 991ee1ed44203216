"""Rebuilding a `SavedObjectGraph` as tapeflow objects (the second half of `load`).

Stages, as in `ObjectGraphLoader.load`:

1. objects: each node becomes its object (containers empty for now), Variables with
   their values from `variables/` (a TensorFlow checkpoint, matched to the saved graph by
   walking both from the root by child name);
2. functions: each saved trace is compiled and checked (every op known), its captured
   inputs bound to the objects of stage 1;
3. edges: children become attributes, list items, dict entries or signatures.
"""
from __future__ import annotations

import collections
import os

import numpy as np

from tapeflow.framework.variables import Variable
from tapeflow.ops.array_ops import constant
from tapeflow.saved_model import constants
from tapeflow.saved_model.graph_runner import FunctionLibrary
from tapeflow.saved_model.restored import (
    RestoredConcreteFunction,
    RestoredFunction,
    _SignatureMap,
    _UserObject,
)
from tapeflow.saved_model.structure_decoder import (
    SavedModelFormatError,
    decode_shape,
    decode_structure,
    decode_tensor,
    to_dtype,
)

_VALUE_ATTRIBUTE = "VARIABLE_VALUE"
FunctionSpec = collections.namedtuple("FunctionSpec", "args varargs defaults input_signature")


def decode_function_spec(proto) -> FunctionSpec:
    """Parameter names (without `self`), defaults and input signature of a FunctionSpec."""
    full = decode_structure(proto.fullargspec)
    args = list(getattr(full, "args", None) or [])
    if proto.is_method or (args and args[0] == "self"):
        args = args[1:]
    defaults = dict(getattr(full, "kwonlydefaults", None) or {})
    values = list(getattr(full, "defaults", None) or [])
    if values:
        defaults.update(zip(args[len(args) - len(values):], values))
    signature = decode_structure(proto.input_signature)
    return FunctionSpec(args, getattr(full, "varargs", None), defaults, signature)


def _checkpoint_keys(saved_nodes, ckpt_graph):
    """{saved node id: checkpoint key of its value}, found by walking both object graphs
    from their roots by child name (the two graphs need not number nodes alike)."""
    keys, pairs, seen = {}, [(0, 0)], {0}
    while pairs:
        saved_id, ckpt_id = pairs.pop()
        ckpt_node = ckpt_graph.nodes[ckpt_id]
        for attr in ckpt_node.attributes:
            if attr.name == _VALUE_ATTRIBUTE:
                keys[saved_id] = attr.checkpoint_key
        ckpt_children = {c.local_name: c.node_id for c in ckpt_node.children}
        for child in saved_nodes[saved_id].children:
            target = ckpt_children.get(child.local_name)
            if target is not None and child.node_id not in seen \
                    and target < len(ckpt_graph.nodes):
                seen.add(child.node_id)
                pairs.append((child.node_id, target))
    return keys


class ObjectGraphLoader:
    """Builds the objects of one MetaGraph's object graph (see the module docstring)."""

    def __init__(self, meta, export_dir, options):
        self._meta = meta
        self._dir = export_dir
        self._options = options
        self._nodes = meta.object_graph_def.nodes
        if not len(self._nodes):
            raise SavedModelFormatError(f"the SavedModel at {export_dir} has an empty object "
                                        "graph")
        self._objects = [None] * len(self._nodes)
        self._concrete = {}
        self._library = None

    def load(self):
        self._make_objects()
        variables = {v.name[:-2]: v for v in self._objects if isinstance(v, Variable)}
        self._library = FunctionLibrary(self._meta.graph_def.library, self._dir, variables,
                                        self._gradient_functions())
        self._make_functions()
        self._connect()
        root = self._objects[0]
        if isinstance(root, _UserObject) and "signatures" not in vars(root):
            root.signatures = _SignatureMap()
        return root

    # -- 1. objects ---------------------------------------------------------------------
    def _make_objects(self):
        values = self._variable_values()
        for i, node in enumerate(self._nodes):
            kind = node.WhichOneof("kind")
            if kind == "user_object":
                self._objects[i] = _CONTAINERS.get(node.user_object.identifier, _UserObject)()
            elif kind == "variable":
                self._objects[i] = self._variable(i, node.variable, values)
            elif kind == "constant":
                self._objects[i] = self._constant(node.constant.operation)
            elif kind == "asset":
                self._objects[i] = self._asset(node.asset.asset_file_def_index)
            elif kind not in ("function", "bare_concrete_function"):
                self._objects[i] = _UserObject()     # resources, captured tensors

    def _variable_values(self):
        """{saved node id: NumPy value} for the Variables, from `variables/`."""
        wanted = [i for i, n in enumerate(self._nodes) if n.WhichOneof("kind") == "variable"]
        if not wanted or self._options.experimental_skip_checkpoint:
            return {}
        prefix = os.path.join(self._dir, constants.VARIABLES_DIRECTORY,
                              constants.VARIABLES_FILENAME)
        if not os.path.isfile(prefix + ".index"):
            raise FileNotFoundError(
                f"The SavedModel at {self._dir} has {len(wanted)} variable(s) but no "
                f"checkpoint at {prefix}.index: the variables/ directory is missing or "
                "incomplete")
        from tapeflow.train.checkpoint import open_graph
        reader, graph = open_graph(prefix)
        keys = _checkpoint_keys(self._nodes, graph)
        return {i: reader.tensor(keys[i]) for i in wanted if i in keys}

    def _variable(self, i, proto, values):
        dtype = to_dtype(proto.dtype)
        shape = decode_shape(proto.shape)
        if i in values:
            value = values[i]
        elif self._options.experimental_skip_checkpoint and shape.is_fully_defined():
            value = np.zeros(shape.as_list(), dtype=dtype.as_numpy_dtype)
        else:
            raise SavedModelFormatError(
                f"the variable '{proto.name}' of the SavedModel at {self._dir} has no value "
                "in its variables/ checkpoint")
        if not shape.is_compatible_with(np.shape(value)):
            raise SavedModelFormatError(
                f"the variable '{proto.name}' is declared with shape {shape} but its saved "
                f"value has shape {np.shape(value)}")
        var = Variable(np.asarray(value), trainable=proto.trainable, dtype=dtype,
                       name=proto.name or "Variable")
        var._name = proto.name or "Variable"     # as saved, whatever name scope is open
        return var

    def _constant(self, operation):
        for node in self._meta.graph_def.node:
            if node.name == operation and "value" in node.attr:
                return constant(decode_tensor(node.attr["value"].tensor))
        raise SavedModelFormatError(f"the saved constant '{operation}' is not in the graph")

    def _asset(self, index):
        asset = _UserObject()
        files = self._meta.asset_file_def
        name = files[index].filename if index < len(files) else ""
        asset.asset_path = constant(os.path.join(self._dir, constants.ASSETS_DIRECTORY, name))
        return asset

    # -- 2. functions -------------------------------------------------------------------------
    def _concrete_function(self, name, param_names, num_positional=None, defaults=None):
        saved = self._meta.object_graph_def.concrete_functions.get(name)
        if saved is None:
            raise SavedModelFormatError(f"the SavedModel at {self._dir} has no concrete "
                                        f"function {name}")
        self._library.check(name)
        captured = [self._objects[i] for i in saved.bound_inputs]
        signature = decode_structure(saved.canonicalized_input_signature)
        if signature is None:
            signature = ((), {})
        return RestoredConcreteFunction(
            name, self._library.program(name), captured, signature,
            decode_structure(saved.output_signature), param_names, num_positional, defaults)

    def _gradient_functions(self):
        """{gradient function name: (captured tensor names, output structure)} for the
        custom gradients saved with the functions (`registered_gradients`)."""
        saved = self._meta.object_graph_def.concrete_functions
        out = {}
        for entry in self._meta.graph_def.library.registered_gradients:
            function = saved.get(entry.gradient_func)
            if function is None:
                continue
            names = [self._nodes[i].captured_tensor.name for i in function.bound_inputs
                     if self._nodes[i].WhichOneof("kind") == "captured_tensor"]
            structure = decode_structure(function.output_signature)
            if not isinstance(structure, (list, tuple)):
                structure = [structure]
            out[entry.gradient_func] = (names, list(structure))
        return out

    def _make_functions(self):
        for i, node in enumerate(self._nodes):
            kind = node.WhichOneof("kind")
            if kind == "function":
                spec = decode_function_spec(node.function.function_spec)
                traces = [self._concrete_function(n, spec.args, None, spec.defaults)
                          for n in node.function.concrete_functions]
                self._objects[i] = RestoredFunction(self._name_of(i), traces, spec)
            elif kind == "bare_concrete_function":
                bare = node.bare_concrete_function
                names, defaults = list(bare.argument_keywords), {}
                if bare.HasField("function_spec"):
                    spec = decode_function_spec(bare.function_spec)
                    names, defaults = spec.args or names, spec.defaults
                self._objects[i] = self._concrete_function(
                    bare.concrete_function_name, names,
                    bare.allowed_positional_arguments if bare.argument_keywords else None,
                    defaults)

    def _name_of(self, node_id):
        for node in self._nodes:
            for child in node.children:
                if child.node_id == node_id:
                    return child.local_name
        return "restored_function_body"

    # -- 3. edges -----------------------------------------------------------------------------
    def _connect(self):
        for i, node in enumerate(self._nodes):
            parent = self._objects[i]
            children = node.children
            if isinstance(parent, list):        # items are named by their index
                children = sorted(children, key=lambda c: int(c.local_name)
                                  if c.local_name.isdigit() else -1)
            for child in children:
                value = self._objects[child.node_id]
                if isinstance(parent, _SignatureMap):
                    parent._add(child.local_name, value)
                elif isinstance(parent, list):
                    parent.append(value)
                elif isinstance(parent, dict):
                    parent[child.local_name] = value
                elif isinstance(parent, _UserObject):
                    parent._set_child(child.local_name, value)


# Keras's trackable containers come back as plain Python containers, as in TF.
_CONTAINERS = {"signature_map": _SignatureMap, "trackable_list_wrapper": list,
               "trackable_tuple_wrapper": list, "trackable_dict_wrapper": dict}
