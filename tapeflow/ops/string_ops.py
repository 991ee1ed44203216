"""`tf.strings`: string tensors and the ops on them.

A string tensor's value is a NumPy object array of Python `bytes` (a Python `str`
becomes its UTF-8 bytes, as in TF), so `.numpy()` gives `b'...'` and object arrays
as TF does. None of these ops is differentiable (`NO_GRADIENT`). Kernels always
return object arrays for string results (never NumPy `S` arrays, which would drop
trailing NUL bytes).

Where TensorFlow returns a `RaggedTensor` (`split` of a vector, `unicode_decode` of a
vector) tapeflow returns a dense tensor padded with `b''` (or 0): a note in each
docstring says so.

    >>> import tapeflow as tf
    >>> tf.strings.upper(tf.constant(['ab', 'c']))
    <tf.Tensor: shape=(2,), dtype=string, numpy=array([b'AB', b'C'], dtype=object)>
"""
from __future__ import annotations

import re

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, convert_to_tensor, execute
from tapeflow.ops._farmhash import fingerprint64

_STR_TYPES = (bytes, str, np.bytes_, np.str_)


# -- conversion ---------------------------------------------------------------

def _to_bytes(v):
    if isinstance(v, bytes):
        return bytes(v)
    if isinstance(v, str):
        return v.encode("utf-8")
    raise TypeError(f"Cannot convert {v!r} to a tensor: expected numbers, or str or bytes "
                    f"for a string tensor; got {type(v).__name__}.")


def to_bytes_array(value) -> np.ndarray:
    """An object array of `bytes` from str/bytes values, nested lists or NumPy arrays.

    Raises:
        TypeError: an element is neither str nor bytes (e.g. a number).
        ValueError: a nested list is not rectangular.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "SU":
        arr = np.char.encode(value, "utf-8") if value.dtype.kind == "U" else value
        return arr.astype(object)
    if isinstance(value, _STR_TYPES):
        out = np.empty((), object)
        out[()] = _to_bytes(value)
        return out
    arr = value if isinstance(value, np.ndarray) else _nested_object_array(value)
    return _map_bytes(_to_bytes, arr)


def _nested_object_array(value):
    arr = np.array(value, dtype=object)
    if arr.dtype == object and any(isinstance(v, (list, tuple)) for v in arr.ravel()):
        raise ValueError(f"Can't convert non-rectangular Python sequence to Tensor: {value!r}")
    return arr


def _map_bytes(fn, arr) -> np.ndarray:
    """`fn` applied to each element of `arr`: an object array of the same shape."""
    out = np.empty(arr.shape, object)
    flat = out.reshape(-1)
    for i, v in enumerate(arr.reshape(-1)):
        flat[i] = fn(v)
    return out


def _map(fn, arr, dtype) -> np.ndarray:
    flat = [fn(v) for v in np.asarray(arr, object).reshape(-1)]
    return np.array(flat, dtype=dtype).reshape(np.shape(arr))


def _string_input(x, what="input"):
    t = as_input(x, dtypes.string)
    if t.dtype is not dtypes.string:
        raise TypeError(f"Expected a string tensor for `{what}`, got a {t.dtype.name} tensor.")
    return t


def _scalar_bytes(x) -> bytes:
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, bytes):
        return x
    return bytes(np.asarray(convert_to_tensor(x, dtypes.string)._value).item())


def _string_op(name, kernel, shape_fn=None):
    return OpDef(name, kernel, NO_GRADIENT, shape_fn=shape_fn)


def _same_shape(dtype):
    return lambda inputs, attrs: [(inputs[0].shape, dtype)]


# -- case, strip, length --------------------------------------------------------

_LOWER = _string_op("StringLower", lambda s, encoding: _map_bytes(
    (lambda b: b.decode("utf-8").lower().encode("utf-8")) if encoding else bytes.lower, s),
    _same_shape(dtypes.string))
_UPPER = _string_op("StringUpper", lambda s, encoding: _map_bytes(
    (lambda b: b.decode("utf-8").upper().encode("utf-8")) if encoding else bytes.upper, s),
    _same_shape(dtypes.string))
_STRIP = _string_op("StringStrip", lambda s: _map_bytes(bytes.strip, s),
                    _same_shape(dtypes.string))


@tf_export("strings.lower")
def lower(input, encoding="", name=None):  # noqa: A002 - TF's argument name
    """Lower-cases each string: ASCII letters only, or all of Unicode when
    `encoding='utf-8'` (as TF)."""
    return execute(_LOWER, (_string_input(input),), {"encoding": encoding})


@tf_export("strings.upper")
def upper(input, encoding="", name=None):  # noqa: A002
    """Upper-cases each string: ASCII letters only, or all of Unicode with
    `encoding='utf-8'`."""
    return execute(_UPPER, (_string_input(input),), {"encoding": encoding})


@tf_export("strings.strip")
def strip(input, name=None):  # noqa: A002
    """Removes leading and trailing ASCII whitespace from each string."""
    return execute(_STRIP, (_string_input(input),))


def _utf8_len(b: bytes) -> int:
    # Counts the bytes that start a character (not 10xxxxxx), as TF does for UTF8_CHAR.
    return sum(1 for c in b if c & 0xC0 != 0x80)


def _length_kernel(s, unit):
    return _map(_utf8_len if unit == "UTF8_CHAR" else len, s, np.int32)


_LENGTH = _string_op("StringLength", _length_kernel, _same_shape(dtypes.int32))


def _check_unit(unit):
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"`unit` must be 'BYTE' or 'UTF8_CHAR'; got {unit!r}.")


@tf_export("strings.length")
def length(input, unit="BYTE", name=None):  # noqa: A002
    """The length of each string, in bytes or (`unit='UTF8_CHAR'`) in characters.

    >>> import tapeflow as tf
    >>> tf.strings.length(tf.constant(['héllo']), unit='UTF8_CHAR').numpy()
    array([5], dtype=int32)
    """
    _check_unit(unit)
    return execute(_LENGTH, (_string_input(input),), {"unit": unit})


# -- substr ---------------------------------------------------------------------------

def _substr_one(s: bytes, pos: int, n: int, unit: str, index: int) -> bytes:
    text = s.decode("utf-8") if unit == "UTF8_CHAR" else s
    size = len(text)
    if pos > size or pos < -size:
        raise errors.op_error("Substr", f"pos {pos} out of range for string {s!r} at index "
                              f"{index}")
    start = pos if pos >= 0 else size + pos
    piece = text[start:start + max(n, 0)]
    return piece.encode("utf-8") if unit == "UTF8_CHAR" else piece


def _substr_kernel(s, pos, n, unit):
    s, pos, n = np.broadcast_arrays(s, pos, n)
    out = np.empty(s.shape, object)
    flat = out.reshape(-1)
    for i, (a, p, k) in enumerate(zip(s.reshape(-1), pos.reshape(-1), n.reshape(-1))):
        flat[i] = _substr_one(a, int(p), int(k), unit, i)
    return out


_SUBSTR = _string_op("Substr", _substr_kernel)


@tf_export("strings.substr")
def substr(input, pos, len, unit="BYTE", name=None):  # noqa: A002
    """The substring of each string starting at `pos` (negative: from the end) of
    length `len` (clipped at the end of the string).

    Raises:
        InvalidArgumentError: `pos` is beyond the string.
    """
    _check_unit(unit)
    return execute(_SUBSTR, (_string_input(input), as_input(pos, dtypes.int32),
                             as_input(len, dtypes.int32)), {"unit": unit})


# -- join, split ---------------------------------------------------------------------

def _join_kernel(*arrays, separator):
    parts = np.broadcast_arrays(*arrays) if arrays else []
    shape = parts[0].shape if parts else ()
    out = np.empty(shape, object)
    flat = out.reshape(-1)
    for i, row in enumerate(zip(*[p.reshape(-1) for p in parts])):
        flat[i] = separator.join(row)
    return out


_JOIN = _string_op("StringJoin", _join_kernel)


@tf_export("strings.join")
def join(inputs, separator="", name=None):
    """Joins the strings of several tensors elementwise (broadcast) with `separator`.

    >>> import tapeflow as tf
    >>> tf.strings.join(['a', tf.constant(['x', 'y'])], separator='-').numpy()
    array([b'a-x', b'a-y'], dtype=object)
    """
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"`inputs` must be a list of string tensors; got {type(inputs).__name__}.")
    tensors = tuple(_string_input(x, "inputs") for x in inputs)
    return execute(_JOIN, tensors, {"separator": _scalar_bytes(separator)})


def _reduce_join_kernel(s, axis, keepdims, separator):
    if axis is None:
        out = np.empty((), object)
        out[()] = separator.join(s.reshape(-1))
        return out.reshape((1,) * s.ndim) if keepdims else out
    axes = tuple(sorted(a % s.ndim for a in axis))
    moved = np.moveaxis(s, axes, tuple(range(s.ndim - len(axes), s.ndim)))
    kept = moved.shape[:s.ndim - len(axes)]
    rows = moved.reshape(kept + (-1,))
    out = np.empty(kept, object)
    flat = out.reshape(-1)
    for i, row in enumerate(rows.reshape(-1, rows.shape[-1])):
        flat[i] = separator.join(row)
    if keepdims:
        out = out.reshape([1 if d in axes else n for d, n in enumerate(s.shape)])
    return out


_REDUCE_JOIN = _string_op("ReduceJoin", _reduce_join_kernel)


@tf_export("strings.reduce_join")
def reduce_join(inputs, axis=None, keepdims=False, separator="", name=None):
    """Joins the strings along `axis` (all axes when None) with `separator`."""
    t = _string_input(inputs, "inputs")
    if axis is not None:
        axis = tuple(int(a) for a in np.atleast_1d(np.asarray(axis)))
        for a in axis:
            if not -t.shape.rank <= a < t.shape.rank:
                raise errors.InvalidArgumentError(
                    None, None, f"Invalid reduction dimension {a} for input with "
                    f"{t.shape.rank} dimensions. [Op:ReduceJoin]")
    return execute(_REDUCE_JOIN, (t,), {"axis": axis, "keepdims": bool(keepdims),
                                        "separator": _scalar_bytes(separator)})


def _split_one(b: bytes, sep, maxsplit):
    if sep is None:
        return b.split(None, maxsplit)
    return b.split(sep, maxsplit)


def _split_kernel(s, sep, maxsplit):
    if s.ndim == 0:
        return to_bytes_array(list(_split_one(s[()], sep, maxsplit)))
    pieces = [_split_one(b, sep, maxsplit) for b in s.reshape(-1)]
    width = max((len(p) for p in pieces), default=0)
    out = np.full((len(pieces), width), b"", dtype=object)
    for i, p in enumerate(pieces):
        out[i, :len(p)] = p
    return out.reshape(s.shape + (width,))


def _extra_axis(dtype):
    # The pieces per string are known only from the data: one more axis of unknown size.
    def shape_fn(inputs, attrs):
        rank = inputs[0].shape.rank
        return [(TensorShape(None if rank is None else inputs[0].shape.as_list() + [None]),
                 dtype)]
    return shape_fn


_SPLIT = _string_op("StringSplitV2", _split_kernel, _extra_axis(dtypes.string))


@tf_export("strings.split")
def split(input, sep=None, maxsplit=-1, name=None):  # noqa: A002
    """Splits each string at `sep` (runs of whitespace when None).

    A scalar gives a 1-D tensor of pieces, as TF. For a tensor of rank >= 1 TF returns a
    `RaggedTensor`; tapeflow returns a dense tensor with one more axis, each row padded
    with `b''` to the longest row (TF's `.to_tensor()` of the ragged result).

    >>> import tapeflow as tf
    >>> tf.strings.split(tf.constant(['a b', 'c'])).numpy()
    array([[b'a', b'b'],
           [b'c', b'']], dtype=object)
    """
    sep = None if sep is None else _scalar_bytes(sep)
    if sep == b"":
        sep = None      # TF: an empty separator splits at whitespace runs
    return execute(_SPLIT, (_string_input(input),), {"sep": sep, "maxsplit": int(maxsplit)})


# -- regular expressions ----------------------------------------------------------------

def _compile(pattern: bytes, op: str):
    try:
        return re.compile(pattern)
    except re.error as e:
        raise errors.op_error(op, f"Invalid pattern: {pattern.decode('utf-8', 'replace')}, "
                              f"error: {e}") from None


def _rewrite(rewrite: bytes) -> bytes:
    # RE2 rewrites say \0 for the whole match; Python's re says \g<0>.
    return re.sub(rb"\\0", rb"\\g<0>", rewrite)


def _regex_replace_kernel(s, pattern, rewrite, replace_global):
    rx = _compile(pattern, "RegexReplace")
    count = 0 if replace_global else 1
    rw = _rewrite(rewrite)
    return _map_bytes(lambda b: rx.sub(rw, b, count=count), s)


def _regex_full_match_kernel(s, pattern):
    rx = _compile(pattern, "RegexFullMatch")
    return _map(lambda b: rx.fullmatch(b) is not None, s, np.bool_)


_REGEX_REPLACE = _string_op("StaticRegexReplace", _regex_replace_kernel,
                            _same_shape(dtypes.string))
_REGEX_FULL_MATCH = _string_op("StaticRegexFullMatch", _regex_full_match_kernel,
                               _same_shape(dtypes.bool))


@tf_export("strings.regex_replace")
def regex_replace(input, pattern, rewrite, replace_global=True, name=None):  # noqa: A002
    """Replaces the matches of `pattern` (RE2 syntax; the common subset Python's `re`
    shares) in each string by `rewrite` (`\\1` for groups).

    >>> import tapeflow as tf
    >>> tf.strings.regex_replace('a1b22', '[0-9]+', '#').numpy()
    b'a#b#'
    """
    return execute(_REGEX_REPLACE, (_string_input(input),),
                   {"pattern": _scalar_bytes(pattern), "rewrite": _scalar_bytes(rewrite),
                    "replace_global": bool(replace_global)})


@tf_export("strings.regex_full_match")
def regex_full_match(input, pattern, name=None):  # noqa: A002
    """Whether each whole string matches `pattern`."""
    return execute(_REGEX_FULL_MATCH, (_string_input(input),),
                   {"pattern": _scalar_bytes(pattern)})


# -- numbers <-> strings ------------------------------------------------------------------

def _to_number_kernel(s, out_type):
    np_type = dtypes.as_dtype(out_type)._np

    def parse(b):
        text = b.decode("utf-8", "replace").strip()
        try:
            if np_type.kind == "f":
                return float(text)
            return int(text)
        except ValueError:
            raise errors.op_error("StringToNumber", "StringToNumberOp could not correctly "
                                  f"convert string: {b.decode('utf-8', 'replace')}") from None
    return _map(parse, s, np_type)


_TO_NUMBER = OpDef("StringToNumber", _to_number_kernel, NO_GRADIENT,
                   shape_fn=lambda inputs, attrs: [(inputs[0].shape,
                                                    dtypes.as_dtype(attrs["out_type"]))])


@tf_export("strings.to_number")
def to_number(input, out_type=dtypes.float32, name=None):  # noqa: A002
    """Parses each string as a number of `out_type` (float32 by default).

    Raises:
        InvalidArgumentError: a string is not a number.
    """
    out_type = dtypes.as_dtype(out_type)
    return execute(_TO_NUMBER, (_string_input(input),), {"out_type": out_type.name})


def _bool_text(v) -> str:
    return "true" if v else "false"


def _as_string_kernel(x, precision, scientific, shortest, width, fill):
    kind = x.dtype.kind
    if kind == "b":
        spec, conv = "", _bool_text
    elif kind in "iu":
        spec, conv = "d", int
    else:
        code = "e" if scientific else ("g" if shortest else "f")
        spec = (f".{precision}" if precision > -1 else "") + code
        conv = float
    pad = ""
    if width > 0:
        pad = f"0{width}" if fill == "0" else f"{fill or ' '}>{width}"
    fmt = "{:" + pad + spec + "}"
    return _map_bytes(lambda v: fmt.format(conv(v)).encode("ascii"), x)


_AS_STRING = _string_op("AsString", _as_string_kernel, _same_shape(dtypes.string))


@tf_export("strings.as_string", "as_string")
def as_string(input, precision=-1, scientific=False, shortest=False, width=-1,  # noqa: A002
              fill="", name=None):
    """Formats each number as a string (floats as '%f': `1.500000`; bools 'true'/'false').

    >>> import tapeflow as tf
    >>> tf.strings.as_string(tf.constant([1.5])).numpy()
    array([b'1.500000'], dtype=object)
    """
    t = as_input(input)
    if t.dtype is dtypes.string:
        raise TypeError("tf.strings.as_string expects a numeric or bool tensor, got a string "
                        "tensor.")
    return execute(_AS_STRING, (t,), {"precision": int(precision), "scientific": scientific,
                                      "shortest": shortest, "width": int(width), "fill": fill})


# -- hashing -----------------------------------------------------------------------------

def _hash_bucket_kernel(s, num_buckets):
    return _map(lambda b: fingerprint64(b) % num_buckets, s, np.int64)


_HASH_BUCKET = _string_op("StringToHashBucketFast", _hash_bucket_kernel,
                          _same_shape(dtypes.int64))


@tf_export("strings.to_hash_bucket_fast")
def to_hash_bucket_fast(input, num_buckets, name=None):  # noqa: A002
    """`Fingerprint64(s) % num_buckets` for each string: FarmHash values, the same
    buckets as TensorFlow.

    >>> import tapeflow as tf
    >>> tf.strings.to_hash_bucket_fast(['a', 'hello world'], 1000000007).numpy()
    array([384735799, 253301321])
    """
    if int(num_buckets) < 1:
        raise ValueError(f"`num_buckets` must be >= 1; got {num_buckets}.")
    return execute(_HASH_BUCKET, (_string_input(input),), {"num_buckets": int(num_buckets)})


# -- format ------------------------------------------------------------------------------

def _scalar_text(v) -> str:
    if isinstance(v, bytes):
        return '"' + v.decode("utf-8", "replace") + '"'
    if isinstance(v, (float, np.floating)):
        return "%g" % v
    return str(int(v))


def _summarize(a: np.ndarray, summarize: int, depth: int = 0) -> str:
    """A tensor as TF's `tf.strings.format` writes it: NumPy-like, at most `summarize`
    entries at each end of every axis (`-1`: all)."""
    if a.ndim == 0:
        return _scalar_text(a[()])
    n = a.shape[0]
    cut = 0 <= summarize and n > 2 * summarize
    idx = list(range(summarize)) + [None] + list(range(n - summarize, n)) if cut else range(n)
    if a.ndim == 1:
        parts = ["..." if i is None else _scalar_text(a[i]) for i in idx]
        return "[" + " ".join(parts) + "]"
    sep = "\n" * (a.ndim - 1) + " " * (depth + 1)
    parts = ["..." if i is None else _summarize(a[i], summarize, depth + 1) for i in idx]
    return "[" + sep.join(parts) + "]"


def _format_kernel(*arrays, template, placeholder, summarize):
    pieces = template.split(placeholder)
    out = [pieces[0]]
    for a, rest in zip(arrays, pieces[1:]):
        out.append(_summarize(np.asarray(a), summarize))
        out.append(rest)
    result = np.empty((), object)
    result[()] = "".join(out).encode("utf-8")
    return result


_FORMAT = OpDef("StringFormat", _format_kernel, NO_GRADIENT,
                shape_fn=lambda inputs, attrs: [(TensorShape([]), dtypes.string)])


@tf_export("strings.format")
def format(template, inputs, placeholder="{}", summarize=3, name=None):  # noqa: A001
    """A scalar string: `template` with each `placeholder` replaced by one input tensor,
    written as TF writes tensors (`[1 2 3]`, strings quoted, long axes summarized).

    >>> import tapeflow as tf
    >>> tf.strings.format('x={} y={}', (tf.constant([1, 2]), tf.constant('ab'))).numpy()
    b'x=[1 2] y="ab"'
    """
    if not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    count = template.count(placeholder)
    if count != len(inputs):
        raise ValueError(f"num placeholders in template and num inputs must match: {count} "
                         f"vs. {len(inputs)}")
    tensors = tuple(as_input(x) for x in inputs)
    return execute(_FORMAT, tensors, {"template": template, "placeholder": placeholder,
                                      "summarize": int(summarize)})


# -- unicode ---------------------------------------------------------------------------------

def _decode_kernel(s, encoding):
    codec = encoding.lower()
    if s.ndim == 0:
        return np.array([ord(c) for c in s[()].decode(codec)], np.int32)
    rows = [[ord(c) for c in b.decode(codec)] for b in s.reshape(-1)]
    width = max((len(r) for r in rows), default=0)
    out = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out.reshape(s.shape + (width,))


_DECODE = _string_op("UnicodeDecode", _decode_kernel, _extra_axis(dtypes.int32))


@tf_export("strings.unicode_decode")
def unicode_decode(input, input_encoding, errors="replace", replacement_char=65533,  # noqa: A002
                   replace_control_characters=False, name=None):
    """The code points of each string.

    A scalar gives a 1-D int32 tensor, as TF. For a tensor of rank >= 1 TF returns a
    `RaggedTensor`; tapeflow returns a dense tensor with one more axis padded with 0.
    Invalid bytes raise an error (TF's `errors='strict'`).
    """
    return execute(_DECODE, (_string_input(input),), {"encoding": input_encoding})


def _encode_kernel(codes, encoding):
    flat = codes.reshape(-1, codes.shape[-1]) if codes.ndim else codes.reshape(1, 1)
    out = np.empty(len(flat), object)
    for i, row in enumerate(flat):
        out[i] = "".join(chr(int(c)) for c in row).encode(encoding.lower())
    return out.reshape(codes.shape[:-1]) if codes.ndim else out.reshape(())


_ENCODE = OpDef("UnicodeEncode", _encode_kernel, NO_GRADIENT, shape_fn=lambda inputs, attrs: [
    (TensorShape(None if inputs[0].shape.rank is None else inputs[0].shape.as_list()[:-1]),
     dtypes.string)])


@tf_export("strings.unicode_encode")
def unicode_encode(input, output_encoding, errors="replace", replacement_char=65533,  # noqa: A002
                   name=None):
    """Encodes each innermost row of int32 code points as one string."""
    t = as_input(input, dtypes.int32)
    if t.shape.rank == 0:
        raise ValueError("tf.strings.unicode_encode expects code points of rank >= 1.")
    return execute(_ENCODE, (t,), {"encoding": output_encoding})
