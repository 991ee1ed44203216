"""`SparseTensorSpec`: the shape and dtype that describe a `SparseTensor`.

A dataset element that is a SparseTensor has this spec in `element_spec`.

    >>> import tapeflow as tf
    >>> st = tf.SparseTensor(indices=[[0, 1]], values=[7], dense_shape=[2, 3])
    >>> tf.SparseTensorSpec.from_value(st)
    SparseTensorSpec(TensorShape([2, 3]), tf.int32)
"""
from __future__ import annotations

from tapeflow.framework import dtypes
from tapeflow.framework.tensor_shape import TensorShape, as_shape


class SparseTensorSpec:
    """Describes a SparseTensor: its dense `shape` (dims may be None) and `dtype`.

    Args:
        shape: the dense shape (a `TensorShape`, a list of ints or None, or None).
        dtype: the dtype of the stored values; default `tf.float32`.
    """

    __slots__ = ("_shape", "_dtype")

    def __init__(self, shape=None, dtype=dtypes.float32):
        self._shape = as_shape(shape)
        self._dtype = dtypes.as_dtype(dtype)

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def dtype(self) -> dtypes.DType:
        return self._dtype

    @property
    def value_type(self):
        """The Python type of the values this spec describes (`tf.sparse.SparseTensor`)."""
        from tapeflow.ops.sparse_ops import SparseTensor
        return SparseTensor

    @classmethod
    def from_value(cls, value) -> SparseTensorSpec:
        """The spec of a SparseTensor: its dense shape and its values' dtype."""
        return cls(value.shape, value.dtype)

    def is_compatible_with(self, spec_or_value) -> bool:
        """Same dtype and a compatible dense shape (a spec or a SparseTensor)."""
        other = spec_or_value
        if not isinstance(other, SparseTensorSpec):
            if not isinstance(other, self.value_type):
                return False
            other = SparseTensorSpec.from_value(other)
        return other.dtype == self._dtype and self._shape.is_compatible_with(other.shape)

    def __eq__(self, other) -> bool:
        return isinstance(other, SparseTensorSpec) and other.dtype == self._dtype and (
            other.shape.as_list() if other.shape.rank is not None else None) == (
            self._shape.as_list() if self._shape.rank is not None else None)

    def __hash__(self) -> int:
        return hash((repr(self._shape), self._dtype.name))

    def __repr__(self) -> str:
        return f"SparseTensorSpec({self._shape!r}, {self._dtype!r})"
