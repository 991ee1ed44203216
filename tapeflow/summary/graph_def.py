"""Traced graphs as TensorBoard `GraphDef`s, and `tf.summary.trace_on/trace_export`.

Each node of a traced `FuncGraph` becomes a `NodeDef` named after its op type
('MatMul', 'MatMul_1'), with its inputs by name, its dtype as attribute `T` and its
output shapes as `_output_shapes` (what TensorBoard's graph dashboard shows);
placeholders become `Placeholder` nodes, Variables `VarHandleOp` nodes named after
the Variable, captured constants `Const` nodes.
"""
from __future__ import annotations

import logging
import time


from tapeflow.framework import dtypes
from tapeflow.summary import writer as writer_mod

_logger = logging.getLogger("tapeflow")


def _protos():
    from tensorboard.compat.proto import attr_value_pb2, graph_pb2, node_def_pb2, tensor_shape_pb2
    return attr_value_pb2, graph_pb2, node_def_pb2, tensor_shape_pb2


def _dtype_enum(dtype) -> int:
    np_dtype = getattr(dtype, "_np", None)
    return 0 if np_dtype is None else dtypes.enum_of_numpy(np_dtype) or 0


def _shape_proto(shape):
    _, _, _, tensor_shape_pb2 = _protos()
    if shape.rank is None:
        return tensor_shape_pb2.TensorShapeProto(unknown_rank=True)
    return tensor_shape_pb2.TensorShapeProto(dim=[
        tensor_shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else d)
        for d in shape.as_list()])


def graph_to_graph_def(graph):
    """A `GraphDef` proto of `graph` (a traced `FuncGraph`)."""
    attr_value_pb2, graph_pb2, node_def_pb2, _ = _protos()
    names, used = {}, {}
    out = graph_pb2.GraphDef()

    def unique(base):
        base = base.replace(":", "_").replace(" ", "_") or "node"
        n = used.get(base, 0)
        used[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def attrs(node, tensors):
        node.attr["T"].CopyFrom(attr_value_pb2.AttrValue(type=_dtype_enum(tensors[0].dtype))
                                if tensors else attr_value_pb2.AttrValue())
        node.attr["_output_shapes"].CopyFrom(attr_value_pb2.AttrValue(
            list=attr_value_pb2.AttrValue.ListValue(shape=[_shape_proto(t.shape)
                                                           for t in tensors])))

    def source_name(x):
        key = id(x)
        if key in names:
            return names[key]
        if getattr(x, "_is_variable", False):
            name = unique(x.name.split(":")[0])
            node = out.node.add(name=name, op="VarHandleOp")
        elif x._is_symbolic:
            name = unique("Placeholder")
            node = out.node.add(name=name, op="Placeholder")
        else:
            name = unique("Const")
            node = out.node.add(name=name, op="Const")
        attrs(node, [x])
        names[key] = name
        return name

    for i, p in enumerate(graph.inputs):
        names[id(p)] = unique(f"args_{i}")
        attrs(out.node.add(name=names[id(p)], op="Placeholder"), [p])
    for node in graph.nodes:
        inputs = [source_name(x) if id(x) not in names else names[id(x)] for x in node.inputs]
        name = unique(node.op.name)
        nd = node_def_pb2.NodeDef(name=name, op=node.op.name, input=inputs)
        attrs(nd, list(node.outputs))
        out.node.append(nd)
        for k, o in enumerate(node.outputs):
            names[id(o)] = name if k == 0 else f"{name}:{k}"
    return out


# -- trace_on / trace_export ----------------------------------------------------------------

class _Trace:
    def __init__(self):
        self.on = False
        self.graphs = []
        self.profiler = False       # trace_on(profiler=True) started the profiler


_trace = _Trace()


def _collect(op, inputs, outs, attrs):
    from tapeflow.framework.graph import FuncGraph
    outputs = outs if type(outs) is tuple else (outs,)
    for o in outputs:
        g = getattr(o, "graph", None)
        if g is not None and not any(g is h for h in _trace.graphs) and \
                g.outer_graph is None and isinstance(g, FuncGraph) and \
                type(g).__name__ != "KerasGraph":         # a function's graph, not a model's
            _trace.graphs.append(g)


def trace_on(graph=True, profiler=False, profiler_outdir=None):
    """Starts collecting the graphs of functions traced from now on (and, with `profiler`,
    profiling into `profiler_outdir` until `trace_export` or `trace_off`)."""
    from tapeflow.debugging import numerics
    _trace.on, _trace.graphs = bool(graph or profiler), []
    numerics.add_listener(_collect if graph or profiler else None)
    if profiler:
        if profiler_outdir is None:
            _logger.warning("No `profiler_outdir` passed to trace_on(). Profiler won't be "
                            "enabled.")
        else:
            from tapeflow.profiler import experimental as profiler_api
            profiler_api.start(profiler_outdir)
            _trace.profiler = True


def trace_off():
    """Stops collecting graphs (and drops those collected)."""
    from tapeflow.debugging import numerics
    _trace.on, _trace.graphs = False, []
    numerics.add_listener(None)
    if _trace.profiler:
        from tapeflow.profiler import experimental as profiler_api
        _trace.profiler = False
        profiler_api.stop()


def trace_export(name, step=None, profiler_outdir=None):
    """Writes the graphs collected since `trace_on` to the default writer, then stops
    (and stops the profiler trace_on started, which writes its run; `profiler_outdir` is
    accepted, and ignored as in TF: the profiler writes where trace_on said)."""
    from tensorboard.compat.proto import event_pb2
    if profiler_outdir and _trace.profiler:
        _logger.warning("Ignoring `profiler_outdir` passed to trace_export(). Please pass it "
                        "to trace_on() instead.")
    writer = writer_mod.default_writer()
    if writer is None:
        trace_off()
        return
    step = writer_mod.resolve_step(step)
    for g in _trace.graphs:
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step),
                                         graph_def=graph_to_graph_def(g).SerializeToString()))
    writer.flush()
    trace_off()


def write_graph(writer, graph, step=0) -> None:
    """Writes one traced graph to `writer` (the TensorBoard callback's write_graph)."""
    from tensorboard.compat.proto import event_pb2
    writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step),
                                     graph_def=graph_to_graph_def(graph).SerializeToString()))
