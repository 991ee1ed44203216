"""`keras.layers.TextVectorization`: text -> token indices or bag-of-words vectors.

Standardize (lower-case and/or strip punctuation, or a callable), split (whitespace,
characters, or a callable), form n-grams, then look tokens up in a vocabulary learned by
`adapt` (Keras 3's order: most frequent first, ties by token descending). Output modes:
'int' (padded with 0; `output_sequence_length` pads or truncates), 'multi_hot',
'count', 'tf_idf'.

    >>> import tapeflow as tf
    >>> tv = tf.keras.layers.TextVectorization(output_sequence_length=4)
    >>> tv.adapt(['the cat sat', 'the dog'])
    >>> tv.get_vocabulary()
    ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
    >>> tv(tf.constant(['The cat ran!'])).numpy()
    array([[2, 5, 1, 0]])
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.keras.layers.text_preprocessing import (_PUNCTUATION, _batches, _IndexLookup,
                                                      _LOOKUP)
from tapeflow.ops import array_ops, string_ops
from tapeflow.ops.string_split_ops import NGRAMS, UNICODE_SPLIT

_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")


def _fix_length_kernel(indices, length):
    out = np.zeros(indices.shape[:-1] + (length,), indices.dtype)
    n = min(length, indices.shape[-1])
    out[..., :n] = indices[..., :n]
    return out


_FIX_LENGTH = OpDef("PadOrTruncate", _fix_length_kernel, NO_GRADIENT,
                    shape_fn=lambda inputs, attrs: [(TensorShape(
                        inputs[0].shape.as_list()[:-1] + [attrs["length"]]), dtypes.int64)])


class TextVectorization(_IndexLookup):
    """`keras.layers.TextVectorization` (see the module docstring)."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        kwargs.pop("vocabulary_size", None)
        if standardize not in _STANDARDIZE and not callable(standardize):
            raise ValueError(f"Invalid value for argument `standardize`: {standardize!r}.")
        if split not in (None, "whitespace", "character") and not callable(split):
            raise ValueError(f"Invalid value for argument `split`: {split!r}.")
        if not (ngrams is None or isinstance(ngrams, int) or (
                isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) for n in ngrams))):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is "
                             f"not 'int'. Received output_sequence_length="
                             f"{output_sequence_length}.")
        if ragged:
            raise NotImplementedError("ragged=True is not supported (outputs are dense).")
        # As Keras: the mask token '' (index 0) only in 'int' mode.
        super().__init__(max_tokens=max_tokens, num_oov_indices=1,
                         mask_token="" if output_mode == "int" else None, oov_token="[UNK]",
                         vocabulary=vocabulary, idf_weights=idf_weights,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, **kwargs)
        self._table.pad = True
        self.standardize, self.split = standardize, split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else (
            tuple(ngrams) if ngrams is not None else None)
        self.output_sequence_length = output_sequence_length
        self._table.pad_value = 0 if output_mode == "int" else -1

    def _preprocess(self, x):
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            x = string_ops.lower(x)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            x = string_ops.regex_replace(x, _PUNCTUATION, "")
        if callable(self.standardize):
            x = self.standardize(x)
        if self.split is not None:
            if x.shape.rank is not None and x.shape.rank > 1:
                if x.shape[-1] != 1:
                    raise ValueError("When using `TextVectorization` to tokenize strings, the "
                                     "input rank must be 1 or the last shape dimension must "
                                     f"be 1. Received: inputs.shape={x.shape}")
                x = array_ops.squeeze(x, -1)
            if self.split == "whitespace":
                x = string_ops.split(x)
            elif self.split == "character":
                x = execute(UNICODE_SPLIT, (x,))
            else:
                x = self.split(x)
        if self._ngrams is not None:
            x = execute(NGRAMS, (x,), {"widths": self._ngrams, "separator": b" "})
        return x

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from strings (an array, list, tensor or dataset)."""
        rows = []
        for arr in _batches(data):
            tokens = self._preprocess(as_input(arr, dtypes.string)).numpy()
            tokens = np.asarray(tokens, object)
            if tokens.ndim <= 1:
                tokens = tokens.reshape(1, -1) if self.split is not None else \
                    tokens.reshape(-1, 1)
            rows.extend(tokens.reshape(len(tokens), -1).tolist())
        self._learn(rows)

    def call(self, inputs):
        x = inputs if isinstance(inputs, Tensor) else as_input(inputs, dtypes.string)
        tokens = self._preprocess(x)
        indices = execute(_LOOKUP, (tokens,), {"table": self._table})
        if self.output_mode == "int":
            if self.output_sequence_length is not None:
                indices = execute(_FIX_LENGTH, (indices,),
                                  {"length": int(self.output_sequence_length)})
            return indices
        return self._output(indices)

    def compute_output_shape(self, input_shape):
        lead = list(input_shape)[:1]
        if self.output_mode == "int":
            return TensorShape(lead + [self.output_sequence_length])
        return TensorShape(lead + [self._depth()])

    def get_config(self):
        config = super().get_config()
        for key in ("num_oov_indices", "mask_token", "oov_token", "invert"):
            config.pop(key)
        return {**config, "standardize": self.standardize if isinstance(
            self.standardize, str) or self.standardize is None else None,
            "split": self.split if isinstance(self.split, str) or self.split is None else None,
            "ngrams": self._ngrams_arg, "output_sequence_length": self.output_sequence_length,
            "ragged": False, "encoding": "utf-8"}
