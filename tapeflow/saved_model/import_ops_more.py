"""More of the reader's TF-op table: linear algebra, gradient ops, strings, scatters, random.

Same contract as `import_ops` (whose `OPS` table these rules join): one small rule per
TensorFlow op type, written with tapeflow's public ops. TensorFlow's gradient ops
(`ReluGrad`, `MaxPoolGrad`, `StridedSliceGrad`, ...), which a saved training step
contains, are computed as what they are: the gradient of the forward op, taken with a
GradientTape over the forward rule, so they stay differentiable themselves.

TensorFlow's stateful random ops (`RandomUniform`, `RandomStandardNormal`, `TruncatedNormal`,
`RandomUniformInt`, `RandomShuffle`, `Multinomial`) give TensorFlow's numbers: each node
draws from a Philox stream keyed by its `seed`/`seed2` attributes, kept across the
function's calls and restarted by `tf.random.set_seed`, as TensorFlow's kernels are; a
nested function has streams of its own per calling node (TensorFlow inlines it). Seeds
(0, 0) draw fresh numbers.
"""
from __future__ import annotations

import tapeflow as tf
from tapeflow.framework.op import execute
from tapeflow.ops import _random_seed, random_ops
from tapeflow.saved_model.import_ops import OPS, OpRule, _ints, _op, ternary

# -- linear algebra ----------------------------------------------------------------------------

for _name, _fn in {"Cholesky": tf.linalg.cholesky, "MatrixDeterminant": tf.linalg.det}.items():
    OPS[_name] = OpRule(("output",), lambda ctx, inputs, attrs, fn=_fn: fn(inputs[0]))


@_op("LogMatrixDeterminant", ("sign", "log_abs_determinant"))
def _slogdet(ctx, inputs, attrs):
    return list(tf.linalg.slogdet(inputs[0]))


@_op("MatrixBandPart", ("band",))
def _band_part(ctx, inputs, attrs):
    return tf.linalg.band_part(inputs[0], _ints(inputs[1]), _ints(inputs[2]))


def _diagonal_index(ctx, k):
    k = _ints(k)
    if k not in (0, [0], [0, 0]):
        raise NotImplementedError(f"{ctx.op} '{ctx.node}' with diagonals other than the main "
                                  f"one (k={k}) is not supported by the SavedModel reader")


@_op("MatrixDiagPartV3", ("diagonal",))
def _diag_part(ctx, inputs, attrs):
    _diagonal_index(ctx, inputs[1])
    return tf.linalg.diag_part(inputs[0])


@_op("MatrixDiagV3")
def _diag(ctx, inputs, attrs):
    _diagonal_index(ctx, inputs[1])
    return tf.linalg.diag(inputs[0], num_rows=_ints(inputs[2]), num_cols=_ints(inputs[3]),
                          padding_value=inputs[4])


@_op("MatrixSetDiagV3")
def _set_diag(ctx, inputs, attrs):
    _diagonal_index(ctx, inputs[2])
    return tf.linalg.set_diag(inputs[0], inputs[1])


@_op("MatrixInverse")
def _inverse(ctx, inputs, attrs):
    return tf.linalg.inv(inputs[0], adjoint=attrs.get("adjoint", False))


@_op("MatrixSolve")
def _solve(ctx, inputs, attrs):
    return tf.linalg.solve(inputs[0], inputs[1], adjoint=attrs.get("adjoint", False))


@_op("MatrixTriangularSolve")
def _triangular_solve(ctx, inputs, attrs):
    return tf.linalg.triangular_solve(inputs[0], inputs[1], lower=attrs.get("lower", True),
                                      adjoint=attrs.get("adjoint", False))


@_op("Qr", ("q", "r"))
def _qr(ctx, inputs, attrs):
    return list(tf.linalg.qr(inputs[0], full_matrices=attrs.get("full_matrices", False)))


@_op("SelfAdjointEigV2", ("e", "v"))
def _eigh(ctx, inputs, attrs):
    return list(tf.linalg.eigh(inputs[0]))


@_op("Svd", ("s", "u", "v"))
def _svd(ctx, inputs, attrs):
    compute_uv = attrs.get("compute_uv", True)
    result = tf.linalg.svd(inputs[0], full_matrices=attrs.get("full_matrices", False),
                           compute_uv=compute_uv)
    return list(result) if compute_uv else [result]


# -- gradient ops: the forward op's gradient, taken by a tape ------------------------------------

def _vjp(forward, x, dy):
    """The gradient of `forward(x)` at `x` for the upstream gradient `dy`."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = forward(x)
    return tape.gradient(y, x, output_gradients=dy)


@_op("ReluGrad", ("backprops",))
def _relu_grad(ctx, inputs, attrs):
    gradients, features = inputs
    return tf.where(features > 0, gradients, tf.zeros_like(gradients))


@_op("SoftplusGrad", ("backprops",))
def _softplus_grad(ctx, inputs, attrs):
    return inputs[0] * tf.sigmoid(inputs[1])


@_op("SigmoidGrad", ("z",))
def _sigmoid_grad(ctx, inputs, attrs):
    y, dy = inputs
    return dy * y * (1.0 - y)


@_op("TanhGrad", ("z",))
def _tanh_grad(ctx, inputs, attrs):
    y, dy = inputs
    return dy * (1.0 - y * y)


@_op("SqrtGrad", ("z",))
def _sqrt_grad(ctx, inputs, attrs):
    y, dy = inputs
    return dy * 0.5 / y


@_op("RsqrtGrad", ("z",))
def _rsqrt_grad(ctx, inputs, attrs):
    y, dy = inputs
    return dy * -0.5 * y * y * y


def _pool_args(attrs):
    return attrs["ksize"], attrs["strides"], attrs["padding"], attrs.get("data_format", "NHWC")


@_op("MaxPoolGrad")
def _max_pool_grad(ctx, inputs, attrs):
    x, _, dy = inputs
    ksize, strides, padding, data_format = _pool_args(attrs)
    return _vjp(lambda v: tf.nn.max_pool2d(v, ksize, strides, padding, data_format), x, dy)


@_op("AvgPoolGrad")
def _avg_pool_grad(ctx, inputs, attrs):
    shape, dy = inputs
    ksize, strides, padding, data_format = _pool_args(attrs)
    x = tf.zeros(_ints(shape), dy.dtype)      # average pooling is linear: any point will do
    return _vjp(lambda v: tf.nn.avg_pool2d(v, ksize, strides, padding, data_format), x, dy)


@_op("StridedSliceGrad")
def _strided_slice_grad(ctx, inputs, attrs):
    shape, begin, end, strides, dy = inputs
    forward = OPS["StridedSlice"].fn
    x = tf.zeros(_ints(shape), dy.dtype)
    return _vjp(lambda v: forward(ctx, [v, begin, end, strides], attrs), x, dy)


# -- scatters and segments -------------------------------------------------------------------

@_op("ScatterNd")
def _scatter_nd(ctx, inputs, attrs):
    return tf.scatter_nd(inputs[0], inputs[1], _ints(inputs[2]))


for _name, _fn in {"TensorScatterUpdate": tf.tensor_scatter_nd_update,
                   "TensorScatterAdd": tf.tensor_scatter_nd_add,
                   "TensorScatterSub": tf.tensor_scatter_nd_sub,
                   "TensorScatterMax": tf.tensor_scatter_nd_max,
                   "TensorScatterMin": tf.tensor_scatter_nd_min}.items():
    OPS[_name] = OpRule(("output",), ternary(_fn))


@_op("Roll")
def _roll(ctx, inputs, attrs):
    return tf.roll(inputs[0], _ints(inputs[1]), _ints(inputs[2]))


@_op("Unique", ("y", "idx"))
def _unique(ctx, inputs, attrs):
    return list(tf.unique(inputs[0], out_idx=attrs.get("out_idx", tf.int32)))


@_op("InTopKV2", ("precision",))
def _in_top_k(ctx, inputs, attrs):
    predictions, targets, k = inputs
    return tf.math.in_top_k(targets, predictions, _ints(k))


@_op("UnsortedSegmentSum")
def _segment_sum(ctx, inputs, attrs):
    return tf.math.unsorted_segment_sum(inputs[0], inputs[1], _ints(inputs[2]))


# -- strings and printing ----------------------------------------------------------------------

_STRING_UNARY = {"StringLower": tf.strings.lower, "StringUpper": tf.strings.upper,
                 "StringStrip": tf.strings.strip}
for _name, _fn in _STRING_UNARY.items():
    OPS[_name] = OpRule(("output",), lambda ctx, inputs, attrs, fn=_fn: fn(inputs[0]))


@_op("StringJoin")
def _string_join(ctx, inputs, attrs):
    return tf.strings.join(list(inputs), separator=attrs.get("separator", ""))


@_op("StringLength")
def _string_length(ctx, inputs, attrs):
    return tf.strings.length(inputs[0], unit=attrs.get("unit", "BYTE"))


@_op("StringToNumber")
def _string_to_number(ctx, inputs, attrs):
    return tf.strings.to_number(inputs[0], out_type=attrs.get("out_type", tf.float32))


@_op("StaticRegexFullMatch")
def _regex_full_match(ctx, inputs, attrs):
    return tf.strings.regex_full_match(inputs[0], attrs["pattern"])


@_op("StaticRegexReplace")
def _regex_replace(ctx, inputs, attrs):
    return tf.strings.regex_replace(inputs[0], attrs["pattern"], attrs["rewrite"],
                                    replace_global=attrs.get("replace_global", True))


@_op("ReduceJoin")
def _reduce_join(ctx, inputs, attrs):
    return tf.strings.reduce_join(inputs[0], axis=_ints(inputs[1]),
                                  keepdims=attrs.get("keep_dims", False),
                                  separator=attrs.get("separator", ""))


@_op("StringFormat")
def _string_format(ctx, inputs, attrs):
    # TF's op defaults are "%s" (tf.strings.format writes its "{}" explicitly).
    return tf.strings.format(attrs.get("template", "%s"), list(inputs),
                             placeholder=attrs.get("placeholder", "%s"),
                             summarize=attrs.get("summarize", 3))


_STREAMS = {"stderr": "stderr", "stdout": "stdout", "log(info)": "stderr",
            "log(warning)": "stderr", "log(error)": "stderr"}


@_op("PrintV2", ())
def _print(ctx, inputs, attrs):
    import sys
    name = attrs.get("output_stream", "stderr")
    # "file://path" appends to that file, as TF's op does; logging levels go to stderr.
    stream = name if name.startswith("file://") else getattr(sys, _STREAMS.get(name, "stderr"))
    tf.print(inputs[0], output_stream=stream, end=attrs.get("end", "\n"))


# -- stateful random draws: each node's stream keyed by its seed attributes -----------------------

def _stream(ctx, attrs):
    """The node's Philox stream, made on its first run from the NodeDef's (seed, seed2):
    TensorFlow's numbers for seeds set when the model was saved, fresh ones for (0, 0)."""
    stream = ctx.streams.get(ctx.node)
    if stream is None:
        stream = ctx.streams[ctx.node] = _random_seed.node_stream(attrs.get("seed") or 0,
                                                                  attrs.get("seed2") or 0)
    return stream


def _scalar_int(value, ctx, what):
    known = _ints(value)
    if not isinstance(known, int):
        raise NotImplementedError(f"{ctx.op} '{ctx.node}': a {what} known only when the "
                                  f"function runs is not supported by the SavedModel reader")
    return known


# tapeflow's op of the same TF name draws each of these from the node's stream.
_FLOAT_DRAWS = {"RandomUniform": random_ops._UNIFORM, "RandomStandardNormal": random_ops._NORMAL,
                "TruncatedNormal": random_ops._TRUNC}


@_op(" ".join(_FLOAT_DRAWS))
def _random_floats(ctx, inputs, attrs):
    return random_ops.stream_draw(_FLOAT_DRAWS[ctx.op], _ints(inputs[0]), attrs["dtype"]._np,
                                  _stream(ctx, attrs))


@_op("RandomUniformInt")
def _random_uniform_int(ctx, inputs, attrs):
    bounds = {"minval": _scalar_int(inputs[1], ctx, "minval"),
              "maxval": _scalar_int(inputs[2], ctx, "maxval")}
    return random_ops.stream_draw(random_ops._UNIFORM_INT, _ints(inputs[0]),
                                  inputs[1].dtype._np, _stream(ctx, attrs), bounds)




@_op("RandomShuffle")
def _random_shuffle(ctx, inputs, attrs):
    stream = _stream(ctx, attrs)
    return execute(random_ops._SHUFFLE, (inputs[0],),
                   {"stream": stream, "seed": stream.seeds[0], "seed2": stream.seeds[1]})


@_op("Multinomial")
def _multinomial(ctx, inputs, attrs):
    stream = _stream(ctx, attrs)
    out = (attrs.get("output_dtype") or tf.int64)._np
    return execute(random_ops._CATEGORICAL, (inputs[0],), {
        "num_samples": _scalar_int(inputs[1], ctx, "num_samples"), "dtype": out,
        "stream": stream, "seed": stream.seeds[0], "seed2": stream.seeds[1]})


# -- stateless and Generator draws: tapeflow's Philox streams are TensorFlow's ------------------

# TF passes a Philox state as key (uint64[1]) and counter (uint64[2]); tapeflow's ops take
# one int64 vector [counter_lo, counter_hi, key]. The words are the same bits: a cast
# between int64 and uint64 keeps them.
_STATELESS = {"StatelessRandomUniformV2": "_UNIFORM", "StatelessRandomNormalV2": "_NORMAL",
              "StatelessTruncatedNormalV2": "_TRUNCATED",
              "StatelessRandomUniformFullIntV2": "_FULL_INT",
              "StatelessRandomUniformIntV2": "_UNIFORM_INT"}
_PHILOX_ALGS = (1, 3)        # Philox, and "auto", which is Philox on the CPU


def _check_alg(ctx, alg):
    from tapeflow.saved_model.import_ops import static_value
    known = static_value(alg)
    if known is None or int(known) not in _PHILOX_ALGS:
        raise NotImplementedError(f"{ctx.op} '{ctx.node}': only the Philox algorithm is "
                                  f"supported by the SavedModel reader (alg={known})")


def _stateless_rule(pair_name):
    def rule(ctx, inputs, attrs):
        from tapeflow.ops import stateless_random_ops
        shape, key, counter, alg = inputs[:4]
        _check_alg(ctx, alg)
        state = tf.concat([tf.cast(counter, tf.int64), tf.cast(key, tf.int64)], 0)
        # TF leaves out attributes at their default (float32; uint64 for full-range ints).
        default = tf.uint64 if pair_name == "_FULL_INT" else tf.float32
        return stateless_random_ops.draw(getattr(stateless_random_ops, pair_name), state,
                                         _ints(shape), attrs.get("dtype", default),
                                         tuple(inputs[4:]))
    return rule


for _name, _pair in _STATELESS.items():
    OPS[_name] = OpRule(("output",), _stateless_rule(_pair))


@_op("StatelessRandomGetKeyCounter", ("key", "counter"))
def _get_key_counter(ctx, inputs, attrs):
    from tapeflow.ops import stateless_random_ops
    state = stateless_random_ops.seed_to_state(inputs[0])
    return [tf.cast(state[2:3], tf.uint64), tf.cast(state[0:2], tf.uint64)]


@_op("Bitcast")
def _bitcast(ctx, inputs, attrs):
    x, target = inputs[0], attrs["type"]
    if not (x.dtype.is_integer and target.is_integer and x.dtype.size == target.size):
        raise NotImplementedError(f"Bitcast '{ctx.node}' from {x.dtype.name} to {target.name}: "
                                  "the reader bitcasts between integers of one width only")
    return tf.cast(x, target)       # same width: NumPy's cast keeps the bits


@_op("RngReadAndSkip", ("value",))
def _read_and_skip(ctx, inputs, attrs):
    from tapeflow.framework.op import execute
    from tapeflow.ops import random_generator
    from tapeflow.saved_model.import_ops import static_value
    variable, alg, delta = inputs
    _check_alg(ctx, alg)
    known = static_value(delta)
    if known is None:
        return execute(random_generator._READ_AND_SKIP_DYN, (variable, delta))
    return execute(random_generator._READ_AND_SKIP, (variable,), {"delta": int(known)})


@_op("StatelessMultinomial")
def _stateless_categorical(ctx, inputs, attrs):
    logits, num_samples, seed = inputs
    return tf.random.stateless_categorical(logits, _ints(num_samples), seed,
                                           dtype=attrs.get("output_dtype", tf.int64))
