"""Graphs built by tracing: `tf.function` bodies and Keras functional builds.

While a `FuncGraph` is current (`context.state.graph`), `execute` calls
`graph.add_op`, which appends a `Node` and returns `SymbolicTensor`s.

Shapes: an op's `shape_fn` when it has one; otherwise the kernel runs on small
stand-in arrays ("probing"), twice when some dimension is unknown, with that
dimension set to two different sizes: a dimension of the result that changes
between the runs depends on the unknown one and is unknown too. Ops whose
inputs are all constants are folded: run now, their result is a constant.

Graphs nest: a `tf.cond` branch or `tf.while_loop` body is traced into a
graph whose `outer_graph` is the enclosing one. When such an inner graph
meets a tensor of an enclosing graph it *captures* it: a placeholder stands
for it inside, and the pair is kept in `captures` so that the op running the
inner graph takes the outer tensor as an input.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.tensor import SymbolicTensor
from tapeflow.framework.tensor_shape import TensorShape

# Sizes given to unknown dimensions when probing: even, and unlike common sizes.
_PROBE_SIZES = (6, 12)
# Ranks given to inputs of unknown rank, one per probe size.
_PROBE_RANKS = (2, 3)

class Node:
    """One op call in a graph: inputs are SymbolicTensors of this graph, eager
    Tensors (captured constants) or Variables (read when the graph runs)."""

    __slots__ = ("attrs", "id", "inputs", "op", "outputs")

    def __init__(self, op, inputs, attrs, node_id):
        self.op = op
        self.inputs = tuple(inputs)
        self.attrs = attrs
        self.outputs = ()
        self.id = node_id

    def __repr__(self):
        return f"<Node {self.id} {self.op.name}>"


class FuncGraph:
    """A graph under construction: placeholders, nodes in program order.

    Args:
        name: shown in errors and in the executor's generated code.
        outer_graph: the enclosing graph whose tensors this one may capture.
        track_variables: keep the Variables created while this graph is
            current in `created_variables` (`tf.function` uses it to allow
            Variables only on the first trace).
        fold_shapes: fold ops that only read their inputs' shapes (declared
            `shape_only`: a gradient's seed `ones_like(loss)`, the zeros of an
            unused branch) when those are fully known, so the ops downstream of
            them fold too; for graphs that are run, not those whose symbolic
            tensors users keep (Keras builds).
        name_nodes: name each node's outputs as TF does ('add:0', 'add_1:0'; an
            op's `node_name`, which is its type unless it declares another).
    """

    # None: Variables created while this graph is current are not noted.
    created_variables = None
    # The class of the symbolic tensors its ops make (a Keras build makes its own).
    tensor_type = SymbolicTensor
    fold_shapes = False
    _node_names = None

    def __init__(self, name: str = "graph", outer_graph=None, track_variables=False,
                 fold_shapes=False, name_nodes=False):
        self.name = name
        self.nodes: list[Node] = []
        self.inputs: list[SymbolicTensor] = []
        self.outputs = None
        self.variables = {}          # id -> Variable read or written by the graph
        self.outer_graph = outer_graph
        self.captures = {}           # id(outer tensor) -> (outer tensor, inner placeholder)
        if track_variables:
            self.created_variables = []
        if fold_shapes:
            self.fold_shapes = True
        if name_nodes:
            self._node_names = {}

    def placeholder(self, shape, dtype, name=None) -> SymbolicTensor:
        t = SymbolicTensor(TensorShape(shape), dtypes.as_dtype(dtype), self)
        if name:
            t._name = f"{name}:0"
        self.inputs.append(t)
        return t

    def capture(self, x) -> SymbolicTensor:
        """The placeholder standing for `x`, a tensor of an enclosing graph.

        Captures are keyed by the tensor of the directly enclosing graph
        (itself captured from further out when `x` comes from there).
        """
        outer = self.outer_graph
        if outer is None:
            raise errors.InvalidArgumentError(
                f"The tensor {x!r} belongs to the graph '{x.graph.name}', not to "
                f"'{self.name}'. A tensor created inside one tf.function cannot be used "
                "in another or after it returns: return it from the function instead.")
        source = x if x.graph is outer else outer.capture(x)
        hit = self.captures.get(id(source))
        if hit is not None:
            return hit[1]
        inner = SymbolicTensor(source.shape, source.dtype, self)
        self.captures[id(source)] = (source, inner)
        return inner

    def add_op(self, op, inputs, attrs):
        symbolic = False
        captured = None
        for i, x in enumerate(inputs):
            if x._is_symbolic:
                if x.graph is not self:
                    captured = captured or list(inputs)
                    captured[i] = self.capture(x)
                symbolic = True
            elif x._is_variable:
                self.variables[id(x)] = x
                symbolic = True
        if not symbolic and not op.stateful:
            return _with_residual_slots(op, _run_eagerly(op, inputs, attrs))
        if self.fold_shapes and op.shape_only and all(
                not x._is_symbolic or x.shape.is_fully_defined() for x in inputs):
            from tapeflow.framework.tensor import Tensor
            return _run_eagerly(op, [Tensor(_stand_in(x, 1)) if x._is_symbolic else x
                                     for x in inputs], attrs)
        if captured is not None:
            inputs = captured
        specs = _output_specs(op, inputs, attrs)
        node = Node(op, inputs, attrs, len(self.nodes))
        outs = tuple(self.tensor_type(shape, dtype, self, node, i)
                     for i, (shape, dtype) in enumerate(specs))
        node.outputs = outs
        if self._node_names is not None:
            base = op.node_name
            n = self._node_names.get(base, 0)
            self._node_names[base] = n + 1
            base = base if n == 0 else f"{base}_{n}"
            for o in outs:
                o._name = f"{base}:{o.index}"
        self.nodes.append(node)
        return outs[0] if op.n_total == 1 else outs


def _with_residual_slots(op, outs):
    """A folded call's outputs in the recorded form: no residuals were produced."""
    if not op.residuals:
        return outs
    return (outs if op.num_outputs != 1 else (outs,)) + (None,) * len(op.residuals)


def _run_eagerly(op, inputs, attrs):
    from tapeflow.framework.context import state
    saved, state.graph = state.graph, None
    try:
        from tapeflow.framework.op import execute
        saved_tapes, state.tapes = state.tapes, []
        try:
            return execute(op, inputs, attrs)
        finally:
            state.tapes = saved_tapes
    finally:
        state.graph = saved


def _output_specs(op, inputs, attrs):
    """(shape, dtype) per output: the op's shape rule, else probing.

    A shape rule written for known ranks may fail on an input of unknown rank;
    probing then finds what the result's shape depends on.
    """
    if op.shape_fn is None:
        return _probe(op, inputs, attrs)
    try:
        return op.shape_fn(inputs, attrs)
    except (TypeError, ValueError, IndexError):
        if not any(x._is_symbolic and x.shape.rank is None for x in inputs):
            raise
        return _probe(op, inputs, attrs)


def _stand_in(x, size):
    if not x._is_symbolic:
        return x._value
    shape = x.shape
    if shape.rank is None:
        # Unknown rank: the two probes differ in rank (and size), so a result whose
        # rank follows the input's comes out of unknown rank.
        dims = (size,) * _PROBE_RANKS[_PROBE_SIZES.index(size)]
    else:
        dims = tuple(size if d is None else d for d in shape.as_list())
    np_dtype = x.dtype._np
    fill = 1 if np_dtype.kind in "fc" else (b"" if np_dtype.kind == "O" else 0)
    return np.full(dims, fill, dtype=np_dtype)


def _probe(op, inputs, attrs):
    unknown = any(x._is_symbolic and not x.shape.is_fully_defined() for x in inputs)
    runs = []
    for size in (_PROBE_SIZES if unknown else _PROBE_SIZES[:1]):
        args = [_stand_in(x, size) for x in inputs]
        try:
            with np.errstate(all="ignore"):
                out = op.kernel(*args, **attrs)
        except errors.OpError:
            raise
        except (ValueError, IndexError, TypeError) as e:
            shapes = ", ".join(str(x.shape) for x in inputs)
            raise errors.op_error(op.name, f"{e} (input shapes: {shapes})") from None
        runs.append(out if op.num_outputs != 1 else (out,))
    specs = []
    for i, first in enumerate(runs[0]):
        first = np.asarray(first)
        shape = list(first.shape)
        for other in runs[1:]:
            o = np.asarray(other[i])
            if o.ndim != first.ndim:
                shape = None
                break
            shape = [a if a == b else None for a, b in zip(shape, o.shape)]
        specs.append((TensorShape(shape), dtypes.from_numpy(first.dtype)))
    return specs
