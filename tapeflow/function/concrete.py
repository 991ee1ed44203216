"""Tracing a Python function into a graph, and the `ConcreteFunction` that runs it.

`trace` runs the Python function once with `context.state.graph` set to a new
`FuncGraph`: tensor arguments are replaced by placeholders, every op adds a
node, Python code (including `print`) runs only now. The result is a
`ConcreteFunction`: the graph, its compiled `Plan`, and how to pack the plan's
outputs into the structure the Python function returned.

    >>> import tapeflow as tf
    >>> from tapeflow.function.concrete import trace
    >>> cf = trace(lambda x: x * 2.0, [tf.TensorSpec([None], tf.float32)], {}, 'double')
    >>> cf.structured_input_signature
    ((TensorSpec(shape=(None,), dtype=tf.float32, name=None),), {})
    >>> cf(tf.constant([1., 2.]))
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([2., 4.], dtype=float32)>
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import errors
from tapeflow.framework.context import state
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.function.graph_inspect import Graph
from tapeflow.function.plan import Plan
from tapeflow.utils import nest

_NUMBERS = (bool, int, float, np.number, np.bool_)
# Set by tapeflow.profiler while it records: `call_hook(concrete_function)` is a
# context manager around each call.
call_hook = None


class _Literal:
    """A non-tensor leaf of a function's result, returned as it is."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def trace(python_function, args, kwargs, name, first_trace=True, arg_names=None):
    """Traces `python_function(*args, **kwargs)` into a new ConcreteFunction.

    Leaves of `args`/`kwargs` that are `TensorSpec`s become placeholders; all
    other leaves (Python values, Variables, objects) are passed as they are.

    Args:
        python_function: the function to trace.
        args, kwargs: its arguments, with TensorSpecs where tensors go.
        name: the function's name (for errors and generated code).
        first_trace: whether Variables may be created (only on the first trace).
        arg_names: the parameter name of each positional argument; placeholders are
            named after them ('images:0', nested ones 'images_1:0', ...) as in TF.
    """
    graph = Graph(name, track_variables=True, fold_shapes=True, name_nodes=True)
    watch = VariableWatch(name, graph.created_variables, allowed=first_trace)
    names = _leaf_names(args, kwargs, arg_names)
    flat = nest.flatten((list(args), kwargs))
    placeholders = []
    sym = []
    for leaf, leaf_name in zip(flat, names):
        if isinstance(leaf, TensorSpec):
            p = graph.placeholder(leaf.shape, leaf.dtype, leaf.name or leaf_name)
            placeholders.append(p)
            sym.append(p)
        else:
            sym.append(leaf)
    sym_args, sym_kwargs = nest.pack_sequence_as((list(args), kwargs), sym)
    saved = state.graph, state.tapes
    state.trace_stack.append(saved[0])
    state.variable_watch.append(watch)
    state.graph, state.tapes = graph, []
    try:
        result = python_function(*sym_args, **sym_kwargs)
    finally:
        state.graph, state.tapes = saved
        state.trace_stack.pop()
        state.variable_watch.pop()
    signature = _spec_structure(args, kwargs, names if arg_names else None)
    return ConcreteFunction(graph, placeholders, result, name, input_signature=signature)


class VariableWatch:
    """Notes the Variables a trace creates; refuses them on any trace but the first.

    Pushed on `state.variable_watch` while a function is traced, so Variables made
    under `init_scope` (layer weights, optimizer slots) count too, as in TF. A
    refused Variable fails where it is created, before the caller keeps it.
    """

    __slots__ = ("allowed", "created", "name")

    def __init__(self, name, created, allowed):
        self.name = name
        self.created = created
        self.allowed = allowed

    def note(self, variable):
        if not self.allowed:
            raise ValueError(
                "tf.function only supports singleton tf.Variables created on the first call. "
                "Make sure the tf.Variable is only created once or created outside "
                f"tf.function. Function '{self.name}' is creating the Variable "
                f"'{variable.name}' while being traced again (for new arguments or another "
                "Python object, e.g. a second optimizer, whose first use builds Variables); "
                "create Variables once (in __init__, or guarded by `if self.v is None`), or "
                "use one tf.function per such object.")
        self.created.append(variable)


def _leaf_names(args, kwargs, arg_names):
    """A name per leaf of (args, kwargs), in nest.flatten order."""
    out = []
    items = [(arg_names[i] if arg_names and i < len(arg_names) else f"args_{i}", a)
             for i, a in enumerate(args)]
    items += sorted(kwargs.items())
    for base, value in items:
        n = len(nest.flatten(value))
        out += [base if k == 0 else f"{base}_{k}" for k in range(n)]
    return out


def _spec_structure(args, kwargs, names):
    """(args, kwargs) with each unnamed TensorSpec named after its parameter, as TF shows."""
    if names is None:
        return tuple(args), dict(kwargs)
    flat = nest.flatten((list(args), kwargs))
    named = [TensorSpec(x.shape, x.dtype, n) if isinstance(x, TensorSpec) and x.name is None
             else x for x, n in zip(flat, names)]
    a, k = nest.pack_sequence_as((list(args), kwargs), named)
    return tuple(a), dict(k)


def _output_leaf(x, graph, name):
    """A result leaf as a plan output (tensor or Variable), or a `_Literal`."""
    if isinstance(x, Tensor):
        if x._is_symbolic and x.graph is not graph:
            raise errors.InvalidArgumentError(
                f"Function '{name}' returns {x!r}, a tensor of another graph "
                f"('{x.graph.name}'): a tf.function can only return its own tensors.")
        return x
    if getattr(x, "_is_variable", False):
        return x
    if isinstance(x, (*_NUMBERS, np.ndarray)):
        return convert_to_tensor(x)      # TF returns Python numbers as tensors too
    return _Literal(x)


class ConcreteFunction:
    """A traced function: graph, compiled plan, and output structure.

    Called with the tensors that fill its placeholders (in the order of its
    structured signature); Python arguments were fixed at trace time.
    """

    def __init__(self, graph, placeholders, structured_outputs, name, input_signature=None):
        self.graph = graph
        self.name = name
        self.inputs = list(placeholders)
        self.structured_outputs = structured_outputs
        self.structured_input_signature = input_signature
        leaves = [_output_leaf(x, graph, name) for x in nest.flatten(structured_outputs)]
        self._leaves = leaves
        self.outputs = [x for x in leaves if not isinstance(x, _Literal)]
        self.variables = tuple(graph.variables.values())
        self.trainable_variables = tuple(v for v in self.variables if v.trainable)
        self.plan = Plan(graph, self.inputs, self.outputs, name)
        self._pack = self._make_packer()
        self._grad = None           # gradients.FunctionGradient, built on first taped call

    def _make_packer(self):
        structure = self.structured_outputs
        leaves = self._leaves
        literal_at = [(i, x.value) for i, x in enumerate(leaves) if isinstance(x, _Literal)]
        if not nest.is_nested(structure):
            if literal_at:
                value = literal_at[0][1]
                return lambda tensors: value
            return lambda tensors: tensors[0]
        if not literal_at:
            return lambda tensors: nest.pack_sequence_as(structure, tensors)

        def pack(tensors):
            flat = list(tensors)
            for i, v in literal_at:
                flat.insert(i, v)
            return nest.pack_sequence_as(structure, flat)
        return pack

    # -- calling ------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        """Calls with tensors (or values convertible to them) for the placeholders."""
        flat = [x for x in nest.flatten((list(args), kwargs))]
        tensors = []
        for x in flat:
            if isinstance(x, (Tensor, np.ndarray, list, float, int)):
                tensors.append(x if isinstance(x, Tensor) else convert_to_tensor(x))
        if len(tensors) != len(self.inputs):
            raise TypeError(
                f"ConcreteFunction {self.name} expects {len(self.inputs)} tensor argument(s) "
                f"({', '.join(str(p.shape) + ' ' + p.dtype.name for p in self.inputs)}); "
                f"received {len(tensors)}.")
        for i, (t, p) in enumerate(zip(tensors, self.inputs)):
            if t.dtype is not p.dtype or not p.shape.is_compatible_with(t.shape):
                raise errors.InvalidArgumentError(
                    f"ConcreteFunction {self.name}: argument #{i} was traced as a "
                    f"{p.dtype.name} tensor of shape {p.shape}; received a {t.dtype.name} "
                    f"tensor of shape {t.shape}.")
        return self.call_flat(tensors)

    def call_flat(self, tensors):
        """Runs on eager tensors in placeholder order; records on recording tapes."""
        if call_hook is not None:           # the profiler: one event per call
            with call_hook(self):
                return self._call_flat(tensors)
        return self._call_flat(tensors)

    def _call_flat(self, tensors):
        if state.tapes:
            from tapeflow.function.gradients import call_recorded
            return self._pack(call_recorded(self, tensors))
        outs = self.plan.run(*[t._value for t in tensors])
        return self._pack([Tensor(v) for v in outs])

    # -- signatures, as TF prints them -------------------------------------------------------
    def pretty_printed_signature(self, verbose=True):
        """The inputs (TensorSpecs and Python literals), output type and captures as text.

        Example:
            >>> import tapeflow as tf
            >>> f = tf.function(lambda x, k=2: x * k)
            >>> print(f.get_concrete_function(tf.TensorSpec([], tf.float32))
            ...       .pretty_printed_signature(verbose=False))
            (x: TensorSpec(shape=(), dtype=tf.float32, name=None), k: Literal[2])
            -> TensorSpec(shape=(), dtype=tf.float32, name=None)
        """
        params = getattr(self, "_params", None) or [
            (f"args_{i}", "POSITIONAL_OR_KEYWORD", v)
            for i, v in enumerate((self.structured_input_signature or ((), {}))[0])]
        output = _type_text(nest.map_structure(_output_spec, self.structured_outputs))
        if not verbose:
            parts, star = [], False
            for name, kind, value in params:
                if kind == "KEYWORD_ONLY" and not star:
                    parts.append("*")
                    star = True
                parts.append(f"{name}: {_type_text(value)}")
            return f"({', '.join(parts)}) -> {output}"
        lines = ["Input Parameters:"]
        lines += [f"  {name} ({kind}): {_type_text(value)}" for name, kind, value in params]
        lines += ["Output Type:", f"  {output}", "Captures:"]
        caps = [f"  {id(v)}: TensorSpec(shape=(), dtype=tf.resource, name=None)"
                for v in self.variables]
        lines += caps or ["  None"]
        return "\n".join(lines)

    def __str__(self):
        return "ConcreteFunction " + self.pretty_printed_signature()

    def __repr__(self):
        return f"<ConcreteFunction {self.pretty_printed_signature(verbose=False)} at " \
            f"0x{id(self):X}>"


def _output_spec(x):
    if isinstance(x, Tensor) or getattr(x, "_is_variable", False):
        return TensorSpec(x.shape, x.dtype)
    return x


def _type_text(value):
    """TF's text for one parameter or output: TensorSpec, Literal[...], Tuple[...], ..."""
    if isinstance(value, TensorSpec):
        return repr(TensorSpec(value.shape, value.dtype))
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return f"Tuple[{', '.join(_type_text(v) for v in value)}]"
    if isinstance(value, list):
        return f"List[{', '.join(_type_text(v) for v in value)}]"
    if isinstance(value, dict):
        items = ", ".join(f"[{k!r}, {_type_text(v)}]" for k, v in value.items())
        return f"Dict[{items}]"
    if value is None or isinstance(value, (*_NUMBERS, str)):
        return f"Literal[{value!r}]"
    return f"{type(value).__name__}[{value!r}]"
