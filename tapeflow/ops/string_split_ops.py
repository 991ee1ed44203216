"""`tf.strings` ops that cut strings into tokens: ngrams, unicode_split, bytes_split, and
the keyed hash `to_hash_bucket_strong` (SipHash-2-4, TF's values).

Where TF returns a `RaggedTensor` (the split of a vector), tapeflow returns the dense
tensor padded with `b''` (TF's `.to_tensor()`); `ngrams` skips that padding, so the
rows of a padded split give the n-grams of the ragged rows.

    >>> import tapeflow as tf
    >>> tf.strings.ngrams(tf.constant(['a', 'b', 'c']), 2).numpy()
    array([b'a b', b'b c'], dtype=object)
"""
from __future__ import annotations

import struct

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import NO_GRADIENT, OpDef, execute
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops.string_ops import _extra_axis, _map, _same_shape, _scalar_bytes, _string_input


def _pad_rows(rows, lead_shape):
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), b"", dtype=object)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out.reshape(tuple(lead_shape) + (width,))


def _ngram_kernel(tokens, widths, separator):
    """Rows of tokens (padded with b'') -> rows of n-grams for each width in `widths`
    (all of the first width, then the next, ...), padded with b''."""
    flat = tokens.reshape(-1, tokens.shape[-1]) if tokens.ndim else tokens.reshape(1, 1)
    rows = []
    for row in flat:
        words = [w for w in row.tolist() if w != b""]
        grams = []
        for n in widths:
            grams.extend(separator.join(words[i:i + n]) for i in range(len(words) - n + 1))
        rows.append(grams)
    return _pad_rows(rows, tokens.shape[:-1] if tokens.ndim else ())


NGRAMS = OpDef("StringNGrams", _ngram_kernel, NO_GRADIENT, shape_fn=lambda inputs, attrs: [
    (TensorShape(None if inputs[0].shape.rank is None else inputs[0].shape.as_list()[:-1]
                 + [None]), dtypes.string)])


@tf_export("strings.ngrams")
def ngrams(data, ngram_width, separator=" ", pad_values=None, padding_width=None,
           preserve_short_sequences=False, name=None):
    """The n-grams of each innermost row of tokens, joined by `separator`.

    `ngram_width` is an int or a tuple of widths (all n-grams of the first width come
    first). Padding (`pad_values`) is not supported.
    """
    if pad_values is not None or preserve_short_sequences:
        raise NotImplementedError("tf.strings.ngrams: pad_values and "
                                  "preserve_short_sequences are not supported.")
    widths = (int(ngram_width),) if np.ndim(ngram_width) == 0 else tuple(
        int(w) for w in ngram_width)
    if any(w < 1 for w in widths):
        raise ValueError(f"ngram_width must be >= 1; got {ngram_width}.")
    t = _string_input(data, "data")
    if t.shape.rank == 0:
        raise ValueError("tf.strings.ngrams: `data` must have rank >= 1.")
    return execute(NGRAMS, (t,), {"widths": widths, "separator": _scalar_bytes(separator)})


def _unicode_chars_kernel(s):
    rows = [[c.encode("utf-8") for c in b.decode("utf-8")] for b in s.reshape(-1)]
    return _pad_rows(rows, s.shape)


def _bytes_kernel(s):
    return _pad_rows([[bytes([c]) for c in b] for b in s.reshape(-1)], s.shape)


UNICODE_SPLIT = OpDef("UnicodeSplit", _unicode_chars_kernel, NO_GRADIENT,
                      shape_fn=_extra_axis(dtypes.string))
_BYTES_SPLIT = OpDef("BytesSplit", _bytes_kernel, NO_GRADIENT,
                     shape_fn=_extra_axis(dtypes.string))


@tf_export("strings.unicode_split")
def unicode_split(input, input_encoding, errors="replace", replacement_char=65533,  # noqa: A002
                  name=None):
    """Each string cut into its characters (each a UTF-8 string); dense padded with `b''`
    for rank >= 1 (TF: ragged). Invalid UTF-8 raises an error."""
    if input_encoding.upper().replace("-", "") != "UTF8":
        raise NotImplementedError("tf.strings.unicode_split supports input_encoding='UTF-8'.")
    return execute(UNICODE_SPLIT, (_string_input(input),))


@tf_export("strings.bytes_split")
def bytes_split(input, name=None):  # noqa: A002
    """Each string cut into single bytes; dense padded with `b''` for rank >= 1."""
    return execute(_BYTES_SPLIT, (_string_input(input),))


# -- SipHash-2-4 ---------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & _M64


def _sip_round(v0, v1, v2, v3):
    v0 = (v0 + v1) & _M64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _M64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _M64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _M64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash24(k0: int, k1: int, data: bytes) -> int:
    """SipHash-2-4 of `data` with the 128-bit key (k0, k1), as an unsigned 64-bit int."""
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573
    n = len(data)
    end = n - n % 8
    for i in range(0, end, 8):
        m = struct.unpack_from("<Q", data, i)[0]
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    last = int.from_bytes(data[end:] + b"\0" * (8 - n % 8), "little") & ((1 << 56) - 1)
    m = last | ((n & 0xFF) << 56)
    v3 ^= m
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _strong_kernel(s, num_buckets, key):
    k0, k1 = key
    return _map(lambda b: siphash24(k0, k1, b) % num_buckets, s, np.int64)


_STRONG = OpDef("StringToHashBucketStrong", _strong_kernel, NO_GRADIENT,
                shape_fn=_same_shape(dtypes.int64))


@tf_export("strings.to_hash_bucket_strong")
def to_hash_bucket_strong(input, num_buckets, key, name=None):  # noqa: A002
    """`SipHash-2-4(key, s) % num_buckets` for each string (TF's values); `key` is two
    unsigned 64-bit integers."""
    key = [int(k) & _M64 for k in key]
    if len(key) != 2:
        raise ValueError(f"`key` must be a list of 2 integers; got {key}.")
    if int(num_buckets) < 1:
        raise ValueError(f"`num_buckets` must be >= 1; got {num_buckets}.")
    return execute(_STRONG, (_string_input(input),), {"num_buckets": int(num_buckets),
                                                       "key": tuple(key)})
