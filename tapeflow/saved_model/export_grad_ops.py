"""TensorFlow `NodeDef`s for tapeflow's gradient ops: a traced training step saved.

A `tf.function` that takes a gradient (a `GradientTape` inside it) traces tapeflow's
gradient ops. Where TensorFlow has the same op (`ReluGrad`, `TanhGrad`, `MaxPoolGrad`,
`StridedSliceGrad`, ...) it is written with TensorFlow's operand order; tapeflow's own
(`SumGrad`, `MeanGrad`, `SoftmaxGrad`, `SinGrad`, `GatherGrad`) are written as the
TensorFlow ops that compute the same values, as TensorFlow's own gradient functions do.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.saved_model.export_ops import (axes_of, base_name, exports, input_refs, nhwc,
                                             padding_of, rank_of, slice_operands, unsupported)


@exports("TanhGrad", "SigmoidGrad", "SqrtGrad", "RsqrtGrad")
def _same_operands(w, node):
    """tapeflow's (y, dy) is TensorFlow's order for these."""
    name = base_name(node)
    return w.add_node(node.op.name, input_refs(w, node, name), {"T": node.inputs[1].dtype},
                      name=name)


@exports("ReluGrad")
def _relu_grad(w, node):
    # (dy, relu output): y > 0 exactly where the features were > 0, which TF's op tests.
    name = base_name(node)
    return w.add_node("ReluGrad", input_refs(w, node, name), {"T": node.inputs[0].dtype},
                      name=name)


@exports("SoftplusGrad")
def _softplus_grad(w, node):
    name = base_name(node)
    features, dy = input_refs(w, node, name)
    return w.add_node("SoftplusGrad", [dy, features], {"T": node.inputs[1].dtype}, name=name)


@exports("SinGrad", "CosGrad")
def _trig_grad(w, node):
    """dy * cos(x) for sin, -dy * sin(x) for cos."""
    name = base_name(node)
    x, dy = input_refs(w, node, name)
    t = {"T": node.inputs[1].dtype}
    sine = node.op.name == "CosGrad"
    d = w.add_node("Sin" if sine else "Cos", [x], t, name=f"{name}/derivative")[0]
    if sine:
        d = w.add_node("Neg", [d], t, name=f"{name}/Neg")[0]
    return w.add_node("Mul", [dy, d], t, name=name)


def _spread(w, node, name):
    """dy of a reduction of x brought back to x's shape: the reduced axes restored (size
    1), then broadcast to `Shape(x)`."""
    x, dy = node.inputs[:2]
    x_ref, dy_ref = input_refs(w, node, name)[:2]
    w.bind(dy, dy_ref)              # read again by MeanGrad's count
    t = {"T": dy.dtype}
    if not node.attrs.get("keepdims") and dy.shape.rank != rank_of(node, x):
        rank = rank_of(node, x)
        for axis in sorted(a % max(rank, 1) for a in axes_of(node, x, node.attrs.get("axis"))):
            dim = w.const(np.int32(axis), name=f"{name}/dim")
            dy_ref = w.add_node("ExpandDims", [dy_ref, dim], t, name=f"{name}/ExpandDims")[0]
    shape = w.add_node("Shape", [x_ref], {"T": x.dtype}, name=f"{name}/Shape")[0]
    return x_ref, dy_ref, shape


@exports("SumGrad")
def _sum_grad(w, node):
    name = base_name(node)
    _, dy, shape = _spread(w, node, name)
    return w.add_node("BroadcastTo", [dy, shape], {"T": node.inputs[1].dtype}, name=name)


@exports("MeanGrad")
def _mean_grad(w, node):
    """SumGrad divided by the count of reduced elements, size(x) / size(dy) (at least 1)."""
    name = base_name(node)
    x_ref, dy, shape = _spread(w, node, name)
    t = {"T": node.inputs[1].dtype}
    spread = w.add_node("BroadcastTo", [dy, shape], t, name=f"{name}/BroadcastTo")[0]
    one = w.const(np.int32(1), name=f"{name}/one")
    sizes = [w.add_node("Size", [ref], {"T": x.dtype}, name=f"{name}/Size")[0]
             for ref, x in ((x_ref, node.inputs[0]), (w.ref(node.inputs[1]), node.inputs[1]))]
    i32 = {"T": dtypes.int32}
    denominator = w.add_node("Maximum", [sizes[1], one], i32, name=f"{name}/Maximum")[0]
    count = w.add_node("FloorDiv", [sizes[0], denominator], i32, name=f"{name}/floordiv")[0]
    count = w.add_node("Maximum", [count, one], i32, name=f"{name}/Maximum")[0]
    count = w.add_node("Cast", [count], {"SrcT": dtypes.int32, "DstT": node.inputs[1].dtype},
                       name=f"{name}/Cast")[0]
    return w.add_node("RealDiv", [spread, count], t, name=name)


@exports("SoftmaxGrad")
def _softmax_grad(w, node):
    """(dy - sum(dy * y, axis, keepdims)) * y."""
    name = base_name(node)
    y, dy = input_refs(w, node, name)
    t = {"T": node.inputs[0].dtype}
    axis = w.const(np.int32(node.attrs.get("axis", -1)), name=f"{name}/axis")
    prod = w.add_node("Mul", [dy, y], t, name=f"{name}/mul")[0]
    total = w.add_node("Sum", [prod, axis], {**t, "keep_dims": True}, name=f"{name}/Sum")[0]
    diff = w.add_node("Sub", [dy, total], t, name=f"{name}/sub")[0]
    return w.add_node("Mul", [diff, y], t, name=name)


@exports("StridedSliceGrad")
def _strided_slice_grad(w, node):
    name = base_name(node)
    x_ref, dy_ref = input_refs(w, node, name)
    shape = w.add_node("Shape", [x_ref], {"T": node.inputs[0].dtype}, name=f"{name}/Shape")[0]
    consts, masks = slice_operands(w, node, name)
    attrs = {"T": node.inputs[1].dtype, "Index": dtypes.int32, **masks}
    return w.add_node("StridedSliceGrad", [shape] + consts + [dy_ref], attrs, name=name)


@exports("GatherGrad")
def _gather_grad(w, node):
    """A gather's gradient along axis 0 (an embedding's): dy's rows summed into the rows
    they were gathered from, `UnsortedSegmentSum`."""
    params, indices, dy = node.inputs
    if node.attrs.get("axis", 0) != 0 or node.attrs.get("batch_dims", 0) != 0:
        unsupported(node, "a gather gradient along another axis than 0")
    rows = params.shape.as_list() if params.shape.rank is not None else None
    if not rows or any(d is None for d in rows):
        unsupported(node, "a gather gradient for parameters of unknown shape")
    name = base_name(node)
    _, idx_ref, dy_ref = input_refs(w, node, name)
    flat_ids = w.add_node("Reshape", [idx_ref, w.const(np.array([-1], np.int32),
                                                       name=f"{name}/shape")],
                          {"T": indices.dtype}, name=f"{name}/Reshape")[0]
    data = w.add_node("Reshape", [dy_ref, w.const(np.array([-1] + rows[1:], np.int32),
                                                  name=f"{name}/shape")],
                      {"T": dy.dtype}, name=f"{name}/Reshape")[0]
    count = w.const(np.int32(rows[0]), name=f"{name}/num_segments")
    return w.add_node("UnsortedSegmentSum", [data, flat_ids, count],
                      {"T": dy.dtype, "Tindices": indices.dtype}, name=name)


def _pool_attrs(node):
    return {"T": node.inputs[1].dtype, "ksize": nhwc(node.attrs["ksize"]),
            "strides": nhwc(node.attrs["strides"]), "padding": padding_of(node)}


@exports("MaxPoolGrad")
def _max_pool_grad(w, node):
    """TF's op also takes the pooled output: the pooling is written again to give it."""
    name = base_name(node)
    x_ref, dy_ref = input_refs(w, node, name)
    attrs = _pool_attrs(node)
    pooled = w.add_node("MaxPool", [x_ref], attrs, name=f"{name}/MaxPool")[0]
    return w.add_node("MaxPoolGrad", [x_ref, pooled, dy_ref], attrs, name=name)


@exports("AvgPoolGrad")
def _avg_pool_grad(w, node):
    name = base_name(node)
    x_ref, dy_ref = input_refs(w, node, name)
    shape = w.add_node("Shape", [x_ref], {"T": node.inputs[0].dtype}, name=f"{name}/Shape")[0]
    return w.add_node("AvgPoolGrad", [shape, dy_ref], _pool_attrs(node), name=name)
