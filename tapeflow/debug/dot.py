"""Graphs drawn: a recorded tape or a traced `tf.function` as Graphviz DOT (and SVG/PNG).

`to_dot(obj)` writes one node per op (its type, and the user's line when it was noted)
and one edge per tensor, labelled with its shape and dtype. For a tape, pass `target`
to also compute, without using the tape up, the gradient reaching every recorded tensor:
each edge then shows the gradient's norm, and edges whose gradient is exactly zero or
absent are drawn dashed. `render(dot_text, path)` runs Graphviz's `dot` program for
.svg/.png/.pdf files.

    >>> import tapeflow as tf
    >>> x = tf.Variable([1.0, 2.0], name="x")
    >>> with tf.GradientTape() as tape:
    ...     y = tf.reduce_sum(tf.square(x))
    >>> text = to_dot(tape, target=y)
    >>> "Square" in text and "|g|=4.47" in text
    True
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from tapeflow.debugging.origin import origin_of


def _q(text) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _spec(t) -> str:
    try:
        dims = t.shape.as_list() if t.shape.rank is not None else None
    except (AttributeError, ValueError):
        return ""
    shape = "?" if dims is None else "(" + ", ".join("?" if d is None else str(d)
                                                      for d in dims) + ")"
    return f"{shape} {t.dtype.name}"


def _op_label(op_name, out) -> str:
    o = origin_of(out) if out is not None else None
    if o is not None and o.filename:
        return f"{op_name}\n{os.path.basename(o.filename)}:{o.lineno}"
    return op_name


class _Dot:
    def __init__(self, name, rankdir):
        self.lines = [f"digraph {_q(name)} {{", f"  rankdir={rankdir};",
                      '  node [fontname="Helvetica", fontsize=10];',
                      '  edge [fontname="Helvetica", fontsize=9];']
        self.ids = {}

    def node(self, key, label, **style):
        if key in self.ids:
            return self.ids[key]
        nid = f"n{len(self.ids)}"
        self.ids[key] = nid
        attrs = ", ".join(f"{k}={_q(v)}" for k, v in style.items())
        self.lines.append(f"  {nid} [label={_q(label)}{', ' + attrs if attrs else ''}];")
        return nid

    def edge(self, a, b, label, dashed=False, penwidth=None):
        extra = ', style="dashed"' if dashed else ""
        if penwidth is not None:
            extra += f", penwidth={penwidth:.2f}"
        self.lines.append(f"  {a} -> {b} [label={_q(label)}{extra}];")

    def text(self):
        return "\n".join(self.lines + ["}"]) + "\n"


def _leaf(dot, x, watched):
    if getattr(x, "_is_variable", False):
        return dot.node(id(x), f"{x.name}\n{_spec(x)}", shape="box", style="filled",
                        fillcolor="#dbe9f6")
    if id(x) in watched:
        return dot.node(id(x), f"watched\n{_spec(x)}", shape="box", style="filled",
                        fillcolor="#e6f2e6")
    value = x._value
    small = value is not None and np.size(value) == 1
    label = f"const {np.asarray(value).reshape(-1)[0]:.4g}" if small else f"const\n{_spec(x)}"
    return dot.node(id(x), label, shape="plaintext")


def _tensor_grads(tape, target):
    """{id(tensor): gradient norm} for every tensor the tape recorded."""
    from tapeflow.autodiff import backprop
    from tapeflow.framework.context import state
    tensors, seen = [], set()
    for _, inputs, outputs, _ in tape._entries:
        for t in list(inputs) + list(outputs if type(outputs) is tuple else (outputs,)):
            if id(t) not in seen and (id(t) in tape._watched):
                seen.add(id(t))
                tensors.append(t)
    saved, state.tapes = state.tapes, []
    try:
        grads = backprop.backward(tape._entries, tape._watched, [target], tensors, None, False,
                                  tape._aliases)
    finally:
        state.tapes = saved
    return {id(t): (None if g is None or g._value is None else
                    float(np.linalg.norm(np.asarray(g._value, np.float64))))
            for t, g in zip(tensors, grads)}


def _edge_label(t, norms):
    label = _spec(t)
    if norms is None:
        return label, False, None
    g = norms.get(id(t))
    if g is None:
        return label + "\nno gradient", True, None
    width = 1.0 + min(4.0, max(0.0, np.log10(g + 1e-30) + 6) / 2)
    return f"{label}\n|g|={g:.3g}", g == 0.0, width


def tape_to_dot(tape, target=None, name="tape", rankdir="TB") -> str:
    """DOT text of what `tape` recorded; with `target`, gradient norms on the edges."""
    if not tape._entries and tape._used:
        raise ValueError("to_dot: this tape already gave its gradient and released what it "
                         "recorded; draw it before tape.gradient or use persistent=True.")
    norms = _tensor_grads(tape, target) if target is not None else None
    dot = _Dot(name, rankdir)
    producer = {}
    for k, (op, inputs, outputs, _) in enumerate(tape._entries):
        outs = outputs if type(outputs) is tuple else (outputs,)
        nid = dot.node(("op", k), _op_label(op.name, outs[0] if outs else None),
                       shape="ellipse")
        for x in inputs:
            src = producer.get(id(x))
            if src is None:
                src = _leaf(dot, x, tape._watched)
            label, dashed, width = _edge_label(x, norms)
            dot.edge(src, nid, label, dashed, width)
        for o in outs:
            producer[id(o)] = nid
    if target is not None and id(target) in producer:
        out = dot.node("target", "target", shape="doublecircle")
        label, dashed, width = _edge_label(target, norms)
        dot.edge(producer[id(target)], out, label, dashed, width)
    return dot.text()


def graph_to_dot(graph, name=None, rankdir="TB", outputs=None) -> str:
    """DOT text of a traced `FuncGraph` (`outputs`: its results, when known)."""
    dot = _Dot(name or graph.name, rankdir)
    producer = {}
    for i, p in enumerate(graph.inputs):
        producer[id(p)] = dot.node(id(p), f"input {i}\n{_spec(p)}", shape="box",
                                   style="filled", fillcolor="#e6f2e6")
    for node in graph.nodes:
        nid = dot.node(("node", node.id), _op_label(node.op.name,
                                                    node.outputs[0] if node.outputs else None))
        for x in node.inputs:
            src = producer.get(id(x)) or _leaf(dot, x, {})
            dot.edge(src, nid, _spec(x))
        for o in node.outputs:
            producer[id(o)] = nid
    outs = outputs if outputs is not None else graph.outputs or []
    for i, t in enumerate(outs if isinstance(outs, (list, tuple)) else [outs]):
        if id(t) in producer:
            dot.edge(producer[id(t)], dot.node(("out", i), f"output {i}", shape="box"),
                     _spec(t))
    return dot.text()


def _graph_of(fn):
    """(graph, outputs) of a tf.function's latest trace or of a ConcreteFunction."""
    traces = getattr(fn, "_traces", None)
    concrete = traces[-1][1] if traces else getattr(fn, "_cache", {}).get(None)
    if concrete is None and getattr(fn, "graph", None) is not None:
        concrete = fn
    if concrete is not None:
        return concrete.graph, list(concrete.outputs)
    raise ValueError("to_dot: this tf.function has not been traced yet; call it (or "
                     "get_concrete_function) first.")


def _function_with_gradients(fn, args, rankdir):
    """The tape of one eager run of `fn(*args)`, with the gradient of the sum of its
    floating outputs w.r.t. everything on the path drawn on the edges."""
    from tapeflow.autodiff.tape import GradientTape
    from tapeflow.framework.op import convert_to_tensor
    from tapeflow.ops import math_ops, reduce_ops
    from tapeflow.utils import nest
    python = getattr(fn, "python_function", fn)
    inputs = [a if hasattr(a, "_value") else convert_to_tensor(a) for a in args]
    with GradientTape(persistent=True) as tape:
        for a in inputs:
            if a.dtype.is_floating:
                tape.watch(a)
        outs = [o for o in nest.flatten(python(*inputs))
                if hasattr(o, "dtype") and o.dtype.is_floating]
        target = math_ops.add_n([reduce_ops.reduce_sum(o) for o in outs]) if len(outs) > 1 \
            else outs[0] if outs else None
    return tape_to_dot(tape, target, name=getattr(fn, "_name", "function"), rankdir=rankdir)


def to_dot(obj, target=None, path=None, rankdir="TB", args=None) -> str:
    """DOT text of a recorded tape, a traced tf.function (its latest trace), a
    ConcreteFunction or a FuncGraph; also written to `path` (.dot, or rendered by
    Graphviz for .svg/.png/.pdf) when given.

    Args:
        obj: a `GradientTape`, `tf.function`, `ConcreteFunction` or `FuncGraph`.
        target: for a tape, the tensor to differentiate: edges then carry the
            norm of the gradient that reaches them.
        path: where to write it.
        rankdir: Graphviz layout direction ('TB' top to bottom, 'LR').
        args: for a tf.function, arguments to run it on once, eagerly and under a
            tape: the drawing then shows that run's ops with the gradient of the sum of
            its outputs on the edges (a traced plan keeps no intermediate values).
    """
    if args is not None:
        text = _function_with_gradients(obj, args, rankdir)
    elif hasattr(obj, "_entries") and hasattr(obj, "_watched"):
        text = tape_to_dot(obj, target, rankdir=rankdir)
    elif hasattr(obj, "nodes") and hasattr(obj, "inputs"):
        text = graph_to_dot(obj, rankdir=rankdir)
    else:
        graph, outputs = _graph_of(obj)
        text = graph_to_dot(graph, name=getattr(obj, "_name", None), rankdir=rankdir,
                            outputs=outputs)
    if path is not None:
        render(text, path)
    return text


def render(dot_text: str, path) -> str:
    """Writes `dot_text` to `path`: as is for .dot/.gv, else through Graphviz's `dot`."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "dot"
    if fmt in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(dot_text)
        return path
    exe = shutil.which("dot")
    if exe is None:
        raise OSError(f"Writing {path!r} needs Graphviz's `dot` program (Debian: apt-get "
                      "install graphviz); write a .dot file instead to render it elsewhere.")
    subprocess.run([exe, f"-T{fmt}", "-o", path], input=dot_text.encode(), check=True,
                   capture_output=True)
    return path
