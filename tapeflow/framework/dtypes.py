"""TensorFlow-style dtypes over NumPy dtypes.

A `DType` is a thin, interned wrapper around a NumPy dtype that prints as
TF does (`tf.float32`) and answers the questions the op library asks
(`is_floating`, `is_integer`, ...).

    >>> import tapeflow as tf
    >>> tf.float32
    tf.float32
    >>> tf.as_dtype('int64').is_integer
    True
"""
from __future__ import annotations

import builtins as _builtins

import numpy as np

_pybool = _builtins.bool  # `bool` below is TF's dtype, as in `tf.bool`


class DType:
    """A tensor element type: `tf.float32`, `tf.int32`, `tf.bool`, ..."""

    __slots__ = ("name", "as_numpy_dtype", "_np")

    def __init__(self, name: str, np_dtype):
        self.name = name
        self._np = np.dtype(np_dtype)
        self.as_numpy_dtype = self._np.type

    @property
    def is_floating(self) -> bool:
        return self._np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._np.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._np.kind == "u"

    @property
    def is_bool(self) -> bool:
        return self._np.kind == "b"

    @property
    def is_complex(self) -> bool:
        return self._np.kind == "c"

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def is_string(self) -> bool:
        return self._np.kind == "O"

    @property
    def size(self) -> int:
        return 0 if self._np.kind == "O" else self._np.itemsize

    @property
    def min(self):
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self):
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    def is_compatible_with(self, other) -> bool:
        return self is as_dtype(other)

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.name}'>"

    def __eq__(self, other) -> bool:
        if other is self:
            return True
        try:
            return as_dtype(other) is self
        except TypeError:
            return False

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self):
        return as_dtype, (self.name,)


float16 = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
uint16 = DType("uint16", np.uint16)
uint32 = DType("uint32", np.uint32)
uint64 = DType("uint64", np.uint64)
bool = DType("bool", np.bool_)  # noqa: A001 - TF's public name
complex64 = DType("complex64", np.complex64)
complex128 = DType("complex128", np.complex128)
# Strings are NumPy object arrays holding Python `bytes` (str is stored as its UTF-8).
string = DType("string", object)
string.as_numpy_dtype = object     # TF's `tf.string.as_numpy_dtype` is `object`
half = float16
double = float64

_ALL = [float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32,
        uint64, bool, complex64, complex128, string]
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"half": float16, "double": float64, "float": float32})
# NumPy dtype -> DType; looked up on every `.dtype` access, so keyed by np.dtype.
_BY_NP = {d._np: d for d in _ALL}


# TF's DataType enum (types.proto) for the dtypes tapeflow has: the one table that the
# checkpoint, SavedModel and `as_dtype(1)` conversions read.
_BY_ENUM = {1: float32, 2: float64, 3: int32, 4: uint8, 5: int16, 6: int8, 7: string,
            8: complex64, 9: int64, 10: bool, 17: uint16, 18: complex128, 19: float16,
            22: uint32, 23: uint64}
_ENUM_BY_NP = {d._np: n for n, d in _BY_ENUM.items() if d is not string}


def from_enum(number: int):
    """The DType of TF's DataType number `number`, or None when tapeflow has none."""
    return _BY_ENUM.get(number)


def enum_of_numpy(np_dtype):
    """TF's DataType number of a NumPy dtype (strings: DT_STRING), or None."""
    np_dtype = np.dtype(np_dtype)
    return 7 if np_dtype.kind in "USO" else _ENUM_BY_NP.get(np_dtype)


def as_dtype(value) -> DType:
    """Converts a DType, NumPy dtype, Python type or name to a `DType`.

    Raises:
        TypeError: if `value` names no supported dtype.
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        d = _BY_NAME.get(value)
        if d is not None:
            return d
    elif value is float:
        return float32
    elif value is int:
        return int32
    elif value is _pybool:
        return bool
    elif isinstance(value, int) and not isinstance(value, _pybool):
        # TF's DataType enum numbers (`tf.zeros(2, 1)` passes 1, DT_FLOAT, as the dtype).
        d = _BY_ENUM.get(value)
        if d is not None:
            return d
    try:
        np_dtype = np.dtype(value)
        d = _BY_NP.get(np_dtype)
        if d is None and np_dtype.kind in "SU" and value is not str:
            d = string              # np.bytes_ / np.str_, as TF's as_dtype
    except TypeError:
        d = None
    if d is None:
        raise TypeError(f"Cannot convert {value!r} to a tapeflow DType; expected one of "
                        f"{sorted(n for n in _BY_NAME)}.")
    return d


def from_numpy(np_dtype) -> DType:
    """The DType of a NumPy dtype (fast path for tensors)."""
    d = _BY_NP.get(np_dtype)
    if d is None:
        return as_dtype(np_dtype)
    return d
