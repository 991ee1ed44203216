"""Looking into traced graphs: `get_operations()`, `as_graph_def()`, `tf.Graph`.

A traced function's graph (`ConcreteFunction.graph`) is a `Graph`: the
`FuncGraph` tracing builds, plus the views TF's guides use to inspect it. Its
operations are the placeholders, the constants the nodes read, and the nodes
in program order; `as_graph_def()` prints them in the protobuf text format of
TF's GraphDef (names, op types, inputs, dtype attributes).

    >>> import tapeflow as tf
    >>> @tf.function
    ... def affine(x):
    ...     return x * 2.0 + 1.0
    >>> graph = affine.get_concrete_function(tf.TensorSpec([3], tf.float32)).graph
    >>> [op.type for op in graph.get_operations()]
    ['Placeholder', 'Const', 'Mul', 'Const', 'AddV2']
"""
from __future__ import annotations

import contextlib

from tapeflow.framework.context import state
from tapeflow.framework.graph import FuncGraph

_DT_NAMES = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF",
             "int32": "DT_INT32", "int64": "DT_INT64", "int8": "DT_INT8", "int16": "DT_INT16",
             "uint8": "DT_UINT8", "uint16": "DT_UINT16", "uint32": "DT_UINT32",
             "uint64": "DT_UINT64", "bool": "DT_BOOL", "string": "DT_STRING",
             "complex64": "DT_COMPLEX64", "complex128": "DT_COMPLEX128"}


class Operation:
    """One operation of a traced graph (`graph.get_operations()`)."""

    def __init__(self, name, op_type, inputs, outputs, graph, dtype=None):
        self.name = name
        self.type = op_type
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.graph = graph
        self._dtype = dtype

    @property
    def node_def(self):
        return NodeDef(self.name, self.type, [_input_name(x) for x in self.inputs],
                       self._dtype)

    def __repr__(self):
        return f"<tf.Operation '{self.name}' type={self.type}>"


class NodeDef:
    """A node of a `GraphDef`: name, op, inputs and the dtype attribute."""

    def __init__(self, name, op, inputs, dtype):
        self.name, self.op, self.input, self._dtype = name, op, list(inputs), dtype

    @property
    def attr(self):
        return {} if self._dtype is None else {"T": self._dtype}

    def text(self, indent=""):
        lines = [f'{indent}name: "{self.name}"', f'{indent}op: "{self.op}"']
        lines += [f'{indent}input: "{i}"' for i in self.input]
        if self._dtype is not None:
            key = "dtype" if self.op in ("Placeholder", "Const") else "T"
            lines += [f"{indent}attr {{", f'{indent}  key: "{key}"', f"{indent}  value {{",
                      f"{indent}    type: {_DT_NAMES.get(self._dtype.name, 'DT_INVALID')}",
                      f"{indent}  }}", f"{indent}}}"]
        return "\n".join(lines)

    def __str__(self):
        return self.text() + "\n"


class GraphDef:
    """`graph.as_graph_def()`: the graph's nodes, printed as TF's GraphDef text."""

    def __init__(self, nodes):
        self.node = list(nodes)

    def __str__(self):
        parts = []
        for n in self.node:
            parts.append("node {\n" + n.text("  ") + "\n}")
        parts.append("versions {\n  producer: 1882\n}")
        return "\n".join(parts) + "\n"

    __repr__ = __str__


def _input_name(x):
    name = getattr(x, "_ag_op_name", None) or getattr(x, "name", "?")
    if isinstance(name, str) and name.endswith(":0"):
        name = name[:-2]
    return name


def _op_name(tensor, fallback):
    name = getattr(tensor, "_name", None)
    if name:
        return name.rsplit(":", 1)[0]
    return fallback


class Graph(FuncGraph):
    """`tf.Graph`, and the graph a traced function is built in, with TF's inspection API."""

    def __init__(self, name="graph", **kwargs):
        super().__init__(name, **kwargs)

    def get_operations(self):
        """The graph's operations in program order (placeholders and constants first
        where they are read)."""
        ops, seen_consts = [], {}
        for p in self.inputs:
            ops.append(Operation(_op_name(p, "Placeholder"), "Placeholder", [], [p], self,
                                 p.dtype))
        counts = {}
        for node in self.nodes:
            inputs = []
            for x in node.inputs:
                if not x._is_symbolic and not getattr(x, "_is_variable", False):
                    const = seen_consts.get(id(x))
                    if const is None:
                        n = counts.get("Const", 0)
                        counts["Const"] = n + 1
                        const = Operation("Const" if n == 0 else f"Const_{n}", "Const", [],
                                          [x], self, x.dtype)
                        seen_consts[id(x)] = const
                        ops.append(const)
                    x = const.outputs[0]
                    inputs.append(_Named(x, const.name))
                else:
                    inputs.append(x)
            fallback = f"{node.op.name}_{node.id}"
            dtype = node.outputs[0].dtype if node.outputs else None
            ops.append(Operation(_op_name(node.outputs[0], fallback) if node.outputs
                                 else fallback, node.op.name, inputs, node.outputs, self,
                                 dtype))
        return ops

    def get_operation_by_name(self, name):
        for op in self.get_operations():
            if op.name == name:
                return op
        raise KeyError(f"The name '{name}' refers to an Operation not in the graph.")

    def as_graph_def(self, from_version=None, add_shapes=False):
        """The graph as a `GraphDef` (printable in TF's text format)."""
        return GraphDef(op.node_def for op in self.get_operations())

    @contextlib.contextmanager
    def as_default(self):
        """Ops created inside are added to this graph."""
        saved = state.graph
        state.graph = self
        try:
            yield self
        finally:
            state.graph = saved

    def finalize(self):
        return None


class _Named:
    """An input shown under the name of the Const operation that stands for it."""

    def __init__(self, tensor, name):
        self._tensor, self._ag_op_name = tensor, name
        self.dtype, self.shape = tensor.dtype, tensor.shape

    @property
    def name(self):
        return self._ag_op_name + ":0"
