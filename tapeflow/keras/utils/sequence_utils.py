"""`keras.utils.pad_sequences`: lists of sequences of different lengths -> one array.

    >>> from tapeflow.keras.utils import pad_sequences
    >>> pad_sequences([[1, 2], [3, 4, 5]])
    array([[0, 1, 2],
           [3, 4, 5]], dtype=int32)
"""
from __future__ import annotations

import numpy as np


def _check_side(name, value):
    if value not in ("pre", "post"):
        raise ValueError(f'pad_sequences: `{name}` must be "pre" or "post"; received {value!r}')


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (and truncates) sequences to one length, as Keras does.

    Args:
        sequences: a list of sequences (lists or arrays; each may hold scalars or
            equally shaped vectors).
        maxlen: the output length; default the longest sequence.
        dtype: the output dtype (strings need an object or string dtype).
        padding: "pre" or "post": which side of a short sequence gets `value`.
        truncating: "pre" or "post": which side of a long sequence is cut.
        value: the padding value.

    Returns:
        A NumPy array of shape `(len(sequences), maxlen) + sample_shape`.
    """
    _check_side("padding", padding)
    _check_side("truncating", truncating)
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be iterable; received {sequences!r}")
    lengths, sample_shape = [], ()
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables; found "
                             f"non-iterable {seq!r} at index {i}") from None
        if len(seq) and not sample_shape:
            sample_shape = np.asarray(seq).shape[1:]
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == object
    if isinstance(value, str) and not is_text:
        raise ValueError(f"pad_sequences: dtype {dtype!r} cannot hold the string padding value "
                         f"{value!r}; pass dtype=object or a string dtype.")
    out = np.full((len(lengths), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if not len(seq) or not maxlen:
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != tuple(sample_shape):
            raise ValueError(f"pad_sequences: sequence {i} has elements of shape "
                             f"{kept.shape[1:]}, unlike the others' {tuple(sample_shape)}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
