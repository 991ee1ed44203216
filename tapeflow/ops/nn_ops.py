"""Neural-network ops (`tf.nn`): activations, softmax and cross-entropies,
conv2d, pooling, bias_add, dropout. Each op's gradient sits beside it and is
itself built from differentiable ops (so second derivatives work).
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.backend import conv as K
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, binary_inputs, execute
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import array_ops, math_ops, random_ops, reduce_ops
from tapeflow.ops._shapes import same_as_first

sigmoid = math_ops.sigmoid
tanh = math_ops.tanh
softplus = math_ops.softplus


def _float_input(op_name, x):
    x = as_input(x)
    if not x.dtype.is_floating:
        raise TypeError(f"{op_name}: expected a floating-point tensor, got {x.dtype.name}.")
    return x


# -- activations ------------------------------------------------------------------

def _relu_grad_kernel(dy, y):
    return np.where(y > 0, dy, np.zeros((), dy.dtype))


# ReluGrad is linear in dy: its own gradient w.r.t. dy is ReluGrad again.
_RELU_GRAD = OpDef("ReluGrad", _relu_grad_kernel,
                   lambda x, y, a, ddy: (execute(_RELU_GRAD, (ddy, x[1])), None),
                   shape_fn=same_as_first)


def _relu_kernel(x):
    return np.maximum(x, np.zeros((), x.dtype))


# The gradient tests y > 0 (not x >= 0): at exactly 0 it is 0, as in TF.
_RELU = OpDef("Relu", _relu_kernel, lambda x, y, a, dy: (execute(_RELU_GRAD, (dy, y)),),
              shape_fn=same_as_first)


def relu(features, name=None):
    """max(x, 0)."""
    return execute(_RELU, (as_input(features),))


def relu6(features, name=None):
    """min(max(x, 0), 6)."""
    x = as_input(features)
    return math_ops.minimum(relu(x), 6)


def leaky_relu(features, alpha=0.2, name=None):
    x = as_input(features)
    return math_ops.where(x > 0, x, x * alpha)


def _elu_kernel(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


_ELU = OpDef("Elu", _elu_kernel,
             lambda x, y, a, dy: (math_ops.where(x[0] > 0, dy, dy * (y + 1)),),
             shape_fn=same_as_first)


def elu(features, name=None):
    """x if x > 0 else exp(x) - 1."""
    return execute(_ELU, (_float_input("Elu", features),))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None):
    """scale * elu(x) with alpha, by the self-normalising constants."""
    x = _float_input("Selu", features)
    return _SELU_SCALE * math_ops.where(x > 0, x, _SELU_ALPHA * elu(x))


def gelu(features, approximate=False, name=None):
    """x * Phi(x) (exact, with erf) or its tanh approximation."""
    x = _float_input("Gelu", features)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + math_ops.tanh(c * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + math_ops.erf(x * (1 / math.sqrt(2))))


def silu(features, beta=1.0, name=None):
    x = as_input(features)
    return x * math_ops.sigmoid(beta * x)


swish = silu


# -- softmax ------------------------------------------------------------------------

def _softmax_kernel(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _softmax_grad(x, y, attrs, dy):
    ax = attrs["axis"]
    return ((dy - reduce_ops.reduce_sum(dy * y, axis=ax, keepdims=True)) * y,)


def _log_softmax_kernel(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _log_softmax_grad(x, y, attrs, dy):
    ax = attrs["axis"]
    return (dy - math_ops.exp(y) * reduce_ops.reduce_sum(dy, axis=ax, keepdims=True),)


_SOFTMAX = OpDef("Softmax", _softmax_kernel, _softmax_grad, shape_fn=same_as_first)
_LOG_SOFTMAX = OpDef("LogSoftmax", _log_softmax_kernel, _log_softmax_grad, shape_fn=same_as_first)


def softmax(logits, axis=None, name=None):
    """exp(x) / sum(exp(x)) along `axis` (default last), computed stably."""
    x = _float_input("Softmax", logits)
    return execute(_SOFTMAX, (x,), {"axis": -1 if axis is None else int(axis)})


def log_softmax(logits, axis=None, name=None):
    x = _float_input("LogSoftmax", logits)
    return execute(_LOG_SOFTMAX, (x,), {"axis": -1 if axis is None else int(axis)})


def _sparse_xent_kernel(labels, logits):
    n = logits.shape[-1]
    if labels.size and (labels.max() >= n or labels.min() < 0):
        bad = labels[(labels >= n) | (labels < 0)].flat[0]
        raise ValueError(f"Received a label value of {bad} which is outside the valid range of "
                         f"[0, {n}).")
    z = logits - logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=-1))
    picked = np.take_along_axis(z, labels[..., None].astype(np.intp), axis=-1)[..., 0]
    return (lse - picked).astype(logits.dtype, copy=False)


def _sparse_xent_grad(x, y, attrs, dy):
    labels, logits = x
    onehot = array_ops.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
    return None, (softmax(logits) - onehot) * array_ops.expand_dims(dy, -1)


_SPARSE_XENT = OpDef("SparseSoftmaxCrossEntropyWithLogits", _sparse_xent_kernel,
                     _sparse_xent_grad,
                     shape_fn=lambda i, a: [(i[1].shape[:-1], i[1].dtype)])


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Cross-entropy of integer class labels against unnormalised logits, per example.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.sparse_softmax_cross_entropy_with_logits([0], [[0., 0.]]).numpy()
        array([0.6931472], dtype=float32)
    """
    labels = as_input(labels)
    logits = _float_input("SparseSoftmaxCrossEntropyWithLogits", logits)
    if not labels.dtype.is_integer:
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels must be int32 or "
                        f"int64 class indices; got {labels.dtype.name}.")
    if labels.shape.rank is not None and logits.shape.rank is not None and (
            labels.shape.rank != logits.shape.rank - 1
            or not labels.shape.is_compatible_with(logits.shape[:-1])):
        raise errors.InvalidArgumentError(
            f"labels shape {labels.shape} must equal logits shape {logits.shape} without its "
            f"last dimension (expected labels of shape {logits.shape[:-1]}).")
    return execute(_SPARSE_XENT, (labels, logits))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """Cross-entropy of probability-distribution labels against logits, per example."""
    labels, logits = binary_inputs("SoftmaxCrossEntropyWithLogits", labels, logits)
    if not labels.shape.is_compatible_with(logits.shape):
        raise errors.InvalidArgumentError(
            f"logits and labels must be broadcastable: logits_size={logits.shape} "
            f"labels_size={labels.shape}")
    return -reduce_ops.reduce_sum(labels * log_softmax(logits, axis=axis), axis=axis)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """max(x, 0) - x*z + log(1 + exp(-|x|)), the stable form."""
    labels, logits = binary_inputs("SigmoidCrossEntropyWithLogits", labels, logits)
    return (relu(logits) - logits * labels
            + math_ops.log1p(math_ops.exp(-math_ops.abs(logits))))


# -- bias_add / dropout / misc ---------------------------------------------------------

def bias_add(value, bias, data_format=None, name=None):
    """value + bias, with bias a vector over the last (channels) dimension."""
    value, bias = binary_inputs("BiasAdd", value, bias)
    if bias.shape.rank != 1:
        raise errors.op_error("BiasAdd", f"Biases must be 1D: {bias.shape}")
    last = value.shape[-1] if data_format in (None, "NHWC", "N...C") else value.shape[1]
    if last is not None and bias.shape[0] != last:
        raise errors.op_error("BiasAdd", f"Must provide as many biases as the last dimension of "
                              f"the input tensor: {bias.shape} vs. {value.shape}")
    if data_format == "NCHW":
        bias = array_ops.reshape(bias, [-1] + [1] * (value.shape.rank - 2))
    return math_ops.add(value, bias)


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zeroes elements with probability `rate`, scaling the rest by 1/(1-rate)."""
    x = _float_input("Dropout", x)
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got {rate}")
    if rate == 0:
        return x
    shape = noise_shape if noise_shape is not None else array_ops.shape(x)
    keep = random_ops.uniform(shape, dtype=x.dtype, seed=seed) >= rate
    return x * math_ops.cast(keep, x.dtype) * (1.0 / (1.0 - rate))


def l2_loss(t, name=None):
    return reduce_ops.reduce_sum(math_ops.square(t)) / 2


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    x = as_input(x)
    sq = reduce_ops.reduce_sum(math_ops.square(x), axis=axis, keepdims=True)
    return x * math_ops.rsqrt(math_ops.maximum(sq, epsilon))


def moments(x, axes, shift=None, keepdims=False, name=None):
    mean = reduce_ops.reduce_mean(x, axis=axes, keepdims=True)
    var = reduce_ops.reduce_mean(math_ops.squared_difference(x, array_ops.stop_gradient(mean)),
                                 axis=axes, keepdims=True)
    if not keepdims:
        mean = array_ops.squeeze(mean, axes)
        var = array_ops.squeeze(var, axes)
    return mean, var


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    inv = math_ops.rsqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    out = x * inv
    return out + (offset - mean * inv if offset is not None else -mean * inv)


# -- convolution ----------------------------------------------------------------------

def _pair(v, name, n=2):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = [int(i) for i in v]
    if len(v) == 4:       # TF's NHWC form [1, sh, sw, 1]
        return tuple(v[1:3])
    if len(v) == 1:
        return (v[0],) * n
    if len(v) != n:
        raise ValueError(f"{name} must have 1, 2 or 4 elements; got {v}")
    return tuple(v)


def _padding_attr(padding):
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME', 'VALID' or explicit pairs; got {padding!r}")
        return p
    p = [tuple(int(v) for v in pair) for pair in padding]
    if len(p) == 4:
        p = p[1:3]
    return tuple(p)


def _conv_out_shape(x_shape, k_shape, attrs, out_channels):
    n, h, w, _ = x_shape.as_list()
    if h is None or w is None:
        return TensorShape([n, None, None, out_channels])
    _, oh, ow = K.conv_geometry((n, h, w, 0), k_shape, attrs["strides"], attrs["padding"],
                                attrs["dilations"])
    return TensorShape([n, oh, ow, out_channels])


def _conv_shape(inputs, attrs):
    x, w = inputs
    kh, kw, _, co = w.shape.as_list()
    return [(_conv_out_shape(x.shape, (kh, kw), attrs, co), x.dtype)]


def _conv_grad(x, y, attrs, dy):
    inp, w = x
    return (execute(_CONV_BP_INPUT, (inp, w, dy), attrs),
            execute(_CONV_BP_FILTER, (inp, w, dy), attrs))


def _conv_kernel(x, w, strides, padding, dilations):
    return K.conv2d(x, w, strides, padding, dilations)


def _bp_input_kernel(x, w, dy, strides, padding, dilations):
    return K.conv2d_backprop_input(x.shape, w, dy, strides, padding, dilations)


def _bp_filter_kernel(x, w, dy, strides, padding, dilations):
    return K.conv2d_backprop_filter(x, w.shape, dy, strides, padding, dilations)


_CONV = OpDef("Conv2D", _conv_kernel, _conv_grad, shape_fn=_conv_shape)
# Both backprops are linear in their two real operands, so their gradients are
# the other two members of this family: the set is closed under differentiation.
_CONV_BP_INPUT = OpDef(
    "Conv2DBackpropInput", _bp_input_kernel,
    lambda x, y, a, g: (None, execute(_CONV_BP_FILTER, (g, x[1], x[2]), a),
                        execute(_CONV, (g, x[1]), a)),
    shape_fn=lambda i, a: [(i[0].shape, i[2].dtype)])
_CONV_BP_FILTER = OpDef(
    "Conv2DBackpropFilter", _bp_filter_kernel,
    lambda x, y, a, g: (execute(_CONV_BP_INPUT, (x[0], g, x[2]), a), None,
                        execute(_CONV, (x[0], g), a)),
    shape_fn=lambda i, a: [(i[1].shape, i[2].dtype)])


def conv2d(input, filters, strides=1, padding="VALID", data_format="NHWC",  # noqa: A002
           dilations=None, name=None):
    """2-D convolution of an NHWC `input` with HWIO `filters`.

    Example:
        >>> import tapeflow as tf
        >>> x = tf.ones([1, 5, 5, 1]); w = tf.ones([3, 3, 1, 2])
        >>> tf.nn.conv2d(x, w, strides=1, padding='VALID').shape
        TensorShape([1, 3, 3, 2])
    """
    x, w = binary_inputs("Conv2D", input, filters)
    if data_format not in ("NHWC", None):
        raise ValueError(f"conv2d supports data_format='NHWC' only; got {data_format!r}")
    if x.shape.rank != 4 or w.shape.rank != 4:
        raise errors.op_error("Conv2D", f"input must be 4-dimensional (NHWC) and filters "
                              f"4-dimensional (HWIO); got input shape {x.shape} and filter "
                              f"shape {w.shape}")
    ci, wi = x.shape[3], w.shape[2]
    if ci is not None and wi is not None and ci != wi:
        raise errors.op_error("Conv2D", f"input depth must equal the filter's input depth: "
                              f"input shape {x.shape} has depth {ci}, filter shape {w.shape} "
                              f"expects {wi}")
    attrs = {"strides": _pair(strides, "strides"), "padding": _padding_attr(padding),
             "dilations": _pair(1 if dilations is None else dilations, "dilations")}
    h, wd = x.shape[1], x.shape[2]
    if h is not None and wd is not None and attrs["padding"] == "VALID":
        kh, kw = w.shape[0], w.shape[1]
        dh, dw = attrs["dilations"]
        if (kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > wd:
            raise errors.op_error("Conv2D", f"the filter ({kh}x{kw}, dilation {dh}x{dw}) is "
                                  f"larger than the input's spatial size {h}x{wd} with VALID "
                                  f"padding; input shape {x.shape}")
    return execute(_CONV, (x, w), attrs)


convolution = conv2d


# -- pooling ----------------------------------------------------------------------------

def _pool_shape(inputs, attrs):
    x = inputs[0]
    n, _, _, c = x.shape.as_list()
    return [(_conv_out_shape(x.shape, attrs["ksize"], {**attrs, "dilations": (1, 1)}, c), x.dtype)]


def _max_pool_kernel(x, ksize, strides, padding):
    return K.max_pool(x, ksize, strides, padding)


def _max_pool_grad_kernel(x, dy, ksize, strides, padding):
    return K.max_pool_grad(x, dy, ksize, strides, padding)


def _max_pool_gg_kernel(x, ddx, ksize, strides, padding):
    return K.max_pool_grad_grad(x, ddx, ksize, strides, padding)


_MAX_POOL_GG = OpDef("MaxPoolGradGrad", _max_pool_gg_kernel,
                     lambda x, y, a, g: (None, execute(_MAX_POOL_GRAD, (x[0], g), a)),
                     shape_fn=None)
_MAX_POOL_GRAD = OpDef("MaxPoolGrad", _max_pool_grad_kernel,
                       lambda x, y, a, g: (None, execute(_MAX_POOL_GG, (x[0], g), a)),
                       shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)])
_MAX_POOL = OpDef("MaxPool", _max_pool_kernel,
                  lambda x, y, a, dy: (execute(_MAX_POOL_GRAD, (x[0], dy), a),),
                  shape_fn=_pool_shape)


def _avg_pool_kernel(x, ksize, strides, padding):
    return K.avg_pool(x, ksize, strides, padding)


def _avg_pool_grad_kernel(x, dy, ksize, strides, padding):
    return K.avg_pool_grad(x.shape, dy, ksize, strides, padding)


_AVG_POOL_GRAD = OpDef("AvgPoolGrad", _avg_pool_grad_kernel,
                       lambda x, y, a, g: (None, execute(_AVG_POOL, (g,), a)),
                       shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)])
_AVG_POOL = OpDef("AvgPool", _avg_pool_kernel,
                  lambda x, y, a, dy: (execute(_AVG_POOL_GRAD, (x[0], dy), a),),
                  shape_fn=_pool_shape)


def _pool(op, name, input, ksize, strides, padding, data_format):  # noqa: A002
    x = _float_input(name, input)
    if x.shape.rank != 4:
        raise errors.op_error(name, f"input must be 4-dimensional (NHWC); got shape {x.shape}")
    if data_format not in ("NHWC", None):
        raise ValueError(f"{name} supports data_format='NHWC' only; got {data_format!r}")
    attrs = {"ksize": _pair(ksize, "ksize"), "strides": _pair(strides, "strides"),
             "padding": _padding_attr(padding)}
    return execute(op, (x,), attrs)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """Max over windows of `ksize` moved by `strides` (NHWC)."""
    return _pool(_MAX_POOL, "MaxPool", input, ksize, strides, padding, data_format)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """Mean over windows (with 'SAME', padding cells are not counted)."""
    return _pool(_AVG_POOL, "AvgPool", input, ksize, strides, padding, data_format)


max_pool = max_pool2d
avg_pool = avg_pool2d
