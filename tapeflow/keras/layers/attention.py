"""`MultiHeadAttention`: Keras's multi-head scaled dot-product attention, with Keras 3's
weights (per-head einsum projections) so weights move between tapeflow and Keras.

Shapes: query (B, T, dim), value (B, S, dim_v), key (B, S, dim_k; default value).
Each is projected to (B, T|S, num_heads, key_dim|value_dim); scores softmax over the S axis
(with `attention_mask` (B, T, S), a causal mask and the inputs' Keras masks); the heads'
outputs are projected back to (B, T, output_shape or dim).

    >>> import tapeflow as tf
    >>> mha = tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> out, scores = mha(tf.ones([1, 3, 8]), tf.ones([1, 5, 8]),
    ...                   return_attention_scores=True)
    >>> out.shape, scores.shape
    (TensorShape([1, 3, 8]), TensorShape([1, 2, 3, 5]))
"""
from __future__ import annotations

import math

from tapeflow.framework.context import init_scope, name_scope
from tapeflow.keras import initializers, regularizers
from tapeflow.keras.layers import masking
from tapeflow.keras.layers.base import Layer
from tapeflow.ops import array_ops, dropout_ops, math_ops, nn_ops
from tapeflow.ops.einsum_ops import einsum

# Masked scores get this added before the softmax (Keras's large negative for float32).
_MASKED = -1e9


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.), as `keras.layers.MultiHeadAttention`.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default key_dim).
        dropout: the dropout rate on the attention scores (training only).
        use_bias: whether the projections add biases.
        output_shape: the last dimension of the output (default the query's).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer: for the
            four projections.
    """

    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 seed=None, **kwargs):
        if attention_axes is not None:
            raise NotImplementedError("MultiHeadAttention(attention_axes=...) is not "
                                      "supported: attention runs over the sequence axis.")
        for key in ("activity_regularizer", "kernel_constraint", "bias_constraint"):
            if kwargs.get(key) is not None:
                raise NotImplementedError(f"MultiHeadAttention({key}=...) is not supported")
            kwargs.pop(key, None)
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        self._output_dim = output_shape
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.__dict__["_projections"] = None

    # -- weights ------------------------------------------------------------------------
    def build(self, input_shape):
        # The weights need the value's and key's sizes too: made at the first call.
        self.__dict__["built"] = True

    def _projection(self, name, kernel_shape, bias_shape):
        kernel = self.add_weight(f"{name}/kernel", kernel_shape,
                                 initializer=self.kernel_initializer,
                                 regularizer=self.kernel_regularizer)
        bias = self.add_weight(f"{name}/bias", bias_shape, initializer=self.bias_initializer,
                               regularizer=self.bias_regularizer) if self.use_bias else None
        return kernel, bias

    def _build_projections(self, query_dim, key_in, value_in):
        heads, k, v = self.num_heads, self.key_dim, self.value_dim
        out_dim = int(self._output_dim) if self._output_dim is not None else query_dim
        with init_scope(), name_scope(self.name):
            self.__dict__["_projections"] = {
                "query": self._projection("query", (query_dim, heads, k), (heads, k)),
                "key": self._projection("key", (key_in, heads, k), (heads, k)),
                "value": self._projection("value", (value_in, heads, v), (heads, v)),
                "attention_output": self._projection("attention_output", (heads, v, out_dim),
                                                     (out_dim,))}

    def _project(self, name, x, equation):
        kernel, bias = self._projections[name]
        y = einsum(equation, x, kernel)
        return y + bias if bias is not None else y

    # -- the computation ---------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        key = value if key is None else key
        if self._projections is None:
            self._build_projections(int(query.shape[-1]), int(key.shape[-1]),
                                    int(value.shape[-1]))
        q = self._project("query", query, "abc,cde->abde")
        k = self._project("key", key, "abc,cde->abde")
        v = self._project("value", value, "abc,cde->abde")
        q = q * (1.0 / math.sqrt(float(self.key_dim)))
        scores = einsum("aecd,abcd->acbe", k, q)        # (B, heads, T, S)
        mask = self._combined_mask(query, value, key, query_mask, value_mask, key_mask,
                                   attention_mask, use_causal_mask)
        if mask is not None:
            keep = math_ops.cast(array_ops.expand_dims(mask, -3), scores.dtype)
            scores = scores + (1.0 - keep) * _MASKED
        scores = nn_ops.softmax(scores, axis=-1)
        dropped = scores
        if training and self.dropout > 0:
            dropped = dropout_ops.dropout(scores, rate=self.dropout, seed=self.seed)
        heads = einsum("acbe,aecd->abcd", dropped, v)    # (B, T, heads, value_dim)
        out = self._project("attention_output", heads, "abcd,cde->abe")
        return (out, scores) if return_attention_scores else out

    def _combined_mask(self, query, value, key, query_mask, value_mask, key_mask,
                       attention_mask, use_causal_mask):
        """The (B, T, S) boolean mask from the explicit, causal and Keras masks (or None)."""
        query_mask = masking.mask_of(query) if query_mask is None else query_mask
        value_mask = masking.mask_of(value) if value_mask is None else value_mask
        key_mask = masking.mask_of(key) if key_mask is None else key_mask
        mask = None
        for part in (None if query_mask is None else array_ops.expand_dims(
                         math_ops.cast(query_mask, "bool"), -1),
                     None if value_mask is None else array_ops.expand_dims(
                         math_ops.cast(value_mask, "bool"), -2),
                     None if key_mask is None or key is value else array_ops.expand_dims(
                         math_ops.cast(key_mask, "bool"), -2),
                     None if attention_mask is None else math_ops.cast(attention_mask, "bool"),
                     _causal(query, value) if use_causal_mask else None):
            if part is not None:
                mask = part if mask is None else math_ops.logical_and(mask, part)
        return mask

    def compute_mask(self, inputs, mask=None):
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout,
                "use_bias": self.use_bias, "output_shape": self._output_dim,
                "attention_axes": None, "seed": self.seed,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}


def _causal(query, value):
    """(1, T, S) lower-triangular mask: position t attends to positions up to t."""
    t, s = array_ops.shape(query)[1], array_ops.shape(value)[1]
    rows = array_ops.expand_dims(array_ops.range(t), -1)
    cols = array_ops.expand_dims(array_ops.range(s), 0)
    return array_ops.expand_dims(math_ops.greater_equal(rows, cols), 0)
