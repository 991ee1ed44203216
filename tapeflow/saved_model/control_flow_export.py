"""Traced `tf.cond` / `tf.while_loop` (and AutoGraph's `if` / `while` / `for`) as
TensorFlow's functional control flow ops.

tapeflow traces a cond into an `If` node whose branches are graphs of their own, taking
the outer tensors they capture; a loop into a `While` node whose cond and body graphs take
the loop variables, then the captures. TensorFlow's ops have the same shape, with the
sub-graphs as `FunctionDef`s of the library:

* `If(cond, inputs...)` (`StatelessIf` when nothing inside has a side effect or touches a
  Variable): the inputs are the captured tensors, then one resource per Variable used
  inside; each branch function takes them all, in that order, and returns the outputs;
* `While(inputs...)`: TensorFlow's loop carries everything its functions read, so the
  captures and the Variables' resources ride as extra loop variables that the body
  returns unchanged; `cond` returns the scalar bool.
"""
from __future__ import annotations

import itertools

from tapeflow.framework import dtypes
from tapeflow.saved_model._protos import protos
from tapeflow.saved_model.structure_coder import dtype_number, shape_proto

_uid = itertools.count(1)


def _variables(w, graphs):
    from tapeflow.saved_model.function_def import graph_variables
    out, seen = [], set()
    for g in graphs:
        for var in graph_variables(g):
            if id(var) not in seen:
                seen.add(id(var))
                out.append(var)
    return out


def _sub_function(w, label, graph, params, captures, variables, outputs, input_shapes,
                  pass_through=False):
    """Writes one branch / cond / body as a FunctionDef of the library; returns its name."""
    from tapeflow.saved_model.function_def import FunctionWriter
    name = f"{w.fdef.signature.name}_{label}_{next(_uid)}"
    sub = FunctionWriter(name, w.function_name, w.library)
    for p in params:
        sub.add_input(p, "loop_var")
    for c in captures:
        hit = graph.captures.get(id(c))
        sub.add_input(hit[1] if hit else None, "capture", dtype=c.dtype)
    for v in variables:
        sub.add_resource(v, v._name.split(":")[0].rsplit("/", 1)[-1])
    sub.set_input_shapes(list(input_shapes) + [[] for _ in variables])
    sub.add_graph_nodes(graph)
    # A While body returns its captures and resources as they came (see the docstring).
    through = list(sub.fdef.signature.input_arg)[len(params):] if pass_through else ()
    sub.add_outputs(outputs, passed_through=through)
    w.library.append(sub.fdef)
    return name, sub.fdef.signature.is_stateful


def _types(values):
    av = protos().attr_value.AttrValue
    return av(list=av.ListValue(type=values))


def _shapes(shapes):
    av = protos().attr_value.AttrValue
    return av(list=av.ListValue(shape=[shape_proto(s) for s in shapes]))


def _func(name):
    av = protos().attr_value.AttrValue
    return av(func=protos().attr_value.NameAttrList(name=name))


def export_if(w, node):
    from tapeflow.function.control_flow import traced_structure
    tb, fb, captures = traced_structure[node.op]
    variables = _variables(w, (tb.graph, fb.graph))
    base = node.outputs[0]._name.rsplit(":", 1)[0] if node.outputs and getattr(
        node.outputs[0], "_name", None) else "cond"
    shapes = [c.shape for c in captures]
    then_name, s1 = _sub_function(w, "true", tb.graph, [], captures, variables, tb.outputs,
                                  shapes)
    else_name, s2 = _sub_function(w, "false", fb.graph, [], captures, variables, fb.outputs,
                                  shapes)
    stateful = s1 or s2 or bool(variables)
    inputs = [w.ref(node.inputs[0], name=f"{base}/pred")]
    inputs += [w.ref(c, name=f"{base}/input") for c in captures]
    inputs += [w.resource(v) for v in variables]
    attrs = {"Tcond": dtypes.bool,
             "Tin": _types([dtype_number(c.dtype) for c in captures] + [20] * len(variables)),
             "Tout": _types([dtype_number(o.dtype) for o in node.outputs]),
             "then_branch": _func(then_name), "else_branch": _func(else_name),
             "output_shapes": _shapes([o.shape for o in node.outputs])}
    return w.add_node("If" if stateful else "StatelessIf", inputs, attrs, name=base,
                      stateful=stateful, list_outputs=len(node.outputs))


def export_while(w, node):
    from tapeflow.function.control_flow import traced_structure
    loop = traced_structure[node.op]
    variables = _variables(w, (loop.cb.graph, loop.bb.graph))
    flat = node.inputs[:loop.n]
    captures = list(loop.captures)
    base = node.outputs[0]._name.rsplit(":", 1)[0] if node.outputs and getattr(
        node.outputs[0], "_name", None) else "while"
    shapes = [s for s, _ in loop.specs] + [c.shape for c in captures]
    cond_name, s1 = _sub_function(w, "cond", loop.cb.graph, loop.cb.params, captures,
                                  variables, loop.cb.outputs[:1], shapes)
    body_name, s2 = _sub_function(w, "body", loop.bb.graph, loop.bb.params, captures,
                                  variables, loop.bb.outputs, shapes, pass_through=True)
    stateful = s1 or s2 or bool(variables)
    inputs = [w.ref(x, name=f"{base}/loop_var") for x in flat]
    inputs += [w.ref(c, name=f"{base}/input") for c in captures]
    inputs += [w.resource(v) for v in variables]
    types = ([dtype_number(x.dtype) for x in flat] + [dtype_number(c.dtype) for c in captures]
             + [20] * len(variables))
    attrs = {"T": _types(types), "cond": _func(cond_name), "body": _func(body_name),
             "output_shapes": _shapes(shapes + [[] for _ in variables]),
             "parallel_iterations": 10}
    outs = w.add_node("While" if stateful else "StatelessWhile", inputs, attrs, name=base,
                      stateful=stateful, list_outputs=len(types))
    return outs[:loop.n]
