"""`TensorSpec`: the shape, dtype and optional name that describe a tensor.

Used by `tf.data` (`Dataset.element_spec`, `from_generator`'s
`output_signature`) and by `tf.function`'s `input_signature`. A dimension may
be `None` (any size) and the shape itself may be unknown (`shape=None`).

    >>> import tapeflow as tf
    >>> spec = tf.TensorSpec(shape=(28, 28), dtype=tf.uint8)
    >>> spec
    TensorSpec(shape=(28, 28), dtype=tf.uint8, name=None)
    >>> spec.is_compatible_with(tf.zeros([28, 28], dtype=tf.uint8))
    True
    >>> tf.TensorSpec([None, 10]).is_compatible_with(tf.zeros([32, 10]))
    True
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.tensor_shape import TensorShape, as_shape


class TensorSpec:
    """Describes a tensor: `shape` (a `TensorShape`), `dtype` and `name`.

    Args:
        shape: a `TensorShape`, a list/tuple of ints or None (unknown dims), or
            None for a shape of unknown rank.
        dtype: anything `tf.as_dtype` accepts; default `tf.float32`.
        name: an optional name (kept for `tf.function` argument names).

    Example:
        >>> import tapeflow as tf
        >>> s = tf.TensorSpec([None], tf.int64, name='ids')
        >>> s.shape, s.dtype, s.name
        (TensorShape([None]), tf.int64, 'ids')
        >>> s.is_compatible_with(tf.TensorSpec([5], tf.int64))
        True
        >>> s.is_compatible_with(tf.constant([1, 2]))   # int32, not int64
        False
    """

    __slots__ = ("_dtype", "_name", "_shape")

    def __init__(self, shape, dtype=dtypes.float32, name=None):
        self._shape = as_shape(shape)
        self._dtype = dtypes.as_dtype(dtype)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"TensorSpec: expected `name` to be a str or None, got "
                            f"{type(name).__name__} {name!r}.")
        self._name = name

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def dtype(self) -> dtypes.DType:
        return self._dtype

    @property
    def name(self):
        return self._name

    @classmethod
    def from_tensor(cls, tensor, name=None) -> TensorSpec:
        """The spec of a tensor (or NumPy array): its exact shape and dtype."""
        if isinstance(tensor, np.ndarray | np.generic):
            return cls(tensor.shape, dtypes.from_numpy(tensor.dtype), name)
        return cls(tensor.shape, tensor.dtype, name)

    @classmethod
    def from_spec(cls, spec, name=None) -> TensorSpec:
        return cls(spec.shape, spec.dtype, name if name is not None else spec.name)

    def is_compatible_with(self, spec_or_tensor) -> bool:
        """True when `spec_or_tensor` (a tensor, array or spec) fits this spec:
        same dtype and a shape compatible with this one (None dims match any size)."""
        other = spec_or_tensor
        if isinstance(other, np.ndarray | np.generic):
            shape, dtype = other.shape, dtypes.from_numpy(other.dtype)
        else:
            shape, dtype = getattr(other, "shape", None), getattr(other, "dtype", None)
            if dtype is None:
                return False
        try:
            dtype = dtypes.as_dtype(dtype)
        except TypeError:
            return False
        return dtype is self._dtype and self._shape.is_compatible_with(shape)

    def most_specific_compatible_type(self, other) -> TensorSpec:
        """A spec both fit: dims that differ become None (dtypes must agree)."""
        if dtypes.as_dtype(other.dtype) is not self._dtype:
            raise ValueError(f"TensorSpec: no common type for {self!r} and {other!r}: the "
                             "dtypes differ.")
        return TensorSpec(self._shape.most_specific_compatible_shape(other.shape), self._dtype)

    def __eq__(self, other) -> bool:
        return (type(other) is type(self) and self._shape == other._shape
                and self._dtype is other._dtype and self._name == other._name)

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((self._shape, self._dtype, self._name))

    def __repr__(self) -> str:
        name = "None" if self._name is None else repr(self._name)
        return f"TensorSpec(shape={self._shape}, dtype={self._dtype!r}, name={name})"

    def __reduce__(self):
        return TensorSpec, (self._shape, self._dtype, self._name)
