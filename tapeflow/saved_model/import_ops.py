"""TensorFlow's graph ops, translated to tapeflow's public ops for the SavedModel reader.

A `FunctionDef` names TensorFlow ops (`MatMul`, `BiasAdd`, `ReadVariableOp`, ...); this
module is the file-format translation table: for each op name, the names of its output
arguments (a `FunctionDef` refers to outputs as `node:output_arg:index`) and one small
rule that computes the op with tapeflow's public functions. Because the rules call the
same ops a user would, a loaded function runs eagerly, traces inside `tf.function`, and
GradientTape records it, as TensorFlow does for its own loaded functions.

A rule is `rule(ctx, inputs, attrs)`: `inputs` are the node's data inputs (tensors, or
Variables for resource inputs), `attrs` its decoded attributes (dtypes as tapeflow
dtypes, shapes as `TensorShape`, tensors as NumPy arrays, functions by name), and `ctx`
runs nested functions (`ctx.call(name, inputs)`). It returns one tensor, a list of them,
or None. The reader imports this module only when `load` runs, after tapeflow itself.
"""
from __future__ import annotations

import numpy as np

import tapeflow as tf


class OpRule:
    """How to run one TensorFlow op: its output argument names and its rule."""

    __slots__ = ("outputs", "fn")

    def __init__(self, outputs, fn):
        self.outputs = outputs
        self.fn = fn

    def output_index(self, arg: str, index: int) -> int:
        """The position in the rule's flat result of output `arg`'s `index`-th tensor.

        An op has either one output argument (maybe a list, as `Unpack`'s `output`) or
        several single-tensor arguments (as `FusedBatchNormV3`'s `y`, `batch_mean`, ...)."""
        if len(self.outputs) == 1:
            return index
        return self.outputs.index(arg) + index


OPS: dict[str, OpRule] = {}


def _op(names, outputs=("output",)):
    def register(fn):
        for name in names.split():
            OPS[name] = OpRule(outputs, fn)
        return fn
    return register


def static_value(value):
    """The NumPy value of `value` when known while the function runs (a constant or an
    eager tensor), else None (a symbolic tensor inside a traced tf.function)."""
    if isinstance(value, np.ndarray):
        return value
    if tf.is_tensor(value) and not getattr(value, "_is_symbolic", False) \
            and not isinstance(value, tf.Variable):
        return value.numpy()
    return None


def _ints(value):
    """`value` as a Python list of ints where it is known, else the tensor itself."""
    known = static_value(value)
    return value if known is None else np.asarray(known).tolist()


# -- elementwise ---------------------------------------------------------------------------

_BINARY = {
    "AddV2": tf.add, "Add": tf.add, "Sub": tf.subtract, "Mul": tf.multiply,
    "RealDiv": tf.math.truediv, "Div": tf.math.divide, "Maximum": tf.maximum,
    "Minimum": tf.minimum, "Pow": tf.pow, "FloorDiv": tf.math.floordiv,
    "FloorMod": tf.math.floormod, "SquaredDifference": tf.math.squared_difference,
    "Equal": tf.equal, "NotEqual": tf.not_equal, "Greater": tf.greater,
    "GreaterEqual": tf.greater_equal, "Less": tf.less, "LessEqual": tf.less_equal,
    "LogicalAnd": tf.logical_and, "LogicalOr": tf.logical_or, "Atan2": tf.math.atan2,
    "DivNoNan": tf.math.divide_no_nan,
}
_UNARY = {
    "Neg": tf.negative, "Square": tf.square, "Sqrt": tf.sqrt, "Rsqrt": tf.math.rsqrt,
    "Exp": tf.exp, "Log": tf.math.log, "Abs": tf.abs, "Tanh": tf.tanh,
    "Sigmoid": tf.sigmoid, "Reciprocal": tf.math.reciprocal, "Sin": tf.sin, "Cos": tf.cos,
    "Floor": tf.floor, "Round": tf.round, "Sign": tf.sign, "Log1p": tf.math.log1p,
    "Expm1": tf.math.expm1, "Erf": tf.math.erf, "IsNan": tf.math.is_nan,
    "LogicalNot": tf.logical_not, "ZerosLike": tf.zeros_like, "OnesLike": tf.ones_like,
    "Ceil": tf.math.ceil, "Rint": tf.math.rint, "Tan": tf.math.tan, "Asin": tf.math.asin,
    "Acos": tf.math.acos, "Atan": tf.math.atan, "Sinh": tf.math.sinh, "Cosh": tf.math.cosh,
    "Asinh": tf.math.asinh, "Acosh": tf.math.acosh, "Atanh": tf.math.atanh,
    "IsFinite": tf.math.is_finite, "IsInf": tf.math.is_inf,
    "Erfc": lambda x: 1.0 - tf.math.erf(x), "Softsign": tf.nn.softsign,
}
_ACTIVATIONS = {
    "Relu": tf.nn.relu, "Relu6": tf.nn.relu6, "Elu": tf.nn.elu, "Selu": tf.nn.selu,
    "Softplus": tf.nn.softplus,
}


def _binary(fn):
    return lambda ctx, inputs, attrs: fn(inputs[0], inputs[1])


def _unary(fn):
    return lambda ctx, inputs, attrs: fn(inputs[0])


for _name, _fn in _BINARY.items():
    OPS[_name] = OpRule(("z",), _binary(_fn))
for _name, _fn in _UNARY.items():
    OPS[_name] = OpRule(("y",), _unary(_fn))
for _name, _fn in _ACTIVATIONS.items():
    OPS[_name] = OpRule(("activations",), _unary(_fn))
OPS["Softmax"] = OpRule(("softmax",), _unary(tf.nn.softmax))
OPS["LogSoftmax"] = OpRule(("logsoftmax",), _unary(tf.nn.log_softmax))


@_op("LeakyRelu", ("activations",))
def _leaky_relu(ctx, inputs, attrs):
    return tf.nn.leaky_relu(inputs[0], alpha=attrs.get("alpha", 0.2))


@_op("AddN", ("sum",))
def _add_n(ctx, inputs, attrs):
    return tf.add_n(list(inputs))


@_op("Cast", ("y",))
def _cast(ctx, inputs, attrs):
    return tf.cast(inputs[0], attrs["DstT"])


@_op("Select")
def _select(ctx, inputs, attrs):
    cond, then, other = inputs
    # TF1's Select: a vector condition picks whole rows of higher-rank operands.
    if cond.shape.rank == 1 and then.shape.rank is not None and then.shape.rank > 1:
        cond = tf.reshape(cond, [-1] + [1] * (then.shape.rank - 1))
    return tf.where(cond, then, other)


def ternary(fn):
    """The rule of an op whose three inputs are `fn`'s three arguments."""
    return lambda ctx, inputs, attrs: fn(inputs[0], inputs[1], inputs[2])


OPS["SelectV2"] = OpRule(("output",), ternary(tf.where))
OPS["ClipByValue"] = OpRule(("output",), ternary(tf.clip_by_value))


# -- matrices, convolutions, normalization ------------------------------------------------------

@_op("MatMul", ("product",))
def _matmul(ctx, inputs, attrs):
    return tf.matmul(inputs[0], inputs[1], transpose_a=attrs.get("transpose_a", False),
                     transpose_b=attrs.get("transpose_b", False))


@_op("BatchMatMulV2 BatchMatMulV3 BatchMatMul")
def _batch_matmul(ctx, inputs, attrs):
    return tf.matmul(inputs[0], inputs[1], adjoint_a=attrs.get("adj_x", False),
                     adjoint_b=attrs.get("adj_y", False))


@_op("BiasAdd BiasAddV1")
def _bias_add(ctx, inputs, attrs):
    return tf.nn.bias_add(inputs[0], inputs[1], data_format=attrs.get("data_format", "NHWC"))


def _padding(attrs):
    padding = attrs.get("padding", "VALID")
    if padding == "EXPLICIT":
        flat = attrs.get("explicit_paddings", [])
        return [flat[i:i + 2] for i in range(0, len(flat), 2)]
    return padding


@_op("Conv2D")
def _conv2d(ctx, inputs, attrs):
    return tf.nn.conv2d(inputs[0], inputs[1], strides=attrs["strides"],
                        padding=_padding(attrs), data_format=attrs.get("data_format", "NHWC"),
                        dilations=attrs.get("dilations"))


@_op("DepthwiseConv2dNative")
def _depthwise_conv2d(ctx, inputs, attrs):
    x, kernel = inputs
    kh, kw, channels, multiplier = kernel.shape.as_list()
    # One convolution with a block-diagonal filter: input channel c feeds only its own
    # `multiplier` outputs (c * multiplier + m), which is TF's output channel order.
    eye = tf.reshape(tf.eye(channels, dtype=kernel.dtype), [1, 1, channels, channels, 1])
    full = tf.reshape(tf.expand_dims(kernel, 3) * eye, [kh, kw, channels, channels * multiplier])
    return tf.nn.conv2d(x, full, strides=attrs["strides"], padding=_padding(attrs),
                        data_format=attrs.get("data_format", "NHWC"),
                        dilations=attrs.get("dilations"))


def _conv_backprop(ctx, op_name, x, w, dy, attrs):
    from tapeflow.framework.op import execute, registered_ops
    if attrs.get("data_format", "NHWC") != "NHWC" or _padding(attrs) not in ("SAME", "VALID"):
        raise NotImplementedError(f"{op_name} is read for NHWC data with SAME or VALID "
                                  "padding only")
    strides, dilations = attrs["strides"], attrs.get("dilations") or [1, 1, 1, 1]
    op_attrs = {"strides": tuple(strides[1:3]), "padding": _padding(attrs),
                "dilations": tuple(dilations[1:3])}
    return execute(registered_ops()[op_name], (x, w, dy), op_attrs)


@_op("Conv2DBackpropInput")
def _conv2d_backprop_input(ctx, inputs, attrs):
    sizes, kernel, dy = inputs
    # tapeflow's op takes a tensor of the forward input's shape; only its shape is read.
    like = tf.zeros(_ints(sizes), dtype=dy.dtype)
    return _conv_backprop(ctx, "Conv2DBackpropInput", like, kernel, dy, attrs)


@_op("Conv2DBackpropFilter")
def _conv2d_backprop_filter(ctx, inputs, attrs):
    x, sizes, dy = inputs
    like = tf.zeros(_ints(sizes), dtype=dy.dtype)     # only the filter's shape is read
    return _conv_backprop(ctx, "Conv2DBackpropFilter", x, like, dy, attrs)


@_op("MaxPool")
def _max_pool(ctx, inputs, attrs):
    return tf.nn.max_pool2d(inputs[0], attrs["ksize"], attrs["strides"], attrs["padding"],
                            data_format=attrs.get("data_format", "NHWC"))


@_op("AvgPool")
def _avg_pool(ctx, inputs, attrs):
    return tf.nn.avg_pool2d(inputs[0], attrs["ksize"], attrs["strides"], attrs["padding"],
                            data_format=attrs.get("data_format", "NHWC"))


_BN_OUTPUTS = ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2",
               "reserve_space_3")


@_op("FusedBatchNormV3 FusedBatchNorm FusedBatchNormV2", _BN_OUTPUTS)
def _fused_batch_norm(ctx, inputs, attrs):
    x, scale, offset, mean, variance = inputs[:5]
    channels_first = attrs.get("data_format", "NHWC").startswith("NC")
    rank = x.shape.rank
    axis = 1 if channels_first else rank - 1
    reduce_axes = [a for a in range(rank) if a != axis]
    training = attrs.get("is_training", True)
    if training:
        mean, variance = tf.nn.moments(x, reduce_axes)
    # Broadcast the per-channel vectors against the channel axis.
    view = [1] * rank
    view[axis] = -1

    def per_channel(v):
        return tf.reshape(tf.cast(v, x.dtype), view)
    y = tf.nn.batch_normalization(x, per_channel(mean), per_channel(variance),
                                  per_channel(offset), per_channel(scale),
                                  attrs.get("epsilon", 1e-4))
    batch_variance = variance
    if training:    # TF reports the unbiased variance (for the moving average)
        count = tf.cast(tf.size(x) // tf.shape(x)[axis], variance.dtype)
        batch_variance = variance * count / tf.maximum(count - 1.0, 1.0)
    return [y, mean, batch_variance, mean, variance, mean]


# -- shapes and slicing -----------------------------------------------------------------------

@_op("Reshape")
def _reshape(ctx, inputs, attrs):
    return tf.reshape(inputs[0], _ints(inputs[1]))


@_op("Transpose", ("y",))
def _transpose(ctx, inputs, attrs):
    return tf.transpose(inputs[0], _ints(inputs[1]))


@_op("ConcatV2")
def _concat(ctx, inputs, attrs):
    return tf.concat(list(inputs[:-1]), axis=_ints(inputs[-1]))


@_op("Pack")
def _pack(ctx, inputs, attrs):
    return tf.stack(list(inputs), axis=attrs.get("axis", 0))


@_op("Unpack")
def _unpack(ctx, inputs, attrs):
    return tf.unstack(inputs[0], num=attrs.get("num"), axis=attrs.get("axis", 0))


@_op("Squeeze")
def _squeeze(ctx, inputs, attrs):
    return tf.squeeze(inputs[0], axis=attrs.get("squeeze_dims") or None)


@_op("ExpandDims")
def _expand_dims(ctx, inputs, attrs):
    return tf.expand_dims(inputs[0], _ints(inputs[1]))


@_op("Shape")
def _shape(ctx, inputs, attrs):
    return tf.shape(inputs[0], out_type=attrs.get("out_type", tf.int32))


@_op("Rank")
def _rank(ctx, inputs, attrs):
    return tf.rank(inputs[0])


@_op("Size")
def _size(ctx, inputs, attrs):
    return tf.size(inputs[0], out_type=attrs.get("out_type", tf.int32))


def _bits(mask: int, i: int) -> bool:
    return bool((mask >> i) & 1)


@_op("StridedSlice")
def _strided_slice(ctx, inputs, attrs):
    x, begin, end, strides = inputs
    known_strides = static_value(strides)
    if known_strides is None:
        raise NotImplementedError(f"StridedSlice '{ctx.node}' with strides computed at run "
                                  "time is not supported by the SavedModel reader")
    # Bounds known now become Python ints; bounds computed while tracing stay scalar tensors
    # (tapeflow indexes with those too).
    known_begin, known_end = static_value(begin), static_value(end)

    def bound(known, tensor, i):
        return int(known[i]) if known is not None else tensor[i]
    index = []
    for i in range(len(known_strides)):
        if _bits(attrs.get("ellipsis_mask", 0), i):
            index.append(Ellipsis)
        elif _bits(attrs.get("new_axis_mask", 0), i):
            index.append(tf.newaxis)
        elif _bits(attrs.get("shrink_axis_mask", 0), i):
            index.append(bound(known_begin, begin, i))
        else:
            start = None if _bits(attrs.get("begin_mask", 0), i) else \
                bound(known_begin, begin, i)
            stop = None if _bits(attrs.get("end_mask", 0), i) else bound(known_end, end, i)
            index.append(slice(start, stop, int(known_strides[i])))
    return x[tuple(index)]


@_op("Slice")
def _slice(ctx, inputs, attrs):
    return tf.slice(inputs[0], _ints(inputs[1]), _ints(inputs[2]))


@_op("GatherV2")
def _gather(ctx, inputs, attrs):
    return tf.gather(inputs[0], inputs[1], axis=_ints(inputs[2]),
                     batch_dims=attrs.get("batch_dims", 0))


@_op("Where", ("index",))
def _where_indices(ctx, inputs, attrs):
    return tf.where(inputs[0])


@_op("ReverseV2")
def _reverse(ctx, inputs, attrs):
    return tf.reverse(inputs[0], _ints(inputs[1]))


@_op("ResizeBilinear ResizeNearestNeighbor", ("resized_images",))
def _resize(ctx, inputs, attrs):
    # tf.image.resize is TF2's resize: half-pixel centers, corners not aligned.
    if attrs.get("align_corners", False) or not attrs.get("half_pixel_centers", False):
        raise NotImplementedError(f"{ctx.op} with align_corners=True or "
                                  "half_pixel_centers=False (TF1's resize) is not supported")
    method = "bilinear" if ctx.op == "ResizeBilinear" else "nearest"
    return tf.image.resize(inputs[0], _ints(inputs[1]), method=method)


@_op("GatherNd")
def _gather_nd(ctx, inputs, attrs):
    return tf.gather_nd(inputs[0], inputs[1])


@_op("TopKV2", ("values", "indices"))
def _top_k(ctx, inputs, attrs):
    values, indices = tf.math.top_k(inputs[0], _ints(inputs[1]), sorted=attrs.get("sorted", True),
                                    index_type=attrs.get("index_type", tf.int32))
    return [values, indices]


@_op("AsString")
def _as_string(ctx, inputs, attrs):
    return tf.strings.as_string(inputs[0], precision=attrs.get("precision", -1),
                                scientific=attrs.get("scientific", False),
                                shortest=attrs.get("shortest", False),
                                width=attrs.get("width", -1), fill=attrs.get("fill", ""))


@_op("SparseSoftmaxCrossEntropyWithLogits", ("loss", "backprop"))
def _sparse_softmax_xent(ctx, inputs, attrs):
    logits, labels = inputs
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    depth = tf.shape(logits)[-1]
    backprop = tf.nn.softmax(logits) - tf.one_hot(labels, depth, dtype=logits.dtype)
    return [loss, backprop]


@_op("Fill")
def _fill(ctx, inputs, attrs):
    return tf.fill(_ints(inputs[0]), inputs[1])


@_op("Tile")
def _tile(ctx, inputs, attrs):
    return tf.tile(inputs[0], _ints(inputs[1]))


@_op("Range")
def _range(ctx, inputs, attrs):
    return tf.range(inputs[0], inputs[1], inputs[2], dtype=attrs.get("Tidx"))


@_op("Pad PadV2 MirrorPad")
def _pad(ctx, inputs, attrs):
    value = inputs[2] if len(inputs) > 2 else 0
    return tf.pad(inputs[0], _ints(inputs[1]), mode=attrs.get("mode", "CONSTANT"),
                  constant_values=value)


@_op("BroadcastTo")
def _broadcast_to(ctx, inputs, attrs):
    return tf.broadcast_to(inputs[0], _ints(inputs[1]))


@_op("Split")
def _split(ctx, inputs, attrs):
    return tf.split(inputs[1], attrs["num_split"], axis=_ints(inputs[0]))


@_op("SplitV")
def _split_v(ctx, inputs, attrs):
    return tf.split(inputs[0], _ints(inputs[1]), axis=_ints(inputs[2]))


@_op("OneHot")
def _one_hot(ctx, inputs, attrs):
    indices, depth, on, off = inputs
    return tf.one_hot(indices, _ints(depth), on_value=on, off_value=off,
                      axis=attrs.get("axis", -1))


@_op("Einsum")
def _einsum(ctx, inputs, attrs):
    return tf.einsum(attrs["equation"], *inputs)


@_op("Cumsum", ("out",))
def _cumsum(ctx, inputs, attrs):
    return tf.math.cumsum(inputs[0], axis=_ints(inputs[1]),
                          exclusive=attrs.get("exclusive", False),
                          reverse=attrs.get("reverse", False))


# -- reductions -------------------------------------------------------------------------------

def _reduction(fn):
    def rule(ctx, inputs, attrs):
        return fn(inputs[0], axis=_ints(inputs[1]), keepdims=attrs.get("keep_dims", False))
    return rule


for _name, _fn in {"Sum": tf.reduce_sum, "Mean": tf.reduce_mean, "Max": tf.reduce_max,
                   "Min": tf.reduce_min, "Prod": tf.reduce_prod, "All": tf.reduce_all,
                   "Any": tf.reduce_any}.items():
    OPS[_name] = OpRule(("output",), _reduction(_fn))


@_op("ArgMax")
def _argmax(ctx, inputs, attrs):
    return tf.argmax(inputs[0], axis=_ints(inputs[1]),
                     output_type=attrs.get("output_type", tf.int64))


@_op("ArgMin")
def _argmin(ctx, inputs, attrs):
    return tf.argmin(inputs[0], axis=_ints(inputs[1]),
                     output_type=attrs.get("output_type", tf.int64))


# -- identity, constants, variables -------------------------------------------------------------

@_op("Identity StopGradient PreventGradient Snapshot EnsureShape CheckNumerics")
def _identity(ctx, inputs, attrs):
    value = inputs[0]
    if isinstance(value, (tf.Variable, TensorList)):    # handles pass along as they are
        return value
    if ctx.op in ("StopGradient", "PreventGradient"):
        return tf.stop_gradient(value)
    return tf.identity(value)


@_op("IdentityN")
def _identity_n(ctx, inputs, attrs):
    # An IdentityN marked with a gradient op type is where a tf.custom_gradient function
    # ends: its gradient is the saved gradient function, as TF registers it on load.
    op_type = attrs.get("_gradient_op_type")
    gradient = ctx.library.gradient(op_type) if op_type else None
    if gradient is None:
        return [_identity(ctx, [v], attrs) for v in inputs]
    name, capture_names, structure = gradient
    captured = [ctx.lookup(n) for n in capture_names]
    program = ctx.library.program(name)

    @tf.custom_gradient
    def marked(*values):
        def grad(*dys):
            if len(structure) != len(values):
                raise NotImplementedError(
                    f"the custom gradient saved for '{ctx.node}' returns {len(structure)} "
                    f"gradients for {len(values)} inputs (gradients for Variables the "
                    "function reads are not supported by the SavedModel reader)")
            dys = [tf.zeros_like(v) if d is None else d for d, v in zip(dys, values)]
            flat = iter(program.run(list(dys) + captured))
            return [None if spec is None else next(flat) for spec in structure]
        return [tf.identity(v) for v in values], grad
    return list(marked(*inputs))


@_op("NoOp", ())
def _no_op(ctx, inputs, attrs):
    return None


@_op("Const")
def _const(ctx, inputs, attrs):
    return tf.constant(attrs["value"], dtype=attrs["dtype"])


def _variable(ctx, handle):
    if not isinstance(handle, tf.Variable):
        raise TypeError(f"{ctx.op} '{ctx.node}' expects a variable (a DT_RESOURCE handle), "
                        f"got {type(handle).__name__}")
    return handle


@_op("ReadVariableOp", ("value",))
def _read_variable(ctx, inputs, attrs):
    return _variable(ctx, inputs[0]).read_value()


@_op("AssignVariableOp", ())
def _assign(ctx, inputs, attrs):
    _variable(ctx, inputs[0]).assign(inputs[1])


@_op("AssignAddVariableOp", ())
def _assign_add(ctx, inputs, attrs):
    _variable(ctx, inputs[0]).assign_add(inputs[1])


@_op("AssignSubVariableOp", ())
def _assign_sub(ctx, inputs, attrs):
    _variable(ctx, inputs[0]).assign_sub(inputs[1])


@_op("ResourceGather")
def _resource_gather(ctx, inputs, attrs):
    return tf.gather(_variable(ctx, inputs[0]).read_value(), inputs[1],
                     batch_dims=attrs.get("batch_dims", 0))


@_op("VariableShape")
def _variable_shape(ctx, inputs, attrs):
    return tf.shape(_variable(ctx, inputs[0]), out_type=attrs.get("out_type", tf.int32))


@_op("Assert", ())
def _assert(ctx, inputs, attrs):
    ok = static_value(inputs[0])
    if ok is None:                  # decided when the traced function runs
        tf.debugging.Assert(inputs[0], list(inputs[1:]))
    elif not bool(ok):
        from tapeflow import errors
        shown = [static_value(v) for v in inputs[1:]]
        raise errors.InvalidArgumentError(None, None, "assertion failed: " + " ".join(
            str(v.tolist() if hasattr(v, "tolist") else v) for v in shown))


@_op("VarHandleOp", ("resource",))
def _var_handle(ctx, inputs, attrs):
    return ctx.variable_named(attrs.get("shared_name") or ctx.node)


@_op("VariableV2 Variable", ("ref",))
def _ref_variable(ctx, inputs, attrs):
    # A TF1 variable: its node stands for the variable, which the reader restored.
    return ctx.variable_named(attrs.get("shared_name") or ctx.node)


@_op("PlaceholderWithDefault")
def _placeholder_with_default(ctx, inputs, attrs):
    return tf.identity(inputs[0])


# -- functions and control flow -----------------------------------------------------------------

@_op("StatefulPartitionedCall PartitionedCall")
def _call(ctx, inputs, attrs):
    return ctx.call(attrs["f"], list(inputs))


@_op("If StatelessIf")
def _if(ctx, inputs, attrs):
    cond, args = inputs[0], list(inputs[1:])
    known = static_value(cond)
    if known is not None:
        return ctx.call(attrs["then_branch" if bool(known) else "else_branch"], args)
    outputs = tf.cond(tf.cast(cond, tf.bool),
                      lambda: ctx.call(attrs["then_branch"], args),
                      lambda: ctx.call(attrs["else_branch"], args))
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


@_op("While StatelessWhile")
def _while(ctx, inputs, attrs):
    values = list(inputs)
    # While the condition is known (eagerly, or a trip count fixed when tracing, as in a
    # Keras RNN), the loop runs here: its values may be Variables or TensorLists.
    while True:
        done = static_value(ctx.call(attrs["cond"], values)[0])
        if done is None:
            return _symbolic_while(ctx, values, attrs)
        if not bool(done):
            return values
        values = list(ctx.call(attrs["body"], values))


def _symbolic_while(ctx, inputs, attrs):
    # Resource inputs (Variables) pass through the loop unchanged: they are closed over
    # instead of carried, since tapeflow's loop carries tensors.
    if any(isinstance(v, TensorList) for v in inputs):
        raise NotImplementedError(f"While '{ctx.node}': a loop whose trip count is only known "
                                  "at run time cannot carry a TensorList here")
    carried = [i for i, v in enumerate(inputs) if not isinstance(v, tf.Variable)]

    def full(values):
        out = list(inputs)
        for i, v in zip(carried, values):
            out[i] = v
        return out

    def cond(*values):
        return tf.cast(ctx.call(attrs["cond"], full(values))[0], tf.bool)

    def body(*values):
        result = ctx.call(attrs["body"], full(values))
        return tuple(result[i] for i in carried)
    final = tf.while_loop(cond, body, tuple(inputs[i] for i in carried))
    return full(final if isinstance(final, (list, tuple)) else [final])


# -- TensorLists (what TensorArrays and Keras RNN loops become) ------------------------------

class TensorList:
    """A TensorList value: a tuple of element tensors (None where nothing was set yet)."""

    __slots__ = ("items", "element_shape", "dtype")

    def __init__(self, items, element_shape, dtype):
        self.items = tuple(items)
        self.element_shape = element_shape
        self.dtype = dtype

    def replace(self, index, item):
        items = list(self.items)
        if index >= len(items):
            items += [None] * (index + 1 - len(items))
        items[index] = item
        return TensorList(items, self.element_shape, self.dtype)

    def element(self, index):
        item = self.items[index]
        if item is not None:
            return item
        shape = _ints(self.element_shape)
        if not isinstance(shape, list) or any(d < 0 for d in shape):
            raise ValueError(f"reading TensorList element {index}, never set, whose shape "
                             f"{shape} is not fully known")
        return tf.zeros(shape, self.dtype)


def _static_index(ctx, value):
    index = static_value(value)
    if index is None:
        raise NotImplementedError(f"{ctx.op} '{ctx.node}' with an index known only at run "
                                  "time is not supported by the SavedModel reader")
    return int(index)


@_op("TensorListReserve", ("handle",))
def _list_reserve(ctx, inputs, attrs):
    count = _static_index(ctx, inputs[1])
    return TensorList([None] * max(count, 0), inputs[0], attrs["element_dtype"])


@_op("EmptyTensorList", ("handle",))
def _list_empty(ctx, inputs, attrs):
    return TensorList([], inputs[0], attrs["element_dtype"])


@_op("TensorListFromTensor", ("output_handle",))
def _list_from_tensor(ctx, inputs, attrs):
    return TensorList(tf.unstack(inputs[0]), inputs[1], attrs["element_dtype"])


@_op("TensorListGetItem", ("item",))
def _list_get(ctx, inputs, attrs):
    return inputs[0].element(_static_index(ctx, inputs[1]))


@_op("TensorListSetItem", ("output_handle",))
def _list_set(ctx, inputs, attrs):
    return inputs[0].replace(_static_index(ctx, inputs[1]), inputs[2])


@_op("TensorListPushBack", ("output_handle",))
def _list_push(ctx, inputs, attrs):
    return inputs[0].replace(len(inputs[0].items), inputs[1])


@_op("TensorListLength", ("length",))
def _list_length(ctx, inputs, attrs):
    return tf.constant(len(inputs[0].items), tf.int32)


@_op("TensorListStack", ("tensor",))
def _list_stack(ctx, inputs, attrs):
    handle = inputs[0]
    if not handle.items:
        shape = _ints(inputs[1])
        return tf.zeros([0] + list(shape), handle.dtype)
    return tf.stack([handle.element(i) for i in range(len(handle.items))])


# The rest of the table (linear algebra, gradient ops, strings, scatters, random draws).
from tapeflow.saved_model import import_ops_more  # noqa: E402,F401
