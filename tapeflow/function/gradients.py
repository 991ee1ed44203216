"""Differentiating through a `tf.function` call: one tape entry, a traced backward graph.

When tapes are recording at call time, the call runs a variant of the
forward plan that also returns the *saved* values: every tensor that a
gradient rule of the forward graph may read (the inputs of the nodes on a
path from a differentiable input, their outputs unless the op declares its
rule reads none, and their residuals, such as a convolution's patches). Each recording tape gets one
entry for the whole call, whose outputs are the function's results followed
by the saved values.

Its gradient rule runs a *backward function*: a graph traced once (per set
of incoming gradients) by walking the forward graph's nodes in reverse and
calling their gradient rules on placeholders that stand for the saved
values. The backward function is itself a `ConcreteFunction`, so if an outer
tape is recording while it runs, it is recorded the same way and gradients
of any order follow.

    >>> import tapeflow as tf
    >>> f = tf.function(lambda x: x ** 3)
    >>> x = tf.constant(2.0)
    >>> with tf.GradientTape() as t2:
    ...     t2.watch(x)
    ...     with tf.GradientTape() as t1:
    ...         t1.watch(x)
    ...         y = f(x)
    ...     dy = t1.gradient(y, x)
    >>> float(dy), float(t2.gradient(dy, x))
    (12.0, 12.0)
"""
from __future__ import annotations

from tapeflow.autodiff import backprop
from tapeflow.framework import errors
from tapeflow.framework.context import state
from tapeflow.framework.graph import FuncGraph
from tapeflow.framework.op import OpDef, tape_wants
from tapeflow.framework.tensor import Tensor
from tapeflow.function.plan import Plan, live_nodes


def _is_float(x) -> bool:
    d = x.dtype
    return d.is_floating or d.is_complex


def _never_run(*args, **kwargs):  # pragma: no cover - entries are recorded, never run
    raise RuntimeError("function-call tape entries are never executed")


class FunctionGradient:
    """What a ConcreteFunction needs to be recorded on tapes and differentiated."""

    def __init__(self, concrete):
        self.concrete = concrete
        graph = concrete.graph
        self.variables = tuple(v for v in concrete.variables if _is_float(v))
        watched = {id(p) for p in concrete.inputs if _is_float(p)}
        watched.update(id(v) for v in self.variables)
        self.differentiable = bool(watched)
        on_path = []
        for node in graph.nodes:
            if node.op.no_grad or not any(id(x) in watched for x in node.inputs):
                continue
            on_path.append(node)
            watched.update(id(o) for o in node.outputs)
        self.on_path = on_path
        self.watched = watched
        saved, seen = [], set()
        for node in on_path:
            for t in node.inputs + _outputs_read(node):
                if t._is_symbolic and id(t) not in seen:
                    seen.add(id(t))
                    saved.append(t)
        self.saved = saved
        self.n_out = len(concrete.outputs)
        self.plan = Plan(graph, concrete.inputs, list(concrete.outputs) + saved,
                         concrete.name + "_forward")
        # A plain 4-argument function: the rule signature every op uses.
        def rule(inputs, outputs, attrs, dy):
            return self._rule(inputs, outputs, dy)

        self.op = OpDef(f"Function-{concrete.name}", _never_run, rule,
                        num_outputs=self.n_out + len(saved), register=False)
        self._backward = {}

    # -- the tape entry's rule ------------------------------------------------------------
    def _rule(self, inputs, outputs, dy):
        dys = dy if isinstance(dy, tuple) else (dy,)
        n_out = self.n_out
        mask = []
        for j, d in enumerate(dys):
            if d is None:
                mask.append(False)
            elif j >= n_out and d._value is not None and not d._value.any():
                mask.append(False)       # a zero filled in for an unused saved value
            else:
                mask.append(True)
        mask = tuple(mask)
        backward, used, used_vars = self._backward_for(mask)
        # The entry's Variable inputs: the Variables, or the snapshots a tape put in
        # their place when they were updated after the call (the values the call read).
        var_inputs = inputs[len(inputs) - len(self.variables):]
        args = ([outputs[n_out + i] for i in used] + [var_inputs[i] for i in used_vars]
                + [d for d, m in zip(dys, mask) if m])
        grads = backward.call_flat(args)
        return tuple(grads)

    def _backward_for(self, mask):
        hit = self._backward.get(mask)
        if hit is None:
            hit = self._backward[mask] = self._trace_backward(mask)
        return hit

    def _trace_backward(self, mask):
        from tapeflow.function.concrete import ConcreteFunction
        concrete = self.concrete
        graph = FuncGraph(concrete.name + "_backward", fold_shapes=True)
        mapped = {}
        for t in self.saved:
            mapped[id(t)] = graph.placeholder(t.shape, t.dtype)
        saved_ph = [mapped[id(t)] for t in self.saved]
        var_ph = [graph.placeholder(v.shape, v.dtype) for v in self.variables]
        var_map = {id(v): p for v, p in zip(self.variables, var_ph)}

        def m(x):
            if x._is_symbolic:
                p = mapped.get(id(x))
                if p is None:
                    p = mapped[id(x)] = graph.placeholder(x.shape, x.dtype)
                return p
            return var_map.get(id(x), x) if x._is_variable else x

        forward_targets = list(concrete.outputs) + self.saved
        targets, dy_ph = [], []
        for t, on in zip(forward_targets, mask):
            if on:
                targets.append(m(t) if t._is_symbolic else None)
                dy_ph.append(graph.placeholder(t.shape, t.dtype))
        entries = []
        for node in self.on_path:
            outs = tuple(m(o) for o in node.outputs)
            entries.append((node.op, tuple(m(x) for x in node.inputs),
                            outs if node.op.n_total != 1 else outs[0], node.attrs))
        watched = {id(mapped[i]): mapped[i] for i in self.watched if i in mapped}
        watched.update((id(p), p) for p in var_ph)
        sources = [m(p) for p in concrete.inputs] + var_ph
        saved_state = state.graph, state.tapes
        state.graph, state.tapes = graph, []
        try:
            grads = backprop.backward(entries, watched, targets, sources, dy_ph, False)
        finally:
            state.graph, state.tapes = saved_state
        grads = [None if g is None or (g._is_symbolic and g.graph is not graph and
                                       g.graph is not None) else g for g in grads]
        used_ids = set()
        outs = [g for g in grads if g is not None]
        for node in live_nodes(graph, outs):
            used_ids.update(id(x) for x in node.inputs)
        used_ids.update(id(g) for g in outs)
        saved_ids = {id(p) for p in saved_ph}
        extra = [p for p in mapped.values() if id(p) not in saved_ids and id(p) in used_ids]
        if extra:
            raise errors.InternalError(
                f"The backward function of '{concrete.name}' reads {extra[0]!r}, a forward "
                "value that was not saved.")
        used = [i for i, p in enumerate(saved_ph) if id(p) in used_ids]
        used_vars = [i for i, p in enumerate(var_ph) if id(p) in used_ids]
        inputs = [saved_ph[i] for i in used] + [var_ph[i] for i in used_vars] + dy_ph
        backward = ConcreteFunction(graph, inputs, grads, concrete.name + "_backward")
        return backward, used, used_vars


def _outputs_read(node):
    """The outputs of a forward node its gradient may read: all of them, unless its op
    declares that its rule reads none (then only its residuals). A multi-output op's
    outputs are kept either way: the walk fills zeros shaped like those without a
    gradient."""
    op = node.op
    if op.grad_uses_outputs or op.num_outputs != 1:
        return node.outputs
    return node.outputs[1:]


def call_recorded(concrete, tensors):
    """Runs `concrete` on `tensors`, recording the call as one entry on each recording tape."""
    fg = concrete._grad
    if fg is None:
        fg = concrete._grad = FunctionGradient(concrete)
    inputs = tuple(tensors) + fg.variables
    if not fg.differentiable or not _any_tape_watches(inputs):
        return [Tensor(v) for v in concrete.plan.run(*[t._value for t in tensors])]
    arrays = fg.plan.run(*[t._value for t in tensors])
    outputs = tuple(Tensor(a) for a in arrays)
    for tape in state.tapes:
        tape._record(fg.op, inputs, outputs, {})
    return list(outputs[:fg.n_out])


def _any_tape_watches(inputs) -> bool:
    """Whether some recording tape would keep an entry with these inputs: only then
    are the saved values worth keeping."""
    return tape_wants(inputs)
