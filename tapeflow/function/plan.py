"""The executor of traced graphs: a precomputed plan compiled to straight-line Python.

At the end of tracing, a `FuncGraph` becomes a `Plan`:

1. dead code is dropped: a node is kept when it is stateful (assign, print,
   random, optimizer updates) or something kept or returned uses its outputs;
2. every kept node becomes a `Step` (kernel, attrs, input references, output
   slots); inputs refer to a slot (a placeholder or an earlier step's
   output), to a constant array (captured eager tensors, folded constants),
   or to a Variable, whose value is read when the step runs. A node whose op
   has residuals (a convolution's patches) runs the op's residual kernel
   when a later step or the plan's outputs read them, its plain kernel
   otherwise;
2b. fusion (`fusion.py`; off with TAPEFLOW_FUSE=0 or `fuse=False`): a conv or
   matmul with its bias add and ReLU becomes one step, a filter gradient with
   its bias gradient another, a ReLU gradient goes into the blocks of the
   product that makes its input, elementwise steps on dying intermediates
   write into their input's buffer, and large optimizer updates start on the
   BLAS pool as soon as they may (`fusion.overlap`), waited for where needed;
3. each slot is freed right after its last use, so intermediates do not
   outlive their consumers;
4. the steps are written out as the source of one Python function, one line
   per kernel call, and compiled once. Running a traced function is then a
   single call of that function: no dispatch, no shape checks, no tape
   bookkeeping, no per-op allocation beyond the kernels' own results.

Nodes run in the order they were created, which is program order, so reads
and writes of Variables happen as they did in the traced Python code.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> from tapeflow.framework.graph import FuncGraph
    >>> from tapeflow.framework.context import state
    >>> g = FuncGraph('double')
    >>> x = g.placeholder([2], tf.float32)
    >>> state.graph = g
    >>> y = x * 2.0 + 1.0
    >>> state.graph = None
    >>> plan = Plan(g, [x], [y])
    >>> plan.run(np.array([1., 2.], np.float32))
    (array([3., 5.], dtype=float32),)
"""
from __future__ import annotations

import functools
import linecache
import math
import sys

import numpy as np

from tapeflow.backend import blas
from tapeflow.framework import errors
from tapeflow.function import fastpath, fusion

_ndarray = np.ndarray
_generic = np.generic
_KERNEL_ERRORS = (ValueError, IndexError, TypeError, ArithmeticError, np.linalg.LinAlgError)

# Set by tf.debugging.enable_check_numerics: check_hook(name, steps) returns
# check(k, outputs, inputs), called after each step of plans compiled while it is set.
check_hook = None


def _as_value(out):
    if isinstance(out, (_ndarray, _generic)):
        return out
    return np.asarray(out)


class Step:
    """One kernel call of a plan.

    Attributes:
        node: the graph node it runs (for errors and inspection).
        kernel: the op's kernel, `kernel(*arrays, **attrs)`.
        attrs: the node's attributes.
        inputs: per input, `('slot', i)`, `('const', array)` or `('var', Variable)`.
        outputs: the slot of each output.
        free: slots whose last use is this step, freed right after it.
        fused: empty, or what fusion made of it: the nodes it runs (a fused
            step, whose kernel returns its outputs) or ('in_place',).
        launch: started on a pool worker, not waited for here (`fusion.overlap`).
        joins: launched steps waited for just before this step.
    """

    __slots__ = ("attrs", "free", "fused", "inputs", "joins", "kernel", "launch", "node",
                 "outputs")

    def __init__(self, node, kernel, attrs, inputs, outputs, fused=()):
        self.node = node
        self.kernel = kernel
        self.attrs = attrs
        self.inputs = inputs
        self.outputs = outputs
        self.free = ()
        self.fused = fused
        self.launch = False
        self.joins = ()

    def __repr__(self):
        ins = ", ".join(f"s{v}" if k == "slot" else k for k, v in self.inputs)
        outs = ", ".join(f"s{o}" for o in self.outputs)
        name = self.node.op.name
        if self.fused == ("in_place",):
            name += "[in place]"
        elif self.fused:
            name = "+".join(n.op.name for n in self.fused)
        return f"<Step {outs} = {name}({ins})>"


def is_pure_read(op) -> bool:
    """Variable reads are flagged stateful (never folded) but have no side effect."""
    return op.pure_read


def live_nodes(graph, outputs):
    """The nodes needed for `outputs`, plus every node with side effects (program order)."""
    needed = set()
    stack = [t.node for t in outputs if getattr(t, "_is_symbolic", False)
             and t.node is not None and t.graph is graph]
    stack += [n for n in graph.nodes if n.op.stateful and not is_pure_read(n.op)]
    while stack:
        node = stack.pop()
        if node.id in needed:
            continue
        needed.add(node.id)
        for x in node.inputs:
            if x._is_symbolic and x.node is not None:
                stack.append(x.node)
    return [n for n in graph.nodes if n.id in needed]


_LITERALS = (bool, int, float, str, type(None))


def _is_literal(v) -> bool:
    if isinstance(v, tuple):
        return all(_is_literal(x) for x in v)
    return type(v) in _LITERALS and (type(v) is not float or math.isfinite(v))


def _attr_args(attrs, env, k):
    """Keyword arguments for a kernel call: literals written inline (no dict to
    unpack at run time), other values bound as constants of the generated code."""
    args = []
    for i, (name, value) in enumerate(attrs.items()):
        if not name.isidentifier():
            env[f"a{k}"] = attrs
            return [f"**a{k}"]
        if _is_literal(value):
            args.append(f"{name}={value!r}")
        else:
            env[f"a{k}_{i}"] = value
            args.append(f"{name}=a{k}_{i}")
    return args


# Updates of Variables this large run beside the steps after them (fusion.overlap): a
# hand-off to the pool costs ~20-50 us, an update of 64K float32 elements about as much.
OVERLAP_MIN_SIZE = 1 << 16

_dead_files: list = []      # linecache names of collected plans, dropped at the next compile


class Plan:
    """A graph compiled for execution.

    Args:
        graph: the traced `FuncGraph`.
        inputs: the placeholders fed by `run`'s positional arrays, in order.
        outputs: the tensors `run` returns (symbolic tensors of `graph`,
            eager tensors, or Variables, whose current value is returned).
        name: names the generated code in tracebacks.
        fuse: fuse steps (`fusion.py`); None: as TAPEFLOW_FUSE says (default on).
    """

    def __init__(self, graph, inputs, outputs, name=None, fuse=None):
        self.graph = graph
        self.name = name or graph.name
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.fuse = fusion.enabled(fuse) and check_hook is None
        self.steps = self._schedule()
        self.source, self._fn = self._compile()

    # -- 1-3: dead code, steps, slot lifetimes --------------------------------------
    def _schedule(self):
        slot_of = {}
        for i, p in enumerate(self.inputs):
            slot_of.setdefault(id(p), i)
        n_slots = len(self.inputs)
        steps = []
        nodes = live_nodes(self.graph, self.outputs)
        read = {id(t) for t in self.outputs}
        read.update(id(x) for node in nodes for x in node.inputs)
        for node in nodes:
            refs = []
            for x in node.inputs:
                if x._is_symbolic:
                    s = slot_of.get(id(x))
                    if s is None:
                        raise errors.InvalidArgumentError(
                            f"Function '{self.name}': op {node.op.name} reads {x!r}, which is "
                            "neither an input of the function nor computed inside it.")
                    refs.append(("slot", s))
                elif x._is_variable:
                    refs.append(("var", x))
                else:
                    refs.append(("const", x._value))
            op = node.op
            kernel, produced = op.kernel, node.outputs[:op.num_outputs]
            if op.residuals and any(id(r) in read for r in node.outputs[op.num_outputs:]):
                kernel, produced = op.residual_kernel, node.outputs
            outs = []
            for o in produced:
                slot_of[id(o)] = n_slots
                outs.append(n_slots)
                n_slots += 1
            steps.append(Step(node, kernel, node.attrs, refs, outs))
        self._out_refs = []
        for t in self.outputs:
            if getattr(t, "_is_variable", False):
                self._out_refs.append(("var", t))
            elif t._is_symbolic:
                s = slot_of.get(id(t))
                if s is None:
                    raise errors.InvalidArgumentError(
                        f"Function '{self.name}' returns {t!r}, which it did not compute.")
                self._out_refs.append(("slot", s))
            else:
                self._out_refs.append(("const", t._value))
        if self.fuse:        # 2b: fusion, before lifetimes (fused steps read and free)
            out_slots = [v for kind, v in self._out_refs if kind == "slot"]
            steps = fusion.fuse(steps, out_slots, Step)
            if fusion.overlap_enabled():
                steps = fusion.overlap(steps, out_slots, OVERLAP_MIN_SIZE)
        # Last use of each slot; outputs of the plan live to the end.
        last = {}
        for k, step in enumerate(steps):
            for kind, v in step.inputs:
                if kind == "slot":
                    last[v] = k
            for o in step.outputs:
                last.setdefault(o, k)
        for kind, v in self._out_refs:
            if kind == "slot":
                last[v] = len(steps)
        frees = {}
        for s, k in last.items():
            if k < len(steps):
                frees.setdefault(k, []).append(s)
        for k, step in enumerate(steps):
            step.free = tuple(sorted(frees.get(k, ())))
        self.n_slots = n_slots
        self._slot_of = slot_of
        return steps

    # -- 4: code generation -----------------------------------------------------------
    def _compile(self):
        env = {"_as_value": _as_value, "_nd": _ndarray, "_submit": blas.submit,
               "_partial": functools.partial}
        names = {}

        def ref(kind, v):
            if kind == "slot":
                return f"s{v}"
            key = (kind, id(v))
            name = names.get(key)
            if name is None:
                name = f"{'c' if kind == 'const' else 'V'}{len(names)}"
                names[key] = name
                env[name] = v
            return name if kind == "const" else f"{name}._value"

        args = ", ".join(f"s{i}" for i in range(len(self.inputs)))
        lines = [f"def plan({args}):"]
        self._line_step = {}
        context = {"slot_of": self._slot_of}
        for k, step in enumerate(self.steps):
            self._emit(k, step, ref, env, context, lines)
        waited = {id(j) for step in self.steps for j in step.joins}
        for step in self.steps:
            if step.launch and id(step) not in waited:
                self._line_step[len(lines) + 1] = step
                lines.append(f"    h{id(step):x}.wait()")
        rets = [ref(kind, v) + (".copy()" if kind == "var" else "") for kind, v in self._out_refs]
        lines.append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
        source = "\n".join(lines) + "\n"
        filename = f"<tapeflow plan {self.name} {id(self):x}>"
        # Registered with linecache so tracebacks show the generated line. Entries of dead
        # plans are dropped here, not in __del__: a plan collected while linecache walks its
        # cache (checkcache, run by pdb and doctest) would make that walk fail.
        # Taken one by one with pop() (atomic): another thread compiling a plan may take
        # the last name between a test of the list and the pop.
        while True:
            try:
                dead = _dead_files.pop()
            except IndexError:
                break
            linecache.cache.pop(dead, None)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        code = compile(source, filename, "exec")
        exec(code, env)  # noqa: S102 - our own generated source
        self._filename = filename
        return source, env["plan"]

    def _emit(self, k, step, ref, env, context, lines):
        """Appends the lines of step k (waits for launched steps first, then the call)."""
        call_args = [ref(kind, v) for kind, v in step.inputs]
        fast = None if step.fused or step.launch else fastpath.specialize(step.node, context)
        if fast is not None:
            template, constants = fast
            env.update(constants)
            call = template.format(*call_args)
        else:
            env[f"k{k}"] = step.kernel
            call_args += _attr_args(step.attrs, env, k)
            call = f"k{k}({', '.join(call_args)})"
        op = step.node.op
        for j in step.joins:
            self._line_step[len(lines) + 1] = j
            lines.append(f"    h{id(j):x}.wait()")
        self._line_step[len(lines) + 1] = step
        free = step.free
        if step.launch:
            # partial binds the arrays now: the slots may be deleted before the call runs.
            bound = ", ".join([f"k{k}"] + call_args)
            lines.append(f"    h{id(step):x} = _submit(_partial({bound}))")
            free = tuple(s for s in free if s not in step.outputs)    # never assigned
        elif step.fused and len(step.outputs) == 1:
            lines.append(f"    s{step.outputs[0]} = {call}")
        elif op.num_outputs == 1 and step.kernel is op.kernel:
            out = f"s{step.outputs[0]}"
            if op.aliases and step.inputs and step.inputs[0][0] == "var":
                # A view of a Variable would change when the Variable is assigned.
                lines.append(f"    {out} = _as_value({call}).copy()")
            else:
                lines.append(f"    {out} = {call}")
                lines.append(f"    if {out}.__class__ is not _nd: {out} = _as_value({out})")
        elif step.outputs:
            outs = ", ".join(f"s{o}" for o in step.outputs)
            lines.append(f"    {outs}, = {call}")
        else:
            lines.append(f"    {call}")
        if check_hook is not None and step.outputs and not step.launch:
            env["_chk"] = env.get("_chk") or check_hook(self.name, self.steps)
            outs = "".join(f"s{o}, " for o in step.outputs)
            ins = "".join(ref(kind, v) + ", " for kind, v in step.inputs)
            lines.append(f"    _chk({k}, ({outs}), ({ins}))")
        if free:
            lines.append(f"    del {', '.join(f's{s}' for s in free)}")

    def __del__(self):
        _dead_files.append(getattr(self, "_filename", None))

    # -- running -----------------------------------------------------------------------
    def run(self, *arrays):
        """Runs the plan on the placeholders' arrays; returns the output arrays."""
        try:
            return self._fn(*arrays)
        except errors.OpError:
            raise
        except _KERNEL_ERRORS as e:
            step = self._failed_step(e.__traceback__)
            if step is None:
                raise
            raise self._step_error(step, e) from None

    def _failed_step(self, tb):
        step = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                line = tb.tb_lineno
                while line > 1 and line not in self._line_step:
                    line -= 1
                step = self._line_step.get(line)
            tb = tb.tb_next
        return step

    def _step_error(self, step, exc):
        node = step.node
        shapes = ", ".join(f"{x.shape} {x.dtype.name}" for x in node.inputs)
        detail = f"; attributes {node.attrs}" if node.attrs else ""
        return errors.op_error(
            node.op.name, f"{exc} (in function '{self.name}', node {node.id}; traced input "
            f"shapes: {shapes}{detail})")

    def __repr__(self):
        return f"<Plan {self.name}: {len(self.steps)} steps, {self.n_slots} slots>"


def describe(plan, file=None) -> None:
    """Prints a plan's steps (a debugging aid)."""
    file = file or sys.stdout
    for step in plan.steps:
        print(step, file=file)
