"""`tf.cond` and `tf.while_loop`: Python control flow eagerly, sub-graphs when traced.

Eagerly (or when the predicate is a constant) `cond` just calls the chosen
branch and `while_loop` is a Python loop, so tapes record the ops that ran.

While tracing with a symbolic predicate, each branch (or the loop's `cond`
and `body`) is traced into its own `FuncGraph`, nested in the current one,
and compiled into a `Plan`. One op joins the current graph: its inputs are
the predicate/loop variables, the outer tensors the sub-graphs captured, and
the Variables they read (so tapes see them); its kernel runs the chosen
branch's plan, or the loop's plans until the condition fails.

The gradient of a traced `cond` is another `cond` whose branches replay each
branch graph under a tape and differentiate it. The gradient of a traced
`while_loop` runs the loop forward again keeping every iteration's loop
variables, then a loop backwards over them, differentiating one `body` step
per iteration.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def relu_or_square(x):
    ...     return tf.cond(x > 0, lambda: x, lambda: x * x)
    >>> float(relu_or_square(tf.constant(-3.0)))
    9.0
    >>> tf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))
    (<tf.Tensor: shape=(), dtype=int32, numpy=4>, <tf.Tensor: shape=(), dtype=int32, numpy=6>)
"""
from __future__ import annotations

import weakref

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.context import state
from tapeflow.framework.graph import FuncGraph
from tapeflow.framework.op import OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.function.plan import Plan, is_pure_read
from tapeflow.utils import nest

# The graphs behind each traced If / While op, for writers that translate a traced function
# into another format (the SavedModel writer): op -> (Branch, Branch, captures) for an If,
# op -> Loop for a While. Weak: they live as long as the op.
traced_structure = weakref.WeakKeyDictionary()


def _is_float(x) -> bool:
    return x.dtype.is_floating or x.dtype.is_complex


class Branch:
    """A function traced into a nested graph: its placeholders, outputs and structure.

    Args:
        fn: called with one placeholder per `args` entry.
        args: tensors giving the placeholders' dtypes (and shapes, unless `arg_shapes`).
        name: the graph's name.
        arg_shapes: the placeholders' shapes, when less specific than `args`'.
        raw: keep `fn`'s result as `structure` only; the caller picks the outputs
            with `set_outputs` (AutoGraph, which decides per variable).
    """

    def __init__(self, fn, args, name, arg_shapes=None, raw=False):
        outer = state.graph
        self.graph = FuncGraph(name, outer_graph=outer, fold_shapes=True)
        self.params = [self.graph.placeholder(
            arg_shapes[i] if arg_shapes is not None else a.shape, a.dtype)
            for i, a in enumerate(args)]
        saved = state.graph, state.tapes
        state.graph, state.tapes = self.graph, []
        try:
            self.structure = fn(*self.params)
        finally:
            state.graph, state.tapes = saved
        self.outputs = []
        if not raw:
            self.set_outputs(nest.flatten(self.structure))

    def set_outputs(self, leaves):
        """The branch's outputs: `leaves` (None skipped) as tensors of this graph."""
        self.outputs = []
        for leaf in leaves:
            if leaf is None:
                continue
            t = as_input(leaf)
            if t._is_symbolic and t.graph is not self.graph:
                t = self.graph.capture(t)
            elif getattr(t, "_is_variable", False):
                t = _read_in(self.graph, t)
            self.outputs.append(t)

    def stateful(self) -> bool:
        return any(n.op.stateful and not is_pure_read(n.op) for n in self.graph.nodes)

    def variables(self):
        return list(self.graph.variables.values())

    def compile(self, captures):
        """A plan over (params..., captured outer tensors...) -> outputs."""
        inner = [self.graph.capture(c) for c in captures]
        return Plan(self.graph, self.params + inner, self.outputs, self.graph.name)


def _read_in(graph, var):
    saved = state.graph
    state.graph = graph
    try:
        return var.read_value()
    finally:
        state.graph = saved


def _union_captures(*branches):
    seen, out = set(), []
    for b in branches:
        for source, _ in b.graph.captures.values():
            if id(source) not in seen:
                seen.add(id(source))
                out.append(source)
    return out


def _union_variables(*branches):
    seen, out = set(), []
    for b in branches:
        for v in b.variables():
            if id(v) not in seen and _is_float(v):
                seen.add(id(v))
                out.append(v)
    return out


def replay(graph, placeholders, values, outputs):
    """Runs `graph`'s nodes again through `execute` on `values` (so tapes and the
    current graph see each op); returns the values of `outputs`.

    Used to differentiate a branch or loop body: only the nodes `outputs` depend
    on run, so side effects (assign, print) are not repeated; a random draw they
    depend on would differ from the forward pass, so that is an error.
    """
    mapped = {id(p): v for p, v in zip(placeholders, values)}
    needed = {n.id for n in _data_nodes(graph, outputs)}
    for node in graph.nodes:
        if node.id not in needed:
            continue
        if node.op.stateful and not is_pure_read(node.op):
            raise errors.UnimplementedError(
                None, None, f"Cannot differentiate through the traced '{graph.name}' graph: "
                f"its result depends on the stateful op {node.op.name}, whose value would "
                "differ when run again for the gradient (e.g. a random draw). Compute it "
                "outside the tf.cond/tf.while_loop and pass it in.")
        ins = [mapped.get(id(x), x) if x._is_symbolic else x for x in node.inputs]
        outs = execute(node.op, ins, node.attrs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        for o, new in zip(node.outputs, outs):
            mapped[id(o)] = new
    return [mapped.get(id(t), t) if t._is_symbolic else t for t in outputs]


def _data_nodes(graph, outputs):
    """The nodes of `graph` that `outputs` depend on (data dependencies only)."""
    needed, stack = {}, [t.node for t in outputs
                         if t._is_symbolic and t.node is not None and t.graph is graph]
    while stack:
        node = stack.pop()
        if node.id in needed:
            continue
        needed[node.id] = node
        stack.extend(x.node for x in node.inputs if x._is_symbolic and x.node is not None)
    return needed.values()


# -- cond ----------------------------------------------------------------------------------

def cond(pred, true_fn=None, false_fn=None, name=None):
    """`tf.cond`: `true_fn()` if `pred` else `false_fn()`.

    Args:
        pred: a scalar boolean tensor or Python bool.
        true_fn, false_fn: callables without arguments returning the same
            structure of tensors (same dtypes).
    """
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError(f"tf.cond: true_fn and false_fn must be callables; got "
                        f"{true_fn!r} and {false_fn!r}.")
    if state.graph is None or not (getattr(pred, "_is_symbolic", False)
                                   or getattr(pred, "_is_variable", False)):
        p = pred._value if isinstance(pred, Tensor) else pred
        if getattr(pred, "_is_variable", False):
            p = pred._value
        if np.ndim(p) != 0:
            raise errors.InvalidArgumentError(
                f"tf.cond: pred must be a scalar boolean, got shape {np.shape(p)}.")
        return true_fn() if bool(p) else false_fn()
    pred = as_input(pred)
    if getattr(pred, "_is_variable", False):
        pred = pred.read_value()
    if pred.dtype is not dtypes.bool or (pred.shape.rank not in (None, 0)):
        raise errors.InvalidArgumentError(
            f"tf.cond: pred must be a scalar bool tensor; got {pred!r}.")
    tb = Branch(lambda: true_fn(), [], "cond_true")
    fb = Branch(lambda: false_fn(), [], "cond_false")
    _check_same_outputs(tb, fb)
    return build_cond(pred, tb, fb)


def _check_same_outputs(tb, fb):
    t_flat, f_flat = nest.flatten(tb.structure), nest.flatten(fb.structure)
    ok = len(t_flat) == len(f_flat) and len(tb.outputs) == len(fb.outputs)
    if ok and nest.is_nested(tb.structure):
        try:
            nest.assert_same_structure(tb.structure, fb.structure)
        except ValueError:
            ok = False
    if not ok:
        raise TypeError(
            "true_fn and false_fn arguments to tf.cond must have the same number, type, and "
            f"overall structure of return values.\n\ntrue_fn output: {tb.structure!r}\n"
            f"false_fn output: {fb.structure!r}")
    for i, (a, b) in enumerate(zip(tb.outputs, fb.outputs)):
        if a.dtype is not b.dtype:
            raise TypeError(
                "true_fn and false_fn arguments to tf.cond must have the same number, type, "
                f"and overall structure of return values: output #{i} is {a.dtype.name} "
                f"{a.shape} from true_fn but {b.dtype.name} {b.shape} from false_fn.")


def cond_outputs(pred, tb, fb):
    """The If op running `tb` or `fb` (Branches with matching outputs): its outputs."""
    captures = _union_captures(tb, fb)
    variables = _union_variables(tb, fb)
    t_plan, f_plan = tb.compile(captures), fb.compile(captures)
    n_out = len(tb.outputs)
    n_cap = len(captures)

    def kernel(p, *args):
        outs = (t_plan if p else f_plan).run(*args[:n_cap])
        return outs[0] if n_out == 1 else outs

    specs = [(a.shape.most_specific_compatible_shape(b.shape), a.dtype)
             for a, b in zip(tb.outputs, fb.outputs)]

    def rule(inputs, outputs, attrs, dy):
        return _cond_grad(tb, fb, captures, variables, inputs, outputs, dy)

    op = OpDef("If", kernel, rule, num_outputs=n_out, shape_fn=lambda i, a: specs,
               stateful=tb.stateful() or fb.stateful(), register=False)
    traced_structure[op] = (tb, fb, captures)
    outs = execute(op, (pred, *captures, *variables))
    return list(outs) if isinstance(outs, tuple) else [outs]


def build_cond(pred, tb, fb):
    """The If op running `tb` or `fb`, its outputs packed as `tb.structure`."""
    leaves = iter(cond_outputs(pred, tb, fb))
    return nest.pack_sequence_as(
        tb.structure, [None if leaf is None else next(leaves)
                       for leaf in nest.flatten(tb.structure)])


def _cond_grad(tb, fb, captures, variables, inputs, outputs, dy):
    pred = inputs[0]
    caps = list(inputs[1:1 + len(captures)])
    dys = list(dy) if isinstance(dy, tuple) else [dy]
    wrt = [i for i, c in enumerate(caps) if _is_float(c)]
    sources = [caps[i] for i in wrt] + list(variables)
    if not sources:
        return (None,) * len(inputs)

    def branch_grad(branch):
        def fn():
            from tapeflow.autodiff.tape import GradientTape
            with GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(sources)
                outs = replay(branch.graph, [branch.graph.capture(c) for c in captures],
                              caps, branch.outputs)
            pairs = [(o, d) for o, d in zip(outs, dys) if d is not None and _is_float(o)]
            grads = tape.gradient([o for o, _ in pairs], sources,
                                  output_gradients=[d for _, d in pairs],
                                  unconnected_gradients="zero")
            return grads
        return fn

    grads = cond(pred, branch_grad(tb), branch_grad(fb))
    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    out = [None] * len(inputs)
    for k, i in enumerate(wrt):
        out[1 + i] = grads[k]
    for k in range(len(variables)):
        out[1 + len(captures) + k] = grads[len(wrt) + k]
    return tuple(out)


# -- while_loop ----------------------------------------------------------------------------

def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, maximum_iterations=None, name=None):
    """`tf.while_loop`: repeats `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`.

    Args:
        cond: returns a scalar boolean (tensor or Python bool) for the loop variables.
        body: returns new loop variables, same structure and dtypes.
        loop_vars: a tuple/list (or other nest structure) of tensors or numbers.
        shape_invariants: per loop variable, a less specific shape (None dims)
            where its shape changes across iterations (traced loops only).
        maximum_iterations: stop after this many iterations at the latest.

    Returns:
        The loop variables after the last iteration, in `loop_vars`' structure.
    """
    if not callable(cond) or not callable(body):
        raise TypeError("tf.while_loop: cond and body must be callables.")
    if loop_vars is None or (isinstance(loop_vars, (list, tuple)) and not loop_vars):
        raise ValueError("'loop_vars' must be provided.")
    packed = isinstance(loop_vars, (list, tuple)) and not hasattr(loop_vars, "_fields")
    flat = [as_input(v) for v in nest.flatten(loop_vars)]

    def call(fn, flat_vals):
        vals = nest.pack_sequence_as(loop_vars, flat_vals)
        return fn(*vals) if packed else fn(vals)

    def flatten_body(result):
        if packed and len(flat) == 1 and not isinstance(result, (list, tuple)):
            result = [result]
        out = nest.flatten(result)
        if len(out) != len(flat):
            raise ValueError(
                f"tf.while_loop: body returned {len(out)} values for {len(flat)} loop "
                f"variables; it must return the same structure as loop_vars ({loop_vars!r}).")
        return [as_input(o) for o in out]

    if state.graph is None:
        i = 0
        while maximum_iterations is None or i < int(maximum_iterations):
            if not bool(_scalar_bool(call(cond, flat))):
                break
            flat = flatten_body(call(body, flat))
            i += 1
        return nest.pack_sequence_as(loop_vars, flat)
    flat = [v.read_value() if getattr(v, "_is_variable", False) else v for v in flat]
    shapes = _invariant_shapes(flat, shape_invariants, loop_vars)
    if maximum_iterations is not None:
        return _bounded_loop(cond, body, loop_vars, flat, shapes, maximum_iterations,
                             call, flatten_body)
    cb = Branch(lambda *xs: call(cond, list(xs)), flat, "while_cond", shapes)
    bb = Branch(lambda *xs: flatten_body(call(body, list(xs))), flat, "while_body", shapes)
    _check_loop(cb, bb, flat, shapes)
    outs = _build_while(cb, bb, flat, shapes)
    return nest.pack_sequence_as(loop_vars, outs)


def _scalar_bool(p):
    if isinstance(p, Tensor) or getattr(p, "_is_variable", False):
        v = p._value
        if np.ndim(v) != 0:
            raise errors.InvalidArgumentError(
                f"tf.while_loop: cond must return a scalar boolean; got shape {np.shape(v)}.")
        return bool(v)
    return bool(p)


def _invariant_shapes(flat, shape_invariants, loop_vars):
    if shape_invariants is None:
        return [v.shape for v in flat]
    inv = _flatten_shapes(shape_invariants, len(flat))
    for v, s in zip(flat, inv):
        if not s.is_compatible_with(v.shape):
            raise ValueError(f"tf.while_loop: the shape invariant {s} is not compatible with "
                             f"the initial value's shape {v.shape}.")
    return inv


def _flatten_shapes(shape_invariants, n):
    if n == 1 and not (isinstance(shape_invariants, (list, tuple)) and shape_invariants and
                       isinstance(shape_invariants[0], (list, tuple, TensorShape))):
        items = [shape_invariants]
    else:
        items = list(shape_invariants)
    if len(items) != n:
        raise ValueError(f"tf.while_loop: {len(items)} shape invariants for {n} loop variables.")
    return [s if isinstance(s, TensorShape) else TensorShape(s) for s in items]


def _check_loop(cb, bb, flat, shapes):
    if len(cb.outputs) != 1 or cb.outputs[0].dtype is not dtypes.bool:
        got = cb.outputs[0] if cb.outputs else cb.structure
        raise TypeError(f"tf.while_loop: cond must return a scalar boolean; got {got!r}.")
    for i, (v, s, o) in enumerate(zip(flat, shapes, bb.outputs)):
        if o.dtype is not v.dtype:
            raise TypeError(f"tf.while_loop: loop variable #{i} enters the loop as "
                            f"{v.dtype.name} but body returns {o.dtype.name}.")
        if not s.is_compatible_with(o.shape) or (
                s.rank is not None and o.shape.rank is not None
                and any(a is not None and b is None for a, b in zip(s.as_list(),
                                                                     o.shape.as_list()))):
            raise ValueError(
                f"Input tensor #{i} enters the loop with shape {s}, but has shape {o.shape} "
                "after one iteration. To allow the shape to vary across iterations, use the "
                "`shape_invariants` argument of tf.while_loop to specify a less-specific shape.")


def _bounded_loop(cond, body, loop_vars, flat, shapes, maximum_iterations, call, flatten_body):
    """maximum_iterations as an extra counter loop variable."""
    limit = convert_to_tensor(maximum_iterations, dtypes.int32) if not isinstance(
        maximum_iterations, Tensor) else maximum_iterations
    from tapeflow.ops import math_ops
    counter = convert_to_tensor(0, limit.dtype)

    def c(i, *xs):
        return math_ops.logical_and(math_ops.less(i, limit), as_input(call(cond, list(xs))))

    def b(i, *xs):
        return [i + 1] + flatten_body(call(body, list(xs)))

    all_flat = [counter] + flat
    all_shapes = [counter.shape] + shapes
    cb = Branch(c, all_flat, "while_cond", all_shapes)
    bb = Branch(b, all_flat, "while_body", all_shapes)
    _check_loop(cb, bb, all_flat, all_shapes)
    outs = _build_while(cb, bb, all_flat, all_shapes)
    return nest.pack_sequence_as(loop_vars, outs[1:])


class Loop:
    """A traced while loop: its cond/body graphs, compiled plans and inputs."""

    def __init__(self, cb, bb, flat, shapes):
        self.cb, self.bb = cb, bb
        self.captures = _union_captures(cb, bb)
        self.variables = _union_variables(cb, bb)
        self.c_plan, self.b_plan = cb.compile(self.captures), bb.compile(self.captures)
        self.n, self.n_cap = len(flat), len(self.captures)
        self.specs = [(s, v.dtype) for s, v in zip(shapes, flat)]
        self.stateful = cb.stateful() or bb.stateful()

    def run(self, args, history=None):
        """Runs the loop on arrays; appends each iteration's inputs to `history`."""
        n, c_plan, b_plan = self.n, self.c_plan, self.b_plan
        vals, caps = tuple(args[:n]), args[n:n + self.n_cap]
        while c_plan.run(*vals, *caps)[0]:
            if history is not None:
                history.append(vals)
            vals = b_plan.run(*vals, *caps)
        return vals


def _build_while(cb, bb, flat, shapes):
    loop = Loop(cb, bb, flat, shapes)
    n = loop.n

    def kernel(*args):
        vals = loop.run(args)
        return vals[0] if n == 1 else tuple(vals)

    def rule(inputs, outputs, attrs, dy):
        from tapeflow.function.while_grad import while_grad
        return while_grad(loop, inputs, dy, outputs)

    op = OpDef("While", kernel, rule, num_outputs=n, shape_fn=lambda i, a: loop.specs,
               stateful=loop.stateful, register=False)
    traced_structure[op] = loop
    outs = execute(op, (*flat, *loop.captures, *loop.variables))
    return list(outs) if isinstance(outs, tuple) else [outs]
