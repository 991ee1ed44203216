"""`tf.RaggedTensor` and `tf.ragged.constant`: rows of different lengths.

As in TensorFlow, a ragged tensor is its `flat_values` (a dense tensor) and one
int64 `row_splits` vector per ragged axis: row `i` of the outer axis holds
`values[row_splits[i]:row_splits[i + 1]]`. tapeflow keeps ragged tensors for
building, inspecting, indexing rows and converting to dense (`to_tensor`, with
gradients through the dense ops); ops on ragged tensors are not implemented.

    >>> import tapeflow as tf
    >>> rt = tf.ragged.constant([[1, 2, 3], [], [4]])
    >>> rt
    <tf.RaggedTensor [[1, 2, 3], [], [4]]>
    >>> rt.shape
    TensorShape([3, None])
    >>> rt.to_tensor().numpy()
    array([[1, 2, 3],
           [0, 0, 0],
           [4, 0, 0]], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import as_input
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import array_ops, math_ops


class RaggedTensor:
    """A tensor whose rows (along one or more axes) may have different lengths.

    Build one with `tf.ragged.constant` or `RaggedTensor.from_row_splits`.
    """

    def __init__(self, values, row_splits):
        self._values = values
        self._row_splits = row_splits

    @classmethod
    def from_row_splits(cls, values, row_splits, validate=True):
        """The ragged tensor whose row `i` is `values[row_splits[i]:row_splits[i + 1]]`."""
        if not isinstance(values, RaggedTensor):
            values = as_input(values)
        splits = np.asarray(as_input(row_splits)._value, np.int64)
        n = values.nrows_int() if isinstance(values, RaggedTensor) else values.shape[0]
        if validate and (splits.ndim != 1 or splits.size == 0 or splits[0] != 0
                         or np.any(np.diff(splits) < 0) or splits[-1] != n):
            raise ValueError(f"row_splits must be a non-decreasing vector starting at 0 and "
                             f"ending at the number of values ({n}); received "
                             f"{splits.tolist()}")
        return cls(values, Tensor(splits))

    values = property(lambda self: self._values, doc="The rows' contents, concatenated.")
    row_splits = property(lambda self: self._row_splits, doc="int64 row boundaries.")

    @property
    def flat_values(self):
        """The innermost dense values."""
        v = self._values
        return v.flat_values if isinstance(v, RaggedTensor) else v

    @property
    def ragged_rank(self) -> int:
        v = self._values
        return 1 + (v.ragged_rank if isinstance(v, RaggedTensor) else 0)

    dtype = property(lambda self: self.flat_values.dtype, doc="The dtype of the values.")

    @property
    def shape(self) -> TensorShape:
        """`(nrows, None, ...)`: ragged axes have no fixed length."""
        inner = self.flat_values.shape.as_list()[1:]
        return TensorShape([self.nrows_int()] + [None] * self.ragged_rank + inner)

    def nrows_int(self) -> int:
        return int(self._row_splits.shape[0]) - 1

    def nrows(self, out_type=dtypes.int64):
        return math_ops.cast(as_input(self.nrows_int()), out_type)

    def row_lengths(self):
        s = np.asarray(self._row_splits._value)
        return Tensor(np.diff(s).astype(np.int64))

    def to_list(self) -> list:
        """The rows as nested Python lists."""
        inner = (self._values.to_list() if isinstance(self._values, RaggedTensor)
                 else np.asarray(self._values._value).tolist())
        s = np.asarray(self._row_splits._value)
        return [inner[s[i]:s[i + 1]] for i in range(len(s) - 1)]

    def __getitem__(self, key):
        s = np.asarray(self._row_splits._value)
        if isinstance(key, slice):
            rows = range(*key.indices(len(s) - 1))
            if rows.step != 1:
                raise NotImplementedError("tapeflow slices ragged rows with step 1 only")
            lo, hi = (s[rows.start], s[rows.stop]) if len(rows) else (0, 0)
            vals = self._values[int(lo):int(hi)]
            return RaggedTensor(vals, Tensor((s[rows.start:rows.stop + 1] - lo)
                                             .astype(np.int64)))
        i = int(key)
        n = len(s) - 1
        if not -n <= i < n:
            raise IndexError(f"row index {i} out of range for a ragged tensor of {n} rows")
        i %= n
        return self._values[int(s[i]):int(s[i + 1])]

    def to_tensor(self, default_value=None):
        """The dense tensor, each row padded with `default_value` (0) to the longest."""
        rows = [r.to_tensor(default_value) if isinstance(r, RaggedTensor) else r
                for r in (self[i] for i in range(self.nrows_int()))]
        shape = [self.nrows_int()] + [max([r.shape[d] for r in rows], default=0)
                                      for d in range(len(self.shape) - 1)]
        fill = 0 if default_value is None else default_value
        padded = []
        for r in rows:
            pads = [[0, shape[d + 1] - r.shape[d]] for d in range(len(shape) - 1)]
            padded.append(array_ops.pad(r, pads, constant_values=fill))
        if not padded:
            return array_ops.zeros(shape, self.dtype)
        return array_ops.stack(padded)

    def numpy(self):
        """The rows as a NumPy array: one object array of rows when their lengths differ,
        a plain array with one more axis when they are all the same length."""
        inner = self._values.numpy()
        s = np.asarray(self._row_splits._value)
        rows = [inner[s[i]:s[i + 1]] for i in range(len(s) - 1)]
        if not rows:
            return np.zeros((0, 0) + inner.shape[1:], inner.dtype)
        if any(len(r) != len(rows[0]) for r in rows):
            out = np.empty(len(rows), object)
            out[:] = rows
            return out
        return np.array(rows)

    def __str__(self) -> str:
        # NumPy's text of numpy() with comma separators, as TF prints eager ragged tensors.
        with np.printoptions(formatter={"all": _comma_text}):
            return f"<tf.RaggedTensor {_comma_text(self.numpy())}>"

    __repr__ = __str__


def _comma_text(x):
    if isinstance(x, np.ndarray):
        # An empty array prints as [] whatever its shape; its list keeps the empty rows.
        return np.array2string(x, separator=", ") if x.size else repr(x.tolist())
    return str(x)


def _depth(x):
    """The nesting depth of the scalars of `x` (None for an empty list, which fits any
    depth); TF's error when the scalars sit at different depths."""
    if not isinstance(x, (list, tuple)):
        return 0
    known = {d for d in map(_depth, x) if d is not None}
    if len(known) > 1:
        raise ValueError("all scalar values must have the same nesting depth")
    if known:
        return 1 + known.pop()
    return 2 if x else None     # a list of empty lists, or an empty list


def _splits(x, depth):
    """(flat scalars, one row_splits list per ragged axis, outermost first)."""
    rows, splits = list(x), []
    for _ in range(depth - 1):
        s, nxt = [0], []
        for r in rows:
            s.append(s[-1] + len(r))
            nxt.extend(r)
        splits.append(s)
        rows = nxt
    return rows, splits


@tf_export("ragged.constant")
def constant(pylist, dtype=None, ragged_rank=None, inner_shape=None, name=None,
             row_splits_dtype=dtypes.int64):
    """A RaggedTensor from nested Python lists whose innermost rows may differ in length."""
    if ragged_rank is not None or inner_shape is not None:
        raise NotImplementedError("tapeflow's ragged.constant makes every nested axis ragged "
                                  "(ragged_rank and inner_shape are not supported)")
    depth = _depth(pylist)
    depth = 1 if depth is None else depth
    if depth < 1:
        raise ValueError("ragged.constant expects a nested list with at least one axis")
    flat, splits = _splits(pylist, depth)
    values = as_input(flat, dtype) if flat else array_ops.zeros(
        [0], dtypes.as_dtype(dtype or dtypes.float32))
    if depth == 1:      # no nested axis: TF returns a dense tensor
        return values
    for s in reversed(splits):
        values = RaggedTensor(values, Tensor(np.asarray(s, np.int64)))
    return values
