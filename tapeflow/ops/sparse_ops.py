"""`tf.sparse.SparseTensor` (also `tf.SparseTensor`) and the conversions to and from dense.

A SparseTensor is three dense tensors, as in TensorFlow: `indices` (int64, one row
per stored value), `values` and `dense_shape` (int64). tapeflow stores them and
converts; the dense form is built from differentiable ops, so gradients reach
`values` through `tf.sparse.to_dense` and the dense input of `tf.sparse.from_dense`.

    >>> import tapeflow as tf
    >>> st = tf.sparse.SparseTensor(indices=[[0, 1], [2, 0]], values=[5, 7],
    ...                             dense_shape=[3, 2])
    >>> tf.sparse.to_dense(st).numpy()
    array([[0, 5],
           [0, 0],
           [7, 0]], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import as_input
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import array_ops, indexing_ops, manip_ops, math_ops


def _compatible(a, b):
    if a is not None and b is not None and a != b:
        raise ValueError(f"Dimensions {a} and {b} are not compatible")


class SparseTensor:
    """A tensor stored as the positions and values of its non-default entries.

    Args:
        indices: int64 (or int32) matrix `[N, rank]`, the position of each stored value.
        values: vector `[N]` of the stored values.
        dense_shape: int64 vector `[rank]`, the shape of the dense tensor.
    """

    def __init__(self, indices, values, dense_shape):
        self._indices = math_ops.cast(as_input(indices, dtypes.int64), dtypes.int64)
        self._values = as_input(values)
        self._dense_shape = math_ops.cast(as_input(dense_shape, dtypes.int64), dtypes.int64)
        if self._indices.shape.rank != 2:
            raise ValueError(f"indices must be a matrix [N, rank]; received shape "
                             f"{self._indices.shape}")
        if self._values.shape.rank != 1:
            raise ValueError(f"values must be a vector [N]; received shape {self._values.shape}")
        if self._dense_shape.shape.rank != 1:
            raise ValueError(f"dense_shape must be a vector [rank]; received shape "
                             f"{self._dense_shape.shape}")
        _compatible(self._indices.shape[0], self._values.shape[0])
        _compatible(self._indices.shape[1], self._dense_shape.shape[0])

    indices = property(lambda self: self._indices, doc="int64 `[N, rank]` positions.")
    values = property(lambda self: self._values, doc="The `[N]` stored values.")
    dense_shape = property(lambda self: self._dense_shape, doc="int64 `[rank]` dense shape.")
    dtype = property(lambda self: self._values.dtype, doc="The dtype of the values.")

    @property
    def shape(self) -> TensorShape:
        """The dense shape as a `TensorShape`."""
        return TensorShape([int(d) for d in np.asarray(self._dense_shape._value)])

    def get_shape(self) -> TensorShape:
        return self.shape

    def __str__(self) -> str:
        return (f"SparseTensor(indices={self._indices}, values={self._values}, "
                f"dense_shape={self._dense_shape})")

    __repr__ = __str__


def _check_order(indices, shape):
    """TF's checks of a SparseTensor's positions before densifying: in range, sorted in
    row-major order, no repeats."""
    for i, row in enumerate(indices):
        where = f"indices[{i}] = [{','.join(str(int(v)) for v in row)}]"
        if np.any(row < 0) or np.any(row >= shape):
            raise errors.op_error("SparseToDense", f"{where} is out of bounds: need 0 <= "
                                  f"index < [{','.join(str(int(d)) for d in shape)}]")
        if i and tuple(row) <= tuple(indices[i - 1]):
            what = "is repeated" if tuple(row) == tuple(indices[i - 1]) else "is out of order"
            raise errors.op_error("SparseToDense", f"{where} {what}. Many sparse ops require "
                                  f"sorted indices.")


@tf_export("sparse.to_dense")
def to_dense(sp_input, default_value=None, validate_indices=True, name=None):
    """The dense tensor of `sp_input`: its values at its indices, `default_value` (0)
    elsewhere. With `validate_indices`, unsorted or repeated indices are TF's error."""
    if not isinstance(sp_input, SparseTensor):
        raise TypeError(f"Input must be a SparseTensor; received {type(sp_input).__name__}.")
    shape = np.asarray(sp_input.dense_shape._value, np.int64)
    idx = np.asarray(sp_input.indices._value, np.int64)
    if validate_indices:
        _check_order(idx, shape)
    default = 0 if default_value is None else default_value
    base = array_ops.fill([int(d) for d in shape], as_input(default, sp_input.dtype))
    if idx.shape[0] == 0:
        return base
    return manip_ops.tensor_scatter_nd_update(base, sp_input.indices, sp_input.values)


@tf_export("sparse.from_dense")
def from_dense(tensor, name=None):
    """The SparseTensor of the non-zero entries of `tensor`, in row-major order."""
    t = as_input(tensor)
    nz = np.argwhere(np.asarray(t._value) != 0).astype(np.int64)
    indices = Tensor(nz.reshape(-1, t.shape.rank))
    values = indexing_ops.gather_nd(t, indices)
    return SparseTensor(indices, values, Tensor(np.asarray(t.shape.as_list(), np.int64)))
