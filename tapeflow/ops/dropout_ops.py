"""Dropout: ONE op for `tf.nn.dropout` and the Keras `Dropout` layer.

The op returns the output and the scaled keep-mask it multiplied by; the
gradient is `dy * mask` (linear in dy, so it differentiates again), with the
mask kept as the op's second output: a residual whose lifetime is the tape's
or the plan's, like any tensor. The mask is drawn by the kernel, at run time,
so the op works traced with an unknown batch size.

    >>> import tapeflow as tf
    >>> sorted(set(tf.nn.dropout(tf.ones(100), rate=0.5, seed=1).numpy().tolist()))
    [0.0, 2.0]
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import _philox, _random_seed, random_ops


def _noise_dims(x_dims, noise_shape):
    """The mask's shape: `noise_shape` with None entries taken from the input's dims."""
    if noise_shape is None:
        return tuple(x_dims)
    return tuple(x_dims[i] if d is None else d for i, d in enumerate(noise_shape))


def _dropout_kernel(x, rate, seed, stream, seed2, noise_shape=None):
    # TF's mask: uniform draws in x's dtype from the op's Philox stream, kept where >= rate.
    dims = _noise_dims(x.shape, noise_shape)
    n = int(np.prod(dims, dtype=np.int64))
    key, counter = stream.reserve(n)
    keep = _philox.uniform(key, counter, n, x.dtype).reshape(dims) >= x.dtype.type(rate)
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate))
    return x * mask, mask


def _dropout_shape(inputs, attrs):
    x = inputs[0]
    dims = x.shape.as_list() if x.shape.rank is not None else None
    mask = TensorShape(None if dims is None else _noise_dims(dims, attrs.get("noise_shape")))
    return [(x.shape, x.dtype), (mask, x.dtype)]


def _dropout_grad(inputs, outputs, attrs, dy):
    return (dy[0] * outputs[1],)


_DROPOUT = OpDef("Dropout", _dropout_kernel, _dropout_grad, num_outputs=2,
                 shape_fn=_dropout_shape, stateful=True)


def _static_noise_shape(noise_shape, rank):
    if noise_shape is None:
        return None
    if hasattr(noise_shape, "_value"):
        noise_shape = np.asarray(noise_shape._value).tolist()
    dims = tuple(None if d is None else int(d) for d in noise_shape)
    if rank is not None and len(dims) != rank:
        raise ValueError(f"dropout: noise_shape {list(dims)} must have the rank of the input "
                         f"({rank})")
    return dims


def apply_dropout(x, rate: float, noise_shape=None, seed=None):
    """`x` with elements zeroed with probability `rate` (0 <= rate < 1), the rest scaled.

    The mask is TF's for TF's seeds: TF draws it with a stateful uniform op, so the seeds
    and the Philox stream are those `tf.random.uniform` would use (`_random_seed.py`).
    """
    seed1, seed2 = _random_seed.get_seed(random_ops._global_seed, seed)
    stream = _random_seed.stream_for("RandomUniform", x.dtype._np, seed1, seed2)
    attrs = {"rate": float(rate), "seed": seed1, "stream": stream, "seed2": seed2}
    dims = _static_noise_shape(noise_shape, x.shape.rank)
    if dims is not None:
        attrs["noise_shape"] = dims
    return execute(_DROPOUT, (x,), attrs)[0]


@tf_export("nn.dropout")
def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zeroes elements with probability `rate`, scaling the rest by 1/(1-rate).

    Args:
        x: a floating-point tensor.
        rate: the probability of dropping each element, in [0, 1).
        noise_shape: the shape of the keep-mask, broadcast against `x` (None
            entries: `x`'s size there).
        seed: an op seed (see `tf.random.set_seed`).
    """
    x = as_input(x)
    if not x.dtype.is_floating:
        raise TypeError(f"Dropout: expected a floating-point tensor, got {x.dtype.name}.")
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got {rate}")
    if rate == 0:
        return x
    return apply_dropout(x, rate, noise_shape, seed)
