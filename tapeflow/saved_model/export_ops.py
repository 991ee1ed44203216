"""TensorFlow `NodeDef`s for tapeflow's traced ops: what `tf.saved_model.save` writes.

Two kinds of knowledge live here, both about TensorFlow's file format rather than about
running ops, which is why they sit with the SavedModel writer and not on the `OpDef`s:

* TensorFlow's op signatures for the ops written (`_OUTPUT_ARGS`): a `FunctionDef`
  refers to a node's output by TensorFlow's argument name (`MatMul:product:0`), so each
  op type written must be known by its output names;
* exporters, keyed by the tapeflow `OpDef` objects they translate: tapeflow keeps many
  of TensorFlow's tensor operands as Python attributes (a reduction's axis, a reshape's
  shape, a slice's key), and TensorFlow's op wants them as `Const` inputs with their
  index-type attributes (`Tidx`, `Tshape`, ...).

An op whose name is TensorFlow's op type and whose call has no attributes (`AddV2`,
`Relu`, comparisons, ...) is written as it is, its `T` the dtype of its first tensor
input; every other op needs an exporter here, and an op with neither has no TF form:
`save` then names it. An exporter is `export(writer, node) -> [output reference, ...]`
(`writer` is the `function_def.FunctionWriter`). Programs that define their own ops
(`tf.experimental.register_op`) add an exporter with `register(opdef, export)`.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.op import registered_ops
from tapeflow.function import control_flow

# -- TensorFlow's output argument names -------------------------------------------------------

_OUTPUT_ARGS: dict = {}


def _declare_outputs(arg_names, op_types: str):
    for op_type in op_types.split():
        _OUTPUT_ARGS[op_type] = tuple(arg_names)


_BINARY = ("AddV2 Sub Mul RealDiv Pow Maximum Minimum FloorDiv FloorMod SquaredDifference "
           "Atan2 Equal NotEqual Greater GreaterEqual Less LessEqual LogicalAnd LogicalOr")
_UNARY = ("Neg Square Sqrt Rsqrt Exp Log Abs Tanh Sigmoid Floor Ceil Round Rint Sin Cos Tan "
          "Log1p Expm1 Reciprocal Sign Erf Asin Acos Atan Sinh Cosh Asinh Acosh Atanh IsNan "
          "IsFinite IsInf LogicalNot ZerosLike OnesLike Cast Transpose")
_ACTIVATIONS = "Relu Relu6 Elu Selu Softplus"
# Ops whose only output TensorFlow calls `output` (Identity, Reshape, ConcatV2, ...) are
# not listed: that is the default.
_declare_outputs(["z"], _BINARY + " Add")
_declare_outputs(["y"], _UNARY)
_declare_outputs(["activations"], _ACTIVATIONS)
_declare_outputs(["product"], "MatMul")
_declare_outputs(["softmax"], "Softmax")
_declare_outputs(["logsoftmax"], "LogSoftmax")
_declare_outputs(["value"], "ReadVariableOp")
_declare_outputs(["out"], "Cumsum")
_declare_outputs(["sign", "log_abs_determinant"], "LogMatrixDeterminant")
_declare_outputs(["q", "r"], "Qr")
_declare_outputs(["s", "u", "v"], "Svd")
_declare_outputs(["e", "v"], "SelfAdjointEigV2")
_declare_outputs(["diagonal"], "MatrixDiagPartV3")
_declare_outputs(["band"], "MatrixBandPart")
_declare_outputs(["tensors"], "RestoreV2")
_declare_outputs([], "SaveV2 PrintV2")
_declare_outputs(["key", "counter"], "StatelessRandomGetKeyCounter")
_declare_outputs(["value"], "RngReadAndSkip")
_declare_outputs(["y", "idx"], "Unique")
_declare_outputs(["precision"], "InTopKV2")
_declare_outputs(["output"], "RandomStandardNormal TruncatedNormal RandomUniform RandomUniformInt")
_declare_outputs(["z"], "TanhGrad SigmoidGrad SqrtGrad RsqrtGrad")
_declare_outputs(["backprops"], "ReluGrad SoftplusGrad")
_declare_outputs(["values", "indices"], "TopKV2")
_declare_outputs(["index"], "Where")
_declare_outputs(["loss", "backprop"], "SparseSoftmaxCrossEntropyWithLogits")
_declare_outputs([], "NoOp AssignVariableOp AssignAddVariableOp AssignSubVariableOp")

# Ops written as they are: their TF type is their tapeflow name, `T` their input dtype.
_AS_IS = set((_BINARY + " " + _UNARY + " Relu Elu Softplus Identity StopGradient").split())
_AS_IS -= {"Cast", "Transpose"}
_NO_T = {"LogicalAnd", "LogicalOr", "LogicalNot"}
_T_FROM = {"SelectV2": 1}
_AS_IS.add("SelectV2")


def output_arg_names(op_type: str) -> tuple:
    """TensorFlow's names of the outputs of an op type this module writes."""
    return _OUTPUT_ARGS.get(op_type, ("output",))


def output_refs(op_type: str, node_name: str, node) -> list:
    """References of a node's outputs (`name:arg:index`); list outputs count up."""
    args = output_arg_names(op_type)
    if op_type == "Unpack":
        return [f"{node_name}:output:{k}" for k in range(node.attr["num"].i)]
    return [f"{node_name}:{a}:0" for a in args]


# -- exporters -----------------------------------------------------------------------------------

_EXPORTERS: dict = {}       # OpDef -> exporter (ops registered by programs)
_BY_TYPE: dict = {}         # tapeflow's registered op name (= TF op type) -> exporter


def register(opdef, export) -> None:
    """Declares how the tapeflow op `opdef` is written (see the module docstring)."""
    _EXPORTERS[opdef.definition] = export


def subgraphs(opdef) -> tuple:
    """The graphs a traced If (its branches) or While (cond and body) runs; () for others."""
    structure = control_flow.traced_structure.get(opdef)
    if structure is None:
        return ()
    if isinstance(structure, tuple):
        return structure[0].graph, structure[1].graph
    return structure.cb.graph, structure.bb.graph


def exporter_for(opdef):
    """The exporter of a traced op, or None when it has no TensorFlow form."""
    structure = control_flow.traced_structure.get(opdef)
    if structure is not None:
        from tapeflow.saved_model import control_flow_export
        return (control_flow_export.export_if if isinstance(structure, tuple)
                else control_flow_export.export_while)
    export = _EXPORTERS.get(opdef.definition)
    if export is not None or registered_ops().get(opdef.name) is not opdef.definition:
        return export
    # A registered op: its unique name is its TF op type (ops are registered when their
    # module is imported, which may be after this one: hence the look-up by that name).
    export = _BY_TYPE.get(opdef.name)
    if export is None and opdef.name in _AS_IS:
        return _as_is
    return export


def exportable_op_names() -> list:
    names = {op.name for op in _EXPORTERS} | set(_BY_TYPE) | _AS_IS | {"If", "While"}
    return sorted(names)


def exports(*op_types):
    """Declares the decorated function the exporter of tapeflow's registered ops of these
    names (which are TF's op types)."""
    def decorate(fn):
        for op_type in op_types:
            _BY_TYPE[op_type] = fn
        return fn
    return decorate


def unsupported(node, what):
    from tapeflow.saved_model.function_def import UnsupportedOpError
    raise UnsupportedOpError(f"{what} (attributes {node.attrs!r})")


def base_name(node, k=0):
    """The node name tapeflow gave the output (TF's: 'add', 'MatMul_1')."""
    name = getattr(node.outputs[k], "_name", None) if node.outputs else None
    return name.rsplit(":", 1)[0] if name else node.op.node_name


def input_refs(w, node, name):
    """References of the node's inputs: reads named `name/ReadVariableOp`, constants
    `name/Const`, as TF names the nodes it adds for an op."""
    return [w.ref(x, name=name if x._is_variable else f"{name}/Const") for x in node.inputs]


def _as_is(w, node):
    if node.attrs:
        unsupported(node, "this call's attributes have no TensorFlow form")
    name = base_name(node)
    op_type = node.op.name
    attrs = {} if op_type in _NO_T else {"T": node.inputs[_T_FROM.get(op_type, 0)].dtype}
    if op_type == "AddV2" and node.inputs[0].dtype is dtypes.string:
        op_type = "Add"             # TF's AddV2 takes numbers only; Add joins strings too
    return w.add_node(op_type, input_refs(w, node, name), attrs, name=name)


def rank_of(node, x):
    if x.shape.rank is None:
        unsupported(node, "an input of unknown rank")
    return x.shape.rank


@exports("MatMul")
def _matmul(w, node):
    a, b = node.inputs
    ta, tb = bool(node.attrs.get("transpose_a")), bool(node.attrs.get("transpose_b"))
    name = base_name(node)
    matrices = rank_of(node, a) == 2 and rank_of(node, b) == 2
    if not matrices and a.dtype.is_complex and (ta or tb):
        unsupported(node, "a transposed complex batch matmul")
    # Batches are BatchMatMulV2, whose adjoints are transposes for real dtypes.
    op_type, flags = (("MatMul", ("transpose_a", "transpose_b")) if matrices
                      else ("BatchMatMulV2", ("adj_x", "adj_y")))
    attrs = {"T": a.dtype}
    attrs.update({flag: True for flag, on in zip(flags, (ta, tb)) if on})
    return w.add_node(op_type, input_refs(w, node, name), attrs, name=name)


def axes_of(node, x, axis):
    if axis is None:
        return list(range(rank_of(node, x)))
    return [int(a) for a in np.atleast_1d(axis)]


@exports("Sum", "Mean", "Max", "Min", "Prod", "All", "Any")
def _reduce(w, node):
    (x,) = node.inputs
    name = base_name(node)
    axes = axes_of(node, x, node.attrs.get("axis"))
    ins = input_refs(w, node, name) + [w.const(np.array(axes, np.int32), name=f"{name}/Const")]
    attrs = {} if node.op.name in ("All", "Any") else {"T": x.dtype}
    if node.attrs.get("keepdims"):
        attrs["keep_dims"] = True
    return w.add_node(node.op.name, ins, attrs, name=name)


@exports("ArgMax", "ArgMin")
def _arg_reduce(w, node):
    (x,) = node.inputs
    name = base_name(node)
    axis = w.const(np.int32(node.attrs.get("axis", 0)), name=f"{name}/dimension")
    out = node.attrs.get("out", np.int64)
    return w.add_node(node.op.name, input_refs(w, node, name) + [axis],
                      {"T": x.dtype, "output_type": dtypes.as_dtype(out)}, name=name)


def _const_operand(attr, name, index_attr):
    """Ops whose second operand tapeflow keeps as the attribute `attr` (a Const here) or,
    when it is only known as the graph runs, takes as an input (its dtype `index_attr`)."""
    def export(w, node):
        op_name = base_name(node)
        refs = input_refs(w, node, op_name)
        attrs = {"T": node.inputs[0].dtype}
        if attr in node.attrs:
            refs.append(w.const(np.array(node.attrs[attr], np.int32), name=f"{op_name}/{name}"))
        elif len(node.inputs) == 2 and node.inputs[1].dtype is not dtypes.int32:
            attrs[index_attr] = node.inputs[1].dtype
        return w.add_node(node.op.name, refs, attrs, name=op_name)
    return export


exports("Reshape")(_const_operand("shape", "shape", "Tshape"))
_transpose_with_perm = _const_operand("perm", "perm", "Tperm")


def _last_axis(w, x_ref, dtype, name):
    """rank(x) - 1 as the graph runs (an input traced with an unknown rank)."""
    rank = w.add_node("Rank", [x_ref], {"T": dtype}, name=f"{name}/Rank")[0]
    return w.add_node("Sub", [rank, w.const(np.int32(1), name=f"{name}/sub/y")],
                      {"T": dtypes.int32}, name=f"{name}/sub")[0]


@exports("Transpose")
def _transpose(w, node):
    """perm None (the rank unknown when tracing): the dims reversed, its perm
    range(rank - 1, -1, -1) computed as the graph runs."""
    if node.attrs.get("perm", ()) is not None:
        return _transpose_with_perm(w, node)
    name = base_name(node)
    refs = input_refs(w, node, name)
    x = node.inputs[0]
    minus_one = w.const(np.int32(-1), name=f"{name}/Range/limit")
    perm = w.add_node("Range", [_last_axis(w, refs[0], x.dtype, name), minus_one, minus_one],
                      {}, name=f"{name}/Range")[0]
    return w.add_node("Transpose", refs + [perm], {"T": x.dtype}, name=name)


@exports("ReverseV2")
def _reverse(w, node):
    name = base_name(node)
    axis = w.const(np.array(node.attrs["axis"], np.int32), name=f"{name}/axis")
    return w.add_node("ReverseV2", input_refs(w, node, name) + [axis],
                      {"T": node.inputs[0].dtype, "Tidx": dtypes.int32}, name=name)
exports("Tile")(_const_operand("multiples", "multiples", "Tmultiples"))


@exports("ConcatV2")
def _concat(w, node):
    name = base_name(node)
    axis = w.const(np.int32(node.attrs["axis"]), name=f"{name}/axis")
    return w.add_node("ConcatV2", input_refs(w, node, name) + [axis],
                      {"N": len(node.inputs), "T": node.inputs[0].dtype}, name=name)


@exports("Pack", "Unpack")
def _pack_unpack(w, node):
    """Pack counts its inputs (`N`), Unpack its outputs (`num`); both keep `axis`."""
    name = base_name(node)
    attrs = ({"N": len(node.inputs)} if node.op.name == "Pack"
             else {"num": node.op.num_outputs})
    attrs["T"] = node.inputs[0].dtype
    if node.attrs.get("axis"):
        attrs["axis"] = int(node.attrs["axis"])
    return w.add_node(node.op.name, input_refs(w, node, name), attrs, name=name)


@exports("Squeeze")
def _squeeze(w, node):
    name = base_name(node)
    attrs = {"T": node.inputs[0].dtype}
    axis = node.attrs.get("axis")
    if axis is not None and len(np.atleast_1d(axis)):
        attrs["squeeze_dims"] = [int(a) for a in np.atleast_1d(axis)]
    return w.add_node("Squeeze", input_refs(w, node, name), attrs, name=name)


@exports("Cast")
def _cast(w, node):
    name = base_name(node)
    return w.add_node("Cast", input_refs(w, node, name),
                      {"SrcT": node.inputs[0].dtype, "DstT": node.outputs[0].dtype}, name=name)


@exports("Shape")
def _shape(w, node):
    name = base_name(node)
    return w.add_node("Shape", input_refs(w, node, name),
                      {"T": node.inputs[0].dtype, "out_type": node.outputs[0].dtype}, name=name)


def _shape_operand(value_input, shape_input, index_attr):
    """Ops taking a value and a shape tensor (Fill, BroadcastTo): `T` from the value, the
    shape's index type (an attribute defaulting to int32) from the shape."""
    def export(w, node):
        name = base_name(node)
        attrs = {"T": node.inputs[value_input].dtype}
        if node.inputs[shape_input].dtype is not dtypes.int32:
            attrs[index_attr] = node.inputs[shape_input].dtype
        return w.add_node(node.op.name, input_refs(w, node, name), attrs, name=name)
    return export


exports("Fill")(_shape_operand(1, 0, "index_type"))
exports("BroadcastTo")(_shape_operand(0, 1, "Tidx"))


@exports("GatherV2")
def _gather(w, node):
    name = base_name(node)
    params, indices = node.inputs
    axis = w.const(np.int32(node.attrs.get("axis", 0)), name=f"{name}/axis")
    attrs = {"Tparams": params.dtype, "Tindices": indices.dtype, "Taxis": dtypes.int32}
    if node.attrs.get("batch_dims"):
        attrs["batch_dims"] = int(node.attrs["batch_dims"])
    return w.add_node("GatherV2", input_refs(w, node, name) + [axis], attrs, name=name)


@exports("Softmax", "LogSoftmax")
def _softmax(w, node):
    """TensorFlow's softmax ops work on the last axis: another axis is moved there and
    back, as `tf.nn.softmax` itself does."""
    (x,) = node.inputs
    name = base_name(node)
    rank = rank_of(node, x)
    axis = int(node.attrs.get("axis", -1)) % max(rank, 1)
    (ref,) = input_refs(w, node, name)
    if axis == rank - 1 or rank == 0:
        return w.add_node(node.op.name, [ref], {"T": x.dtype}, name=name)
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    perm_ref = w.const(np.array(perm, np.int32), name=f"{name}/perm")
    moved = w.add_node("Transpose", [ref, perm_ref], {"T": x.dtype}, name=f"{name}/transpose")
    out = w.add_node(node.op.name, moved, {"T": x.dtype}, name=name)
    return w.add_node("Transpose", [out[0], perm_ref], {"T": x.dtype},
                      name=f"{name}/transpose_1")


def nhwc(values):
    values = [int(v) for v in np.atleast_1d(values)]
    return [1] + values + [1] if len(values) == 2 else values


def padding_of(node):
    padding = node.attrs.get("padding", "VALID")
    if not isinstance(padding, str) or padding.upper() not in ("SAME", "VALID"):
        unsupported(node, "explicit paddings")
    return padding.upper()


@exports("Conv2D")
def _conv2d(w, node):
    name = base_name(node)
    x, filters = node.inputs[:2]
    ins = [w.ref(t, name=name) for t in (x, filters)]
    return w.add_node("Conv2D", ins, conv_attrs(node, x.dtype), name=name)


@exports("MaxPool", "AvgPool")
def _pool(w, node):
    name = base_name(node)
    attrs = {"T": node.inputs[0].dtype, "ksize": nhwc(node.attrs["ksize"]),
             "strides": nhwc(node.attrs["strides"]), "padding": padding_of(node)}
    return w.add_node(node.op.name, input_refs(w, node, name), attrs, name=name)


@exports("ReadVariableOp")
def _read(w, node):
    (var,) = node.inputs
    if not var._is_variable:
        unsupported(node, "a read of a value that is not a Variable")
    return [w.read(var, name=base_name(node))]


@exports("AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp")
def _assign(w, node):
    """The assignment, then (as tapeflow's assign returns the new value) a read after it."""
    var, value = node.inputs
    if not var._is_variable:
        unsupported(node, "an assignment to a value that is not a Variable")
    name = base_name(node)
    value_ref = w.ref(value, name=f"{name}/value")
    w.add_node(node.op.name, [w.resource(var), value_ref], {"dtype": var.dtype},
               name=name, stateful=True)
    if not node.outputs:
        return []
    return [w.read(var, name=f"{name}/ReadVariableOp")]


# -- strided slices: a Python key as begin/end/strides and masks ---------------------------------

def element(w, vector_ref, k, name, dtype=dtypes.int32):
    """Element `k` of a vector, as a scalar (a shape's length, a bound of a slice)."""
    consts = [w.const(np.array([v], np.int32), name=f"{name}/index") for v in (k, k + 1, 1)]
    return w.add_node("StridedSlice", [vector_ref] + consts,
                      {"T": dtype, "Index": dtypes.int32, "shrink_axis_mask": 1},
                      name=f"{name}/element")[0]


def slice_spec(node, key):
    """A Python index key as TF's StridedSlice operands: (begin, end, strides, masks)."""
    key = key if isinstance(key, tuple) else (key,)
    begin, end, strides = [], [], []
    masks = dict.fromkeys(("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                           "shrink_axis_mask"), 0)
    for i, k in enumerate(key):
        bit = 1 << i
        if k is Ellipsis or k is None:
            masks["ellipsis_mask" if k is Ellipsis else "new_axis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif isinstance(k, slice):
            if k.start is None:
                masks["begin_mask"] |= bit
            if k.stop is None:
                masks["end_mask"] |= bit
            begin.append(0 if k.start is None else int(k.start))
            end.append(0 if k.stop is None else int(k.stop))
            strides.append(1 if k.step is None else int(k.step))
        elif isinstance(k, (int, np.integer)):
            # One element, the axis dropped; -1's end (0) is "to the end" by the mask.
            masks["shrink_axis_mask"] |= bit
            begin.append(int(k))
            end.append(int(k) + 1 if int(k) != -1 else 0)
            if int(k) == -1:
                masks["end_mask"] |= bit
            strides.append(1)
        else:
            unsupported(node, f"the index {k!r}")
    return begin, end, strides, {k: v for k, v in masks.items() if v}


def slice_operands(w, node, name):
    """Const begin/end/strides of the node's key, and the mask attributes."""
    begin, end, strides, masks = slice_spec(node, node.attrs["key"])
    consts = [w.const(np.array(v, np.int32), name=f"{name}/{part}")
              for v, part in ((begin, "stack"), (end, "stack_1"), (strides, "stack_2"))]
    return consts, masks


@exports("StridedSlice")
def _strided_slice(w, node):
    name = base_name(node)
    consts, masks = slice_operands(w, node, name)
    attrs = {"T": node.inputs[0].dtype, "Index": dtypes.int32, **masks}
    return w.add_node("StridedSlice", input_refs(w, node, name) + consts, attrs, name=name)


@exports("Range")
def _range(w, node):
    """TensorFlow's Range takes its three bounds in the result's dtype: others are cast."""
    name = base_name(node)
    out = node.outputs[0].dtype
    refs = []
    for x, ref in zip(node.inputs, input_refs(w, node, name)):
        if x.dtype is not out:
            ref = w.add_node("Cast", [ref], {"SrcT": x.dtype, "DstT": out},
                             name=f"{name}/Cast")[0]
        refs.append(ref)
    attrs = {} if out is dtypes.int32 else {"Tidx": out}
    return w.add_node("Range", refs, attrs, name=name)


@exports("ExpandDims")
def _expand_dims(w, node):
    name = base_name(node)
    dim = w.const(np.int32(node.attrs["axis"]), name=f"{name}/dim")
    return w.add_node("ExpandDims", input_refs(w, node, name) + [dim], {"T": node.inputs[0].dtype},
                      name=name)


@exports("OneHot")
def _one_hot(w, node):
    name = base_name(node)
    out = dtypes.as_dtype(node.attrs["dtype"])
    consts = [w.const(np.int32(node.attrs["depth"]), name=f"{name}/depth"),
              w.const(np.array(node.attrs["on_value"], out._np), name=f"{name}/on_value"),
              w.const(np.array(node.attrs["off_value"], out._np), name=f"{name}/off_value")]
    attrs = {"T": out, "TI": node.inputs[0].dtype}
    if int(node.attrs.get("axis", -1)) != -1:
        attrs["axis"] = int(node.attrs["axis"])
    return w.add_node("OneHot", input_refs(w, node, name) + consts, attrs, name=name)


@exports("Cumsum")
def _cumsum(w, node):
    name = base_name(node)
    axis = w.const(np.int32(node.attrs["axis"]), name=f"{name}/axis")
    attrs = {"T": node.inputs[0].dtype}
    attrs.update({k: True for k in ("exclusive", "reverse") if node.attrs.get(k)})
    return w.add_node("Cumsum", input_refs(w, node, name) + [axis], attrs, name=name)


@exports("SplitV")
def _split(w, node):
    name = base_name(node)
    sizes = w.const(np.array(node.attrs["sizes"], np.int32), name=f"{name}/size_splits")
    axis = w.const(np.int32(node.attrs["axis"]), name=f"{name}/split_dim")
    n = node.op.num_outputs
    attrs = {"num_split": n, "T": node.inputs[0].dtype, "Tlen": dtypes.int32}
    return w.add_node("SplitV", input_refs(w, node, name) + [sizes, axis], attrs, name=name,
                      list_outputs=n)


@exports("PadV2")
def _pad(w, node):
    """Constant padding is TF's PadV2; reflecting and symmetric padding its MirrorPad."""
    name = base_name(node)
    x = node.inputs[0]
    paddings = w.const(np.array(node.attrs["paddings"], np.int32).reshape(-1, 2),
                       name=f"{name}/paddings")
    mode = node.attrs.get("mode", "CONSTANT")
    if mode == "CONSTANT":
        value = w.const(np.array(node.attrs.get("constant_values", 0), x.dtype._np),
                        name=f"{name}/constant_values")
        return w.add_node("PadV2", input_refs(w, node, name) + [paddings, value], {"T": x.dtype},
                          name=name)
    return w.add_node("MirrorPad", input_refs(w, node, name) + [paddings],
                      {"T": x.dtype, "mode": mode}, name=name)


@exports("Einsum")
def _einsum(w, node):
    name = base_name(node)
    attrs = {"equation": node.attrs["equation"], "N": len(node.inputs),
             "T": node.inputs[0].dtype}
    return w.add_node("Einsum", input_refs(w, node, name), attrs, name=name)


@exports("TopKV2")
def _top_k(w, node):
    name = base_name(node)
    refs = input_refs(w, node, name)
    x = node.inputs[0]
    if node.attrs["k"] is None:     # the whole last axis, its size read as the graph runs
        shape = w.add_node("Shape", refs, {"T": x.dtype, "out_type": dtypes.int32},
                           name=f"{name}/Shape")[0]
        k = w.add_node("GatherV2", [shape, _last_axis(w, refs[0], x.dtype, name),
                                    w.const(np.int32(0), name=f"{name}/k/axis")],
                       {"Tparams": dtypes.int32, "Tindices": dtypes.int32,
                        "Taxis": dtypes.int32}, name=f"{name}/k")[0]
    else:
        k = w.const(np.int32(node.attrs["k"]), name=f"{name}/k")
    attrs = {"T": x.dtype}
    if node.attrs.get("sorted", True) is False:
        attrs["sorted"] = False
    if node.outputs[1].dtype is not dtypes.int32:
        attrs["index_type"] = node.outputs[1].dtype
    return w.add_node("TopKV2", refs + [k], attrs, name=name)


@exports("GatherNd")
def _gather_nd(w, node):
    name = base_name(node)
    params, indices = node.inputs
    return w.add_node("GatherNd", input_refs(w, node, name),
                      {"Tparams": params.dtype, "Tindices": indices.dtype}, name=name)


@exports("Where")
def _where(w, node):
    name = base_name(node)
    return w.add_node("Where", input_refs(w, node, name), {"T": node.inputs[0].dtype}, name=name)


@exports("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent(w, node):
    """tapeflow's op takes (labels, logits) and returns the loss; TF's takes (features,
    labels) and returns (loss, backprop)."""
    name = base_name(node)
    labels, logits = input_refs(w, node, name)
    attrs = {"T": node.inputs[1].dtype, "Tlabels": node.inputs[0].dtype}
    return w.add_node("SparseSoftmaxCrossEntropyWithLogits", [logits, labels], attrs,
                      name=name)[:1]


@exports("AsString")
def _as_string(w, node):
    name = base_name(node)
    defaults = {"precision": -1, "scientific": False, "shortest": False, "width": -1, "fill": ""}
    attrs = {"T": node.inputs[0].dtype}
    attrs.update({k: v for k, v in node.attrs.items() if k in defaults and v != defaults[k]})
    return w.add_node("AsString", input_refs(w, node, name), attrs, name=name)


def conv_attrs(node, dtype):
    attrs = {"T": dtype, "strides": nhwc(node.attrs["strides"]), "padding": padding_of(node)}
    dilations = nhwc(node.attrs.get("dilations", 1))
    if any(d != 1 for d in dilations):
        attrs["dilations"] = dilations
    return attrs


@exports("Conv2DBackpropInput")
def _conv_backprop_input(w, node):
    """tapeflow's op takes a tensor shaped like the input (only its shape is read); TF's
    takes that shape: a `Shape` of it."""
    name = base_name(node)
    like, filters, dy = node.inputs
    sizes = w.add_node("Shape", [w.ref(like, name=f"{name}/like")], {"T": like.dtype},
                       name=f"{name}/input_sizes")[0]
    ins = [sizes] + [w.ref(t, name=name) for t in (filters, dy)]
    return w.add_node("Conv2DBackpropInput", ins, conv_attrs(node, dy.dtype), name=name)


@exports("Conv2DBackpropFilter")
def _conv_backprop_filter(w, node):
    name = base_name(node)
    x, filters, dy = node.inputs[:3]
    sizes = w.add_node("Shape", [w.ref(filters, name=f"{name}/filter")],
                       {"T": filters.dtype}, name=f"{name}/filter_sizes")[0]
    ins = [w.ref(x, name=f"{name}/input"), sizes, w.ref(dy, name=f"{name}/out_backprop")]
    return w.add_node("Conv2DBackpropFilter", ins, conv_attrs(node, dy.dtype), name=name)


# More array ops, gradient ops and optimizer updates (a traced training step), linear
# algebra, random, scatter (TensorArray) and string ops are written by their own modules,
# which register with this one when they are imported.
from tapeflow.saved_model import (export_array_ops, export_grad_ops,  # noqa: E402,F401
                                  export_linalg_ops, export_optimizer_ops, export_random_ops,
                                  export_scatter_ops, export_string_ops)
