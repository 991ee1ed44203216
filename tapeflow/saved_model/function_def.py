"""A traced function as a TensorFlow `FunctionDef`.

`FunctionWriter` turns one tapeflow `ConcreteFunction` into the `FunctionDef` that
TensorFlow's loader rebuilds into a graph:

1. arguments: one per placeholder (the tensor leaves of the call, in `tf.nest` order),
   then one `DT_RESOURCE` argument per Variable the graph reads or writes (the
   SavedModel's `bound_inputs` feed them), with the Variable's dtype and shape as
   handle data;
2. nodes: each traced node through its exporter (`export_ops.py`). tapeflow's ops take
   Variables as inputs and read them when they run; TensorFlow's read a resource with
   `ReadVariableOp`, so each such use becomes a read placed where the op ran. Reads and
   writes of Variables (and other stateful ops) are chained by control edges in program
   order, so the loaded function sees every assignment where tapeflow did;
3. results: an `Identity` per output leaf, after a `NoOp` that waits for every stateful
   node, as TensorFlow's own functions end (side effects finish before results leave).

References follow the `FunctionDef` convention: an argument by its name, a node output
as `node:output_arg:index` (the argument names are TensorFlow's, see `export_ops`).
"""
from __future__ import annotations

import re

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.saved_model import export_ops
from tapeflow.saved_model._protos import protos
from tapeflow.saved_model.structure_coder import dtype_number, shape_proto

DT_RESOURCE = 20


class UnsupportedOpError(ValueError):
    """A traced op that has no TensorFlow form (or attributes that have none)."""


def _arg_name(name: str, used: set) -> str:
    """A FunctionDef argument name (lower case, `[a-z][a-z0-9_]*`), unique in `used`."""
    base = re.sub(r"[^a-z0-9_]", "_", name.lower()) or "arg"
    if not base[0].isalpha():
        base = "arg_" + base
    out, n = base, 0
    while out in used:
        out = f"{base}_{n}"
        n += 1
    used.add(out)
    return out


def tensor_proto(value, dtype=None):
    """A `TensorProto` holding the array `value` (as `dtype` when given)."""
    p = protos()
    arr = np.asarray(value)
    if dtype is not None:
        arr = arr.astype(dtypes.as_dtype(dtype)._np)
    t = p.tensor.TensorProto(dtype=dtype_number(dtypes.from_numpy(arr.dtype)
                                                if arr.dtype.kind not in "USO"
                                                else dtypes.string))
    t.tensor_shape.CopyFrom(shape_proto(list(arr.shape)))
    if arr.dtype.kind in "USO":
        t.string_val.extend(x if isinstance(x, bytes) else str(x).encode("utf-8")
                            for x in arr.reshape(-1))
    else:
        t.tensor_content = np.ascontiguousarray(arr, arr.dtype.newbyteorder("<")).tobytes()
    return t


def attr_value(value):
    """An `AttrValue` from a Python value: bool, int, float, str, DType, TensorShape,
    list of ints, or an `AttrValue` already."""
    p = protos()
    av = p.attr_value.AttrValue
    if isinstance(value, av):
        return value
    if isinstance(value, bool):
        return av(b=value)
    if isinstance(value, (int, np.integer)):
        return av(i=int(value))
    if isinstance(value, float):
        return av(f=value)
    if isinstance(value, str):
        return av(s=value.encode("utf-8"))
    if isinstance(value, bytes):
        return av(s=value)
    if isinstance(value, dtypes.DType):
        return av(type=dtype_number(value))
    if isinstance(value, (list, tuple)):
        return av(list=av.ListValue(i=[int(v) for v in value]))
    raise TypeError(f"no AttrValue for {value!r}")


class FunctionWriter:
    """Builds one `FunctionDef` from a traced graph (see the module docstring).

    Args:
        name: the FunctionDef's name (`__inference_<function>_<n>`).
        function_name: the tf.function's name, for errors.
    """

    def __init__(self, name: str, function_name: str, library=None):
        p = protos()
        self.fdef = p.function.FunctionDef()
        self.fdef.signature.name = name
        self.function_name = function_name
        # FunctionDefs this one calls (an If's branches, a While's cond and body).
        self.library = [] if library is None else library
        self._names = set()          # node names taken
        self._args = set()           # argument names taken
        self._refs = {}              # id(tensor) -> reference string
        self._resources = {}         # id(Variable) -> argument name
        self._stateful = []          # stateful node names, in program order
        self._const_cache = {}

    # -- arguments -------------------------------------------------------------------------
    def add_input(self, tensor, name: str, dtype=None):
        """An argument for `tensor` (None: an argument nothing inside reads)."""
        arg = self.fdef.signature.input_arg.add(
            name=_arg_name(name, self._args),
            type=dtype_number(tensor.dtype if dtype is None else dtype))
        if tensor is not None:
            self._refs[id(tensor)] = arg.name
        return arg

    def add_resource(self, var, name: str):
        arg = self.fdef.signature.input_arg.add(name=_arg_name(name + "_resource", self._args),
                                                type=DT_RESOURCE)
        handle = arg.handle_data.add(dtype=dtype_number(var.dtype))
        handle.shape.CopyFrom(shape_proto(var.shape))
        self._resources[id(var)] = arg.name
        return arg

    def set_input_shapes(self, shapes):
        lst = self.fdef.attr["_input_shapes"].list
        for s in shapes:
            lst.shape.add().CopyFrom(shape_proto(s))

    # -- nodes -----------------------------------------------------------------------------
    def unique(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_./\-]", "_", base) or "node"
        if not re.match(r"[A-Za-z0-9.]", base):
            base = "n" + base
        out, n = base, 0
        while out in self._names:
            n += 1
            out = f"{base}_{n}"
        self._names.add(out)
        return out

    def add_node(self, op_type: str, inputs, attrs=None, name=None, stateful=False,
                 list_outputs=None):
        """Adds a NodeDef; returns the references of its outputs (TF's argument names;
        `list_outputs`: the op has one list output of this many tensors)."""
        node = self.fdef.node_def.add(name=self.unique(name or op_type), op=op_type)
        node.input.extend(inputs)
        if stateful:
            if self._stateful:
                node.input.append("^" + self._stateful[-1])
            self._stateful.append(node.name)
        for key, value in (attrs or {}).items():
            node.attr[key].CopyFrom(attr_value(value))
        if list_outputs is not None:
            arg = export_ops.output_arg_names(op_type)[0]
            return [f"{node.name}:{arg}:{k}" for k in range(list_outputs)]
        return export_ops.output_refs(op_type, node.name, node)

    def const(self, value, dtype=None, name="Const") -> str:
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtypes.as_dtype(dtype)._np)
        if arr.dtype.kind not in "USO" and arr.size <= 16:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            if key in self._const_cache:
                return self._const_cache[key]
        else:
            key = None
        t = tensor_proto(arr)
        ref = self.add_node("Const", [], {"dtype": protos().attr_value.AttrValue(type=t.dtype),
                                          "value": protos().attr_value.AttrValue(tensor=t)},
                            name=name)[0]
        if key is not None:
            self._const_cache[key] = ref
        return ref

    def read(self, var, name="ReadVariableOp") -> str:
        """A `ReadVariableOp` of the captured Variable `var`, in program order."""
        return self.add_node("ReadVariableOp", [self.resource(var)], {"dtype": var.dtype},
                             name=name, stateful=True)[0]

    def resource(self, var) -> str:
        try:
            return self._resources[id(var)]
        except KeyError:
            raise UnsupportedOpError(
                f"function '{self.function_name}' uses the Variable '{var.name}' that is not "
                "among its captured inputs") from None

    def ref(self, x, name="Const") -> str:
        """The reference of an op input: a traced tensor, a Variable (read now) or an eager
        constant (a `Const` node)."""
        hit = self._refs.get(id(x))
        if hit is not None and getattr(x, "_is_symbolic", False):
            return hit
        if getattr(x, "_is_variable", False):
            return self.read(x, name=f"{name}/ReadVariableOp")
        if getattr(x, "_is_symbolic", False):
            raise UnsupportedOpError(
                f"function '{self.function_name}': the tensor {x!r} is used before the node "
                "that makes it (a tensor of another graph?)")
        return self.const(x._value, name=name)

    def bind(self, tensor, ref: str):
        self._refs[id(tensor)] = ref

    # -- the whole graph ---------------------------------------------------------------------
    def add_graph_nodes(self, graph):
        for node in graph.nodes:
            export = export_ops.exporter_for(node.op)
            if export is None:
                raise UnsupportedOpError(
                    f"tf.saved_model.save: the op '{node.op.name}' in function "
                    f"'{self.function_name}' has no TensorFlow SavedModel form in tapeflow; "
                    "nothing was written. The ops that can be saved are listed by "
                    "tapeflow.saved_model.export_ops.exportable_op_names().")
            try:
                refs = export(self, node)
            except UnsupportedOpError as e:
                raise UnsupportedOpError(
                    f"tf.saved_model.save: the op '{node.op.name}' in function "
                    f"'{self.function_name}' cannot be saved: {e}") from None
            for out, ref in zip(node.outputs, refs):
                self.bind(out, ref)

    def add_outputs(self, leaves, names=None, passed_through=()):
        """The function's results: one `Identity` per leaf, after every side effect, then
        the arguments `passed_through` returned as they are (a While body's captures)."""
        sig = self.fdef.signature
        # A leaf is a tensor, or a (reference, dtype) pair for a value made by the writer.
        refs = [x[0] if isinstance(x, tuple) else self.ref(x, name="Const") for x in leaves]
        if self._stateful:
            noop = self.fdef.node_def.add(name=self.unique("NoOp"), op="NoOp")
            noop.input.extend("^" + n for n in self._stateful)
            for n in self._stateful:
                sig.control_output.append(n)
                self.fdef.control_ret[n] = n
            sig.is_stateful = True
        for i, (x, ref) in enumerate(zip(leaves, refs)):
            arg_name = _arg_name(names[i] if names else "identity", self._args)
            dtype = x[1] if isinstance(x, tuple) else x.dtype
            sig.output_arg.add(name=arg_name, type=dtype_number(dtype))
            node = self.fdef.node_def.add(name=self.unique("Identity"), op="Identity")
            node.input.append(ref)
            if self._stateful:
                node.input.append("^" + noop.name)
            node.attr["T"].CopyFrom(attr_value(dtype))
            self.fdef.ret[arg_name] = f"{node.name}:output:0"
        for arg in passed_through:
            out = sig.output_arg.add(name=_arg_name("passthrough", self._args), type=arg.type)
            out.handle_data.extend(arg.handle_data)
            self.fdef.ret[out.name] = arg.name


def graph_variables(graph) -> list:
    """The Variables a graph reads or writes, its If/While sub-graphs' included."""
    out, seen = [], set()

    def visit(g):
        for var in g.variables.values():
            if id(var) not in seen:
                seen.add(id(var))
                out.append(var)
        for node in g.nodes:
            for sub in export_ops.subgraphs(node.op):
                visit(sub)
    visit(graph)
    return out


def captured_variables(concrete) -> list:
    """The Variables a trace captures: those its ops use, then those it returns as they are."""
    out = graph_variables(concrete.graph)
    seen = {id(v) for v in out}
    for x in concrete.outputs:
        if getattr(x, "_is_variable", False) and id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out
