"""Neural-network ops (`tf.nn`): activations, softmax and cross-entropies,
conv2d, pooling, bias_add (dropout: dropout_ops.py). Each op's gradient sits beside it and is
itself built from differentiable ops (so second derivatives work).
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.backend import elementwise
from tapeflow.framework.api_export import tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import TRANSPARENT, OpDef, as_input, binary_inputs, execute
from tapeflow.ops import _inline, array_ops, math_ops, reduce_ops
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
    # dy * (y > 0), as TF's kernel: one multiply pass, ~10x faster than np.where
    # here (a NaN/inf in dy where y <= 0 gives NaN, as in TF); split over the pool
    # when large (backend/elementwise.py).
    return elementwise.relu_grad(dy, y)


# ReluGrad is linear in dy: its own gradient w.r.t. dy is ReluGrad again.
_RELU_GRAD = OpDef("ReluGrad", _relu_grad_kernel,
                   lambda inputs, outputs, attrs, g: (execute(_RELU_GRAD, (g, inputs[1])), None),
                   shape_fn=same_as_first, grad_uses_outputs=False, batch_rule=TRANSPARENT,
                   fuse={"fresh": True, "mask": True,
                         "in_place": lambda dy, y: elementwise.relu_grad(dy, y, out=dy)})


def relu_grad(gradients, features):
    """ReluGrad: `gradients * (features > 0)` (the ReLU's gradient, given its output or input)."""
    return execute(_RELU_GRAD, (gradients, features))


def _relu_kernel(x):
    return elementwise.relu(x)


def _relu_inline(node, context):
    name = _inline.float_name(node.inputs[0])
    if name is None or node.attrs:
        return None
    return "_maximum({0}, _zero_" + name[1:] + ")", _inline.CONSTANTS


# The gradient tests y > 0 (not x >= 0): at exactly 0 it is 0, as in TF.
_RELU = OpDef("Relu", _relu_kernel,
              lambda inputs, y, attrs, dy: (execute(_RELU_GRAD, (dy, y)),),
              shape_fn=same_as_first, batch_rule=TRANSPARENT, inline=_relu_inline,
              fuse={"activation": "relu", "fresh": True,
                    "in_place": lambda x: elementwise.relu(x, out=x)})


@tf_export("nn.relu")
def relu(features, name=None):
    """max(x, 0); its gradient at exactly 0 is 0, as TF's.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.relu([-1., 0., 2.]).numpy()
        array([0., 0., 2.], dtype=float32)
    """
    return execute(_RELU, (as_input(features),))


@tf_export("nn.relu6")
def relu6(features, name=None):
    """min(max(x, 0), 6)."""
    x = as_input(features)
    return math_ops.minimum(relu(x), 6)


@tf_export("nn.leaky_relu")
def leaky_relu(features, alpha=0.2, name=None):
    """x where x > 0, else alpha * x.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.leaky_relu([-1., 2.], alpha=0.1).numpy()
        array([-0.1,  2. ], dtype=float32)
    """
    x = as_input(features)
    if x.dtype.is_integer:       # as TF: integer features are computed in float32
        x = math_ops.cast(x, dtypes.float32)
    # TF's alpha is a float32 attribute, so float64 features see float32(alpha).
    alpha = float(np.float32(alpha))
    return math_ops.where(x > 0, x, x * alpha)


def _elu_kernel(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


_ELU = OpDef("Elu", _elu_kernel,
             lambda inputs, y, attrs, dy: (math_ops.where(inputs[0] > 0, dy, dy * (y + 1)),),
             shape_fn=same_as_first, batch_rule=TRANSPARENT)


@tf_export("nn.elu")
def elu(features, name=None):
    """x if x > 0 else exp(x) - 1."""
    return execute(_ELU, (_float_input("Elu", features),))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@tf_export("nn.selu")
def selu(features, name=None):
    """scale * elu(x) with alpha, by the self-normalising constants."""
    x = _float_input("Selu", features)
    return _SELU_SCALE * math_ops.where(x > 0, x, _SELU_ALPHA * elu(x))


@tf_export("nn.gelu")
def gelu(features, approximate=False, name=None):
    """x * Phi(x) (exact, with erf) or its tanh approximation."""
    x = _float_input("Gelu", features)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + math_ops.tanh(c * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + math_ops.erf(x * (1 / math.sqrt(2))))


@tf_export("nn.silu", "nn.swish")
def silu(features, beta=1.0, name=None):
    x = as_input(features)
    return x * math_ops.sigmoid(beta * x)


swish = silu


# -- softmax ------------------------------------------------------------------------

def _softmax_kernel(x, axis):
    if x.size == 0:          # nothing to normalize (a max over no elements would raise)
        return x.copy()
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _softmax_grad_kernel(y, dy, axis):
    return (dy - (dy * y).sum(axis=axis, keepdims=True)) * y


def _softmax_grad_grad(inputs, outputs, attrs, g, needs):
    # SoftmaxGrad is dy -> J dy with J = diag(y) - y y^T symmetric: its adjoint in dy is
    # itself; in y it is g*dy - dy*<g, y> - <dy, y>*g (dot products along the axis).
    yv, dy = inputs
    ax = attrs["axis"]
    d_y = None
    if needs[0]:
        d_y = (g * dy - dy * reduce_ops.reduce_sum(g * yv, axis=ax, keepdims=True)
               - reduce_ops.reduce_sum(dy * yv, axis=ax, keepdims=True) * g)
    return d_y, (execute(_SOFTMAX_GRAD, (yv, g), attrs) if needs[1] else None)


def _axis_from_end(inputs, attrs):
    # A leading batch axis leaves an axis counted from the end where it was.
    return attrs["axis"] < 0


_SOFTMAX_GRAD = OpDef("SoftmaxGrad", _softmax_grad_kernel, _softmax_grad_grad,
                      shape_fn=same_as_first, grad_needs=True, grad_uses_outputs=False,
                      batch_rule=TRANSPARENT, batch_when=_axis_from_end)


def _softmax_grad(inputs, y, attrs, dy):
    return (execute(_SOFTMAX_GRAD, (y, dy), attrs),)


def _log_softmax_kernel(x, axis):
    if x.size == 0:
        return x.copy()
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _log_softmax_grad(inputs, y, attrs, dy):
    ax = attrs["axis"]
    return (dy - math_ops.exp(y) * reduce_ops.reduce_sum(dy, axis=ax, keepdims=True),)


_SOFTMAX = OpDef("Softmax", _softmax_kernel, _softmax_grad, shape_fn=same_as_first,
                 batch_rule=TRANSPARENT, batch_when=_axis_from_end)
_LOG_SOFTMAX = OpDef("LogSoftmax", _log_softmax_kernel, _log_softmax_grad, shape_fn=same_as_first,
                     batch_rule=TRANSPARENT, batch_when=_axis_from_end)


def _check_class_axis(op_name, x, axis):
    from tapeflow.ops import _checks
    if axis is not None and x.shape.rank is not None:
        _checks.normalize_axis(op_name, axis, max(x.shape.rank, 1))


@tf_export("nn.softmax", "math.softmax")
def softmax(logits, axis=None, name=None):
    """exp(x) / sum(exp(x)) along `axis` (default last), computed stably.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.softmax([[0., 0.], [1000., 0.]]).numpy()
        array([[0.5, 0.5],
               [1. , 0. ]], dtype=float32)
    """
    x = _float_input("Softmax", logits)
    _check_class_axis("Softmax", x, axis)
    return execute(_SOFTMAX, (x,), {"axis": -1 if axis is None else int(axis)})


@tf_export("nn.log_softmax", "math.log_softmax")
def log_softmax(logits, axis=None, name=None):
    """x - logsumexp(x) along `axis` (default last), computed stably.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.log_softmax([0., 0.]).numpy()
        array([-0.6931472, -0.6931472], dtype=float32)
    """
    x = _float_input("LogSoftmax", logits)
    _check_class_axis("LogSoftmax", x, axis)
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


def _sparse_xent_grad(inputs, outputs, attrs, dy):
    labels, logits = inputs
    onehot = array_ops.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
    return None, (softmax(logits) - onehot) * array_ops.expand_dims(dy, -1)


_SPARSE_XENT = OpDef("SparseSoftmaxCrossEntropyWithLogits", _sparse_xent_kernel,
                     _sparse_xent_grad,
                     shape_fn=lambda i, a: [(i[1].shape[:-1], i[1].dtype)],
                     grad_uses_outputs=False, batch_rule=TRANSPARENT)


@tf_export("nn.sparse_softmax_cross_entropy_with_logits")
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


@tf_export("nn.softmax_cross_entropy_with_logits")
def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """Cross-entropy of probability-distribution labels against logits, per example.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.softmax_cross_entropy_with_logits([[0., 1.]], [[0., 0.]]).numpy()
        array([0.6931472], dtype=float32)
    """
    labels, logits = binary_inputs("SoftmaxCrossEntropyWithLogits", labels, logits)
    if labels.shape.as_list() == logits.shape.as_list():
        return -reduce_ops.reduce_sum(labels * log_softmax(logits, axis=axis), axis=axis)
    return _broadcast_xent(labels, logits, axis)


def _broadcast_xent(labels, logits, axis):
    """Labels and logits of different shapes, as TF takes them: each flattened to a
    [rows, classes] matrix, the two broadcast (logits too, before the softmax), and the
    loss given the logits' batch shape."""
    if axis not in (-1, logits.shape.rank - 1) or not (
            labels.shape.is_fully_defined() and logits.shape.is_fully_defined()):
        raise errors.InvalidArgumentError(
            f"logits and labels must be the same shape (or, along the last axis, shapes "
            f"known when tracing): logits_size={logits.shape} labels_size={labels.shape}")
    lo, la = logits.shape.as_list(), labels.shape.as_list()
    lo2 = [int(np.prod(lo[:-1])), lo[-1]] if lo else [1, 1]
    la2 = [int(np.prod(la[:-1])), la[-1]] if la else [1, 1]
    rows, cols = (max(a, b) if 1 in (a, b) or a == b else None for a, b in zip(lo2, la2))
    if rows is None or cols is None or rows != lo2[0]:
        raise errors.InvalidArgumentError(
            f"logits and labels must be broadcastable: logits_size={logits.shape} "
            f"labels_size={labels.shape}")
    wide = array_ops.broadcast_to(array_ops.reshape(logits, lo2), [rows, cols])
    lab = array_ops.broadcast_to(array_ops.reshape(labels, la2), [rows, cols])
    loss = -reduce_ops.reduce_sum(lab * log_softmax(wide), axis=-1)
    return array_ops.reshape(loss, lo[:-1])


@tf_export("nn.sigmoid_cross_entropy_with_logits")
def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """max(x, 0) - x*z + log(1 + exp(-|x|)), the stable form."""
    labels, logits = binary_inputs("SigmoidCrossEntropyWithLogits", labels, logits)
    if not labels.shape.is_compatible_with(logits.shape):
        raise ValueError(f"`logits` and `labels` must have the same shape, received "
                         f"({logits.shape} vs {labels.shape}).")
    return (relu(logits) - logits * labels
            + math_ops.log1p(math_ops.exp(-math_ops.abs(logits))))


# -- bias_add / misc ------------------------------------------------------------------

@tf_export("nn.bias_add")
def bias_add(value, bias, data_format=None, name=None):
    """value + bias, with bias a vector over the last (channels) dimension.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.bias_add(tf.zeros((2, 3)), [1., 2., 3.]).numpy()[1]
        array([1., 2., 3.], dtype=float32)
    """
    value, bias = binary_inputs("BiasAdd", value, bias)
    if bias.shape.rank != 1:
        raise errors.op_error("BiasAdd", f"Biases must be 1D: {bias.shape}")
    if value.shape.rank is not None and value.shape.rank < 2:
        raise errors.op_error("BiasAdd", f"Input tensor must be at least 2D: {value.shape}")
    last = value.shape[-1] if data_format in (None, "NHWC", "N...C") else value.shape[1]
    if last is not None and bias.shape[0] != last:
        raise errors.op_error("BiasAdd", f"Must provide as many biases as the last dimension of "
                              f"the input tensor: {bias.shape} vs. {value.shape}")
    if data_format == "NCHW":
        bias = array_ops.reshape(bias, [-1] + [1] * (value.shape.rank - 2))
    return math_ops.add(value, bias)


@tf_export("nn.l2_loss")
def l2_loss(t, name=None):
    return reduce_ops.reduce_sum(math_ops.square(t)) / 2


@tf_export("math.l2_normalize", "nn.l2_normalize", "linalg.l2_normalize")
def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    x = as_input(x)
    sq = reduce_ops.reduce_sum(math_ops.square(x), axis=axis, keepdims=True)
    return x * math_ops.rsqrt(math_ops.maximum(sq, epsilon))


@tf_export("nn.moments")
def moments(x, axes, shift=None, keepdims=False, name=None):
    mean = reduce_ops.reduce_mean(x, axis=axes, keepdims=True)
    var = reduce_ops.reduce_mean(math_ops.squared_difference(x, array_ops.stop_gradient(mean)),
                                 axis=axes, keepdims=True)
    if not keepdims and (axes is None or isinstance(axes, (int, np.integer)) or len(axes)):
        mean = array_ops.squeeze(mean, axes)
        var = array_ops.squeeze(var, axes)
    return mean, var


@tf_export("nn.batch_normalization")
def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    inv = math_ops.rsqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    out = x * inv
    return out + (offset - mean * inv if offset is not None else -mean * inv)


@tf_export("nn.embedding_lookup")
def embedding_lookup(params, ids, max_norm=None, name=None):
    """Rows of `params` at `ids` (any int shape): `tf.gather(params, ids)`.

    Example:
        >>> import tapeflow as tf
        >>> tf.nn.embedding_lookup([[0., 1.], [2., 3.]], [[1], [0]]).shape
        TensorShape([2, 1, 2])
    """
    if isinstance(params, (list, tuple)) and params and hasattr(params[0], "shape") and \
            len(params) > 1:
        raise NotImplementedError("embedding_lookup with a list of sharded params is not "
                                  "supported; concatenate them first.")
    if isinstance(params, (list, tuple)) and len(params) == 1 and hasattr(params[0], "shape"):
        params = params[0]
    return array_ops.gather(params, ids)


# Convolution and pooling live in conv_ops; tf.nn exposes them with the rest.
from tapeflow.ops.conv_ops import (  # noqa: E402,F401
    avg_pool, avg_pool2d, conv2d, convolution, max_pool, max_pool2d)
