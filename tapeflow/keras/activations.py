"""`keras.activations`: activation functions by name (`Dense(10, activation='softmax')`).

    >>> import tapeflow as tf
    >>> tf.keras.activations.get('relu')(tf.constant([-1., 2.])).numpy()
    array([0., 2.], dtype=float32)
"""
from __future__ import annotations

import weakref

from tapeflow.framework import api_export
from tapeflow.framework.api_export import tf_export
from tapeflow.ops import math_ops, nn_ops, reduce_ops

# Outputs of softmax/sigmoid activations -> the logits they came from, as Keras 3 keeps
# `_keras_logits`: a cross-entropy given such an output computes from the logits (one
# stable fused op, no clipping, a cheaper gradient). Keyed by id, entries vanish with
# the output (weakref callback), so no tensor is kept alive by this table.
_LOGITS: dict = {}


def _remember_logits(output, logits, kind):
    key = id(output)

    def drop(_ref, key=key):
        _LOGITS.pop(key, None)
    _LOGITS[key] = (weakref.ref(output, drop), logits, kind)
    return output


def logits_of(output, kind):
    """The logits `output` was computed from by a `kind` ('softmax'/'sigmoid') activation."""
    entry = _LOGITS.get(id(output))
    if entry is not None and entry[2] == kind and entry[0]() is output:
        return entry[1]
    return None


@tf_export("keras.activations.linear")
def linear(x):
    return x


@tf_export("keras.activations.relu")
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return nn_ops.relu(x)
    y = math_ops.where(x >= threshold, x, negative_slope * (x - threshold))
    return y if max_value is None else math_ops.minimum(y, max_value)


@tf_export("keras.activations.softmax")
def softmax(x, axis=-1):
    out = nn_ops.softmax(x, axis=axis)
    return _remember_logits(out, x, "softmax") if axis in (-1, x.shape.rank - 1) else out


@tf_export("keras.activations.log_softmax")
def log_softmax(x, axis=-1):
    return nn_ops.log_softmax(x, axis=axis)


@tf_export("keras.activations.sigmoid")
def sigmoid(x):
    return _remember_logits(math_ops.sigmoid(x), x, "sigmoid")


@tf_export("keras.activations.tanh")
def tanh(x):
    return math_ops.tanh(x)


@tf_export("keras.activations.softplus")
def softplus(x):
    return math_ops.softplus(x)


@tf_export("keras.activations.softsign")
def softsign(x):
    return x / (math_ops.abs(x) + 1)


@tf_export("keras.activations.elu")
def elu(x, alpha=1.0):
    y = nn_ops.elu(x)
    return y if alpha == 1.0 else math_ops.where(x > 0, y, alpha * y)


@tf_export("keras.activations.selu")
def selu(x):
    return nn_ops.selu(x)


@tf_export("keras.activations.gelu")
def gelu(x, approximate=False):
    return nn_ops.gelu(x, approximate=approximate)


@tf_export("keras.activations.silu", "keras.activations.swish")
def swish(x):
    return nn_ops.silu(x)



@tf_export("keras.activations.leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    return nn_ops.leaky_relu(x, alpha=negative_slope)


@tf_export("keras.activations.relu6")
def relu6(x):
    return nn_ops.relu6(x)


@tf_export("keras.activations.exponential")
def exponential(x):
    return math_ops.exp(x)


@tf_export("keras.activations.hard_sigmoid")
def hard_sigmoid(x):
    return math_ops.clip_by_value(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def logsumexp(x, axis=-1):
    return reduce_ops.reduce_logsumexp(x, axis=axis)


_BY_NAME = {f.__name__: f for f in (
    linear, relu, softmax, log_softmax, sigmoid, tanh, softplus, softsign, elu, selu, gelu,
    swish, leaky_relu, relu6, exponential, hard_sigmoid)}
_BY_NAME["silu"] = swish


def get(identifier):
    """An activation function from a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(f"Unknown activation function: expected one of "
                             f"{sorted(_BY_NAME)}, received {identifier!r}")
        return fn
    if isinstance(identifier, dict):
        return get(identifier.get("config", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: expected a string, "
                    f"a callable or None, received {identifier!r} of type "
                    f"{type(identifier).__name__}")


def serialize(fn) -> str:
    """The registered name of an activation (for get_config)."""
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    name = getattr(fn, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {fn!r}: it has no name")
    return name


def deserialize(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)


# The module is the public keras.activations namespace: its functions, as declared above,
# through their public wrappers (an activation applied to a Keras tensor becomes a layer).
# The registry above keeps the plain functions, which layers call.
globals().update(api_export.namespace("keras.activations"))
