"""Vocabulary and hashing preprocessing layers: StringLookup, IntegerLookup,
TextVectorization, Hashing, CategoryEncoding (Keras 3's behaviour).

Vocabularies learned by `adapt` are ordered as Keras orders them: by count, most
frequent first, ties broken by the token itself in descending order; special tokens
(mask, OOV) come first. OOV tokens with `num_oov_indices > 1` and the `Hashing` layer
use FarmHash Fingerprint64, so indices equal Keras/TensorFlow's. The vocabulary is part
of the layer's config, so a saved model reloads with it.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.StringLookup()
    >>> layer.adapt(['b', 'a', 'b', 'c', 'c', 'c'])
    >>> layer.get_vocabulary()
    ['[UNK]', 'c', 'b', 'a']
    >>> layer(tf.constant(['c', 'zzz'])).numpy()
    array([1, 0])
"""
from __future__ import annotations

import collections

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.keras.layers.base import Layer
from tapeflow.ops import string_ops
from tapeflow.ops._farmhash import fingerprint64

_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


class _Table:
    """A token -> index table; mutable so that `adapt` after a trace still applies."""

    def __init__(self):
        self.index: dict = {}
        self.mask = None          # the mask key (index 0), or None
        self.num_oov = 1
        self.oov_start = 0
        self.pad = False          # b'' (padding from split) -> 0 (int) / ignored (-1)
        self.pad_value = 0
        self.integer = False

    def find(self, key):
        if self.pad and key == b"":
            return self.pad_value
        if self.mask is not None and key == self.mask:
            return 0
        hit = self.index.get(key)
        if hit is not None:
            return hit
        if self.num_oov == 0:
            raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, "
                             f"found OOV value {key!r}, consider setting "
                             "`num_oov_indices=1`.")
        if self.num_oov == 1:
            return self.oov_start
        if self.integer:
            return self.oov_start + int(key) % self.num_oov
        return self.oov_start + fingerprint64(key) % self.num_oov


def _lookup_kernel(keys, table):
    flat = [table.find(k) for k in keys.reshape(-1).tolist()]
    return np.array(flat, np.int64).reshape(keys.shape)


_LOOKUP = OpDef("LookupTableFindV2", _lookup_kernel, NO_GRADIENT,
                shape_fn=lambda inputs, attrs: [(inputs[0].shape, dtypes.int64)])


def _encode_kernel(indices, depth, mode, weights, out_dtype):
    # one_hot: one vector per index (a trailing axis of 1 is the index axis); the other
    # modes reduce the last axis (a rank-1 input is one sample, as in Keras).
    x = indices.astype(np.int64, copy=False)
    if mode == "one_hot" and x.ndim and x.shape[-1] == 1:
        x = x[..., 0]
    if mode == "one_hot" or x.ndim == 0:
        x = x[..., None]
    out = np.zeros(x.shape[:-1] + (depth,), np.float32)
    rows = out.reshape(-1, depth)
    for r, idx in zip(rows, x.reshape(-1, x.shape[-1])):
        idx = idx[idx >= 0]
        if idx.size and idx.max() >= depth:
            raise ValueError(f"Input values must be in the range 0 <= values < num_tokens "
                             f"with num_tokens={depth}; received {int(idx.max())}.")
        if mode == "count" or mode == "tf_idf":
            np.add.at(r, idx, 1.0)
        else:
            r[idx] = 1.0
    if weights is not None:
        out = out * weights
    return out.astype(out_dtype, copy=False)


def _encode_shape(inputs, attrs):
    shape = inputs[0].shape
    dims = shape.as_list() if shape.rank is not None else None
    dtype = dtypes.as_dtype(attrs["out_dtype"])
    if dims is None:
        return [(TensorShape(None), dtype)]
    if dims and (attrs["mode"] != "one_hot" or dims[-1] == 1):
        dims = dims[:-1]
    return [(TensorShape(dims + [attrs["depth"]]), dtype)]


_ENCODE = OpDef("CategoryEncode", _encode_kernel, NO_GRADIENT, shape_fn=_encode_shape)


def encode(indices, depth, mode, weights=None, out_dtype="float32"):
    """Indices -> one_hot / multi_hot / count (times `weights` for tf_idf) over `depth`."""
    return execute(_ENCODE, (as_input(indices, dtypes.int64),),
                   {"depth": int(depth), "mode": mode, "weights": weights,
                    "out_dtype": out_dtype})


def _batches(data):
    """The examples of `data` (array, list, tensor, or dataset of them) as NumPy arrays."""
    from tapeflow.data.dataset import Dataset
    if isinstance(data, Dataset):
        for batch in data.as_numpy_iterator():
            yield np.asarray(batch[0] if isinstance(batch, tuple) else batch)
        return
    if isinstance(data, Tensor):
        yield np.asarray(data._value)
        return
    yield np.asarray(data)


def _text(token) -> str:
    return token.decode("utf-8") if isinstance(token, bytes) else str(token)


class _DataLayer(Layer):
    """A layer whose input is one tensor of keys or indices: a Python list (of strings)
    is one tensor, not a structure of inputs; numbers keep their dtype."""

    _autocast_kinds = ""

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (list, tuple, str, bytes, np.ndarray)):
            inputs = convert_to_tensor(inputs)
        return super().__call__(inputs, *args, **kwargs)


class _IndexLookup(_DataLayer):
    """What StringLookup, IntegerLookup and TextVectorization share: a vocabulary
    table, its special tokens, `adapt` and the output modes."""

    _integer = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode not in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"Invalid value for argument `output_mode`: {output_mode!r}; "
                             "expected one of 'int', 'one_hot', 'multi_hot', 'count', "
                             "'tf_idf'.")
        if invert or sparse:
            raise NotImplementedError("invert=True and sparse=True are not supported.")
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.output_mode, self.pad_to_max_tokens = output_mode, pad_to_max_tokens
        self._table = _Table()
        self._table.integer = self._integer
        self._table.num_oov = self.num_oov_indices
        self._table.mask = None if mask_token is None else self._key(mask_token)
        self._table.oov_start = 1 if mask_token is not None else 0
        self._vocab: list = []
        self._idf = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    def _key(self, token):
        if self._integer:
            return int(token)
        return token if isinstance(token, bytes) else str(token).encode("utf-8")

    def _token_start(self) -> int:
        return (1 if self.mask_token is not None else 0) + self.num_oov_indices

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (without special tokens) and, for tf_idf, its weights."""
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = [line.rstrip("\n") for line in f]
        tokens = [self._key(t) for t in np.asarray(vocabulary).reshape(-1).tolist()]
        if len(set(tokens)) != len(tokens):
            dup = [t for t, n in collections.Counter(tokens).items() if n > 1]
            raise ValueError(f"The passed vocabulary has at least one repeated term: {dup}.")
        start = self._token_start()
        self._vocab = tokens
        self._table.index = {t: start + i for i, t in enumerate(tokens)}
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set when output_mode is 'tf_idf'.")
            w = np.asarray(idf_weights, np.float32).reshape(-1)
            self._idf = np.concatenate([np.full(start, w.mean(), np.float32), w])

    def get_vocabulary(self, include_special_tokens=True):
        """The tokens, by index (mask and OOV tokens first)."""
        words = [_text(t) if not self._integer else t for t in self._vocab]
        if not include_special_tokens:
            return words
        special = [] if self.mask_token is None else [self.mask_token]
        special += [self.oov_token] * self.num_oov_indices
        return special + words

    def vocabulary_size(self) -> int:
        return self._token_start() + len(self._vocab)

    def _learn(self, token_rows):
        """Builds the vocabulary from rows of tokens (one row per document)."""
        counts, docs, n_docs = collections.Counter(), collections.Counter(), 0
        skip = {self._table.mask, None if self._integer else b"",
                self._key(self.oov_token) if self.oov_token is not None else None}
        for row in token_rows:
            row = [t for t in row if t not in skip]
            counts.update(row)
            docs.update(set(row))
            n_docs += 1
        # Keras: np.lexsort((tokens, counts))[::-1]: count desc, then token desc.
        order = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        tokens = [t for t, _ in order]
        if self.max_tokens:
            tokens = tokens[:max(self.max_tokens - self._token_start(), 0)]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1 + n_docs / (1 + np.array([docs[t] for t in tokens], np.float64)))
        self.set_vocabulary(tokens, idf)

    def _rows(self, arr):
        keys = arr.reshape(-1).tolist() if arr.ndim <= 1 else None
        if keys is not None:
            return [[self._key(k)] for k in keys]
        return [[self._key(k) for k in row] for row in arr.reshape(len(arr), -1).tolist()]

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and idf weights) from `data`."""
        rows = []
        for arr in _batches(data):
            if arr.dtype.kind in "US":
                arr = string_ops.to_bytes_array(arr)
            rows.extend(self._rows(arr))
        self._learn(rows)

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens and self.max_tokens else \
            self.vocabulary_size()

    def _output(self, indices):
        if self.output_mode == "int":
            return indices
        weights = self._idf if self.output_mode == "tf_idf" else None
        if weights is not None and weights.size < self._depth():
            weights = np.pad(weights, (0, self._depth() - weights.size))
        # As Keras: lookup layers count in int64; tf_idf weights are float32.
        return encode(indices, self._depth(), self.output_mode, weights,
                      "float32" if weights is not None else "int64")

    def call(self, inputs):
        dtype = dtypes.int64 if self._integer else dtypes.string
        x = as_input(inputs, dtype) if not isinstance(inputs, Tensor) else inputs
        if self._integer and x.dtype is not dtypes.int64:
            from tapeflow.ops import math_ops
            x = math_ops.cast(x, dtypes.int64)
        return self._output(execute(_LOOKUP, (x,), {"table": self._table}))

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if self.output_mode == "int":
            return TensorShape(shape)
        return TensorShape(shape[:-1] + [self._depth()])

    def get_config(self):
        vocab = self.get_vocabulary(include_special_tokens=False) or None
        idf = None if self._idf is None else self._idf[self._token_start():].tolist()
        return {**super().get_config(), "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "mask_token": self.mask_token,
                "oov_token": self.oov_token, "vocabulary": vocab, "idf_weights": idf,
                "invert": False, "output_mode": self.output_mode,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False}


class StringLookup(_IndexLookup):
    """`keras.layers.StringLookup`: strings -> vocabulary indices (or encodings)."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", **kwargs):
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, **kwargs)

    def get_config(self):
        return {**super().get_config(), "encoding": "utf-8"}


class IntegerLookup(_IndexLookup):
    """`keras.layers.IntegerLookup`: integers -> vocabulary indices (or encodings)."""

    _integer = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 output_mode="int", sparse=False, vocabulary=None, vocabulary_dtype="int64",
                 idf_weights=None, invert=False, **kwargs):
        kwargs.pop("pad_to_max_tokens", None)
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, False, sparse, **kwargs)


class Hashing(_DataLayer):
    """`keras.layers.Hashing`: FarmHash Fingerprint64 (SipHash-2-4 with a `salt`) of each
    value modulo `num_bins` (integers hashed as their decimal text), as Keras/TF;
    `mask_value` -> 0."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        super().__init__(**kwargs)
        if salt is not None and not (isinstance(salt, int) or (
                isinstance(salt, (tuple, list)) and len(salt) == 2)):
            raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size 2 "
                             f"integers, or a single integer. Received: salt={salt}.")
        # A salt selects SipHash-2-4 keyed by it (an int n is the key [n, n]), as Keras.
        self.salt = None if salt is None else ([salt, salt] if isinstance(salt, int)
                                               else list(salt))
        self.num_bins, self.mask_value, self.output_mode = int(num_bins), mask_value, output_mode

    def call(self, inputs):
        x = inputs if isinstance(inputs, Tensor) else as_input(inputs)
        if x.dtype is not dtypes.string:
            x = string_ops.as_string(x)
        bins = self.num_bins - (1 if self.mask_value is not None else 0)
        if self.salt is not None:
            from tapeflow.ops.string_split_ops import to_hash_bucket_strong
            out = to_hash_bucket_strong(x, bins, self.salt)
        else:
            out = string_ops.to_hash_bucket_fast(x, bins)
        if self.mask_value is not None:
            from tapeflow.ops import math_ops
            mask = math_ops.equal(x, str(self.mask_value))
            out = math_ops.where(mask, np.int64(0), out + 1)
        if self.output_mode != "int":
            return encode(out, self.num_bins, self.output_mode)
        return out

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "mask_value": self.mask_value,
                "salt": self.salt, "output_mode": self.output_mode, "sparse": False}


class CategoryEncoding(_DataLayer):
    """`keras.layers.CategoryEncoding`: integer indices -> one_hot / multi_hot / count."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        self.num_tokens, self.output_mode = int(num_tokens), output_mode

    def call(self, inputs, count_weights=None):
        return encode(inputs, self.num_tokens, self.output_mode)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": False}
