"""`tf.TensorArray`: a list of same-dtype tensors that also works inside traced loops.

Two representations, one behaviour:

- a Python list of tensors, eagerly (writes change the array in place, as
  TF's eager TensorArray does) and in traced code outside tensor loops (each
  write returns a new array); gradients flow through the tensors themselves.
- one stacked buffer tensor `[size, *element_shape]`, once an index is
  symbolic or the array crosses a `tf.cond`/`tf.while_loop` (AutoGraph carries
  it as that tensor). A write is a `tensor_scatter_nd_update` (after `Grow` for
  `dynamic_size` arrays), a read a `gather`: all differentiable.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def squares(n):
    ...     ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    ...     for i in tf.range(n):
    ...         ta = ta.write(i, tf.cast(i * i, tf.float32))
    ...     return ta.stack()
    >>> squares(tf.constant(4)).numpy()
    array([0., 1., 4., 9.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.context import state
from tapeflow.framework.op import OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape

# -- buffer growth: Grow and TakeRows are each other's gradient -------------------------------

def _grow_kernel(x, rows):
    extra = int(rows) - x.shape[0]
    if extra <= 0:
        return x
    return np.concatenate([x, np.zeros((extra,) + x.shape[1:], x.dtype)])


def _take_rows_kernel(x, like):
    return x[:np.shape(like)[0]]


_GROW = OpDef("TensorArrayGrow", _grow_kernel,
              lambda inputs, outputs, attrs, dy: (execute(_TAKE_ROWS, (dy, inputs[0])), None),
              shape_fn=lambda i, a: [(TensorShape([None]).concatenate(i[0].shape[1:]),
                                      i[0].dtype)])
_TAKE_ROWS = OpDef("TensorArrayTakeRows", _take_rows_kernel,
                   lambda inputs, outputs, attrs, dy: (
                       execute(_GROW, (dy, _rows(inputs[0]))), None),
                   shape_fn=lambda i, a: [(i[1].shape[:1].concatenate(i[0].shape[1:]),
                                           i[0].dtype)])


# -- a buffer whose element shape is known only at run time -----------------------------------
# Before the first write, such a buffer holds no data: its unknown element dims are 0.
# `TensorArrayFit(buf, value)` gives it the written value's shape (zeros); `TensorArrayMatch`
# (x, like) is x where the shapes agree, else zeros shaped like `like`: the gradient of both.

def _fit_kernel(buf, value):
    if buf.shape[1:] == value.shape:
        return buf
    if buf.size == 0 and buf.ndim == value.ndim + 1:
        return np.zeros(buf.shape[:1] + value.shape, buf.dtype)
    raise errors.op_error(
        "TensorArrayWrite", f"Could not write to TensorArray: the value shape is "
        f"{list(value.shape)} but the elements written before have shape {list(buf.shape[1:])}")


def _match_kernel(x, like):
    return x if x.shape == np.shape(like) else np.zeros(np.shape(like), x.dtype)


_FIT = OpDef("TensorArrayFit", _fit_kernel,
             lambda inputs, outputs, attrs, dy: (execute(_MATCH, (dy, inputs[0])), None),
             shape_fn=lambda i, a: [(i[0].shape[:1].concatenate(i[1].shape)
                                     if i[0].shape.rank is not None else TensorShape(None),
                                     i[0].dtype)], grad_uses_outputs=False)
_MATCH = OpDef("TensorArrayMatch", _match_kernel,
               lambda inputs, outputs, attrs, dy: (execute(_MATCH, (dy, inputs[0])), None),
               shape_fn=lambda i, a: [(i[1].shape, i[0].dtype)], grad_uses_outputs=False)


def _rows(x):
    from tapeflow.ops import array_ops
    if x.shape.rank and x.shape[0] is not None:
        return convert_to_tensor(x.shape[0])
    return array_ops.shape(x)[0]


def _is_symbolic(x) -> bool:
    return getattr(x, "_is_symbolic", False)


class TensorArray:
    """`tf.TensorArray(dtype, size, dynamic_size, element_shape, ...)`.

    Args:
        dtype: the elements' dtype.
        size: the initial number of elements (may be 0 with `dynamic_size`).
        dynamic_size: whether writes past the end grow the array.
        clear_after_read, tensor_array_name, handle, flow, colocate_with_first_write_call,
            name: accepted for compatibility.
        infer_shape: all elements must have the same shape (always true here).
        element_shape: the elements' shape, if known ahead.
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None,
                 tensor_array_name=None, handle=None, flow=None, infer_shape=True,
                 element_shape=None, colocate_with_first_write_call=True, name=None):
        self._dtype = dtypes.as_dtype(dtype)
        self._dynamic = bool(dynamic_size)
        self._element_shape = TensorShape(element_shape) if element_shape is not None \
            else TensorShape(None)
        self._buffer = None
        # TF's eager arrays forget an element once read (unless clear_after_read=False).
        self._clear = clear_after_read is None or bool(clear_after_read)
        self._cleared = set()
        self._size = None
        if size is None:
            size = 0
        if _is_symbolic(size):
            # Known at run time only: the buffer is made once the element shape is known
            # (given, or from the first write; AutoGraph finds it with a trial trace).
            self._items, self._size = None, size
            if self._element_shape.is_fully_defined():
                self._buffer = self._zeros(size)
        else:
            n = int(size._value) if isinstance(size, Tensor) else int(size)
            if n < 0:
                raise errors.InvalidArgumentError(f"TensorArray size must be >= 0; got {n}.")
            self._items = [None] * n

    # -- properties ---------------------------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype

    @property
    def element_shape(self):
        return self._element_shape

    @property
    def dynamic_size(self):
        return self._dynamic

    def _zeros(self, size):
        from tapeflow.ops import array_ops
        if self._element_shape.rank is None:
            raise errors.InvalidArgumentError(
                "TensorArray has no element shape yet: write to it (or give element_shape) "
                "before stacking or reading it.")
        # Unknown element dims stay 0 until a write brings the shape (see TensorArrayFit).
        dims = [0 if d is None else d for d in self._element_shape.as_list()]
        if not _is_symbolic(size):
            return array_ops.zeros([int(size)] + dims, self._dtype)
        from tapeflow.ops import math_ops
        rows = math_ops.cast(array_ops.reshape(as_input(size), [1]), dtypes.int32)
        shape = array_ops.concat(
            [rows, convert_to_tensor(np.array(dims, np.int32))], 0)
        return array_ops.fill(shape, convert_to_tensor(np.zeros((), self._dtype._np)))

    def _new(self, items=None, buffer=None, element_shape=None):
        ta = TensorArray.__new__(TensorArray)
        ta._dtype, ta._dynamic = self._dtype, self._dynamic
        ta._element_shape = element_shape if element_shape is not None else self._element_shape
        ta._items, ta._buffer, ta._size = items, buffer, self._size
        ta._clear, ta._cleared = self._clear, set()
        return ta

    def _check_value(self, value):
        v = as_input(value, self._dtype)
        if getattr(v, "_is_variable", False):
            v = v.read_value()
        if v.dtype is not self._dtype:
            raise errors.InvalidArgumentError(
                f"TensorArray dtype is {self._dtype.name} but the value written has dtype "
                f"{v.dtype.name}.")
        if not self._element_shape.is_compatible_with(v.shape):
            raise errors.InvalidArgumentError(
                f"Could not write to TensorArray: its element shape is {self._element_shape} "
                f"but the value written has shape {v.shape}.")
        return v

    def _merged_shape(self, shape):
        if self._element_shape.rank is None:
            return shape
        return self._element_shape.merge_with(shape)

    # -- to and from the buffer form ----------------------------------------------------------
    def _as_buffer(self):
        """The stacked `[size, *element_shape]` tensor (zeros where nothing was written)."""
        from tapeflow.ops import array_ops
        if self._buffer is not None:
            return self._buffer
        items = self._items
        if items is None:
            return self._zeros(self._size)
        if not items or all(x is None for x in items):
            return self._zeros(len(items))
        like = next(x for x in items if x is not None)
        rows = [x if x is not None else array_ops.zeros_like(like) for x in items]
        return array_ops.stack(rows)

    def _buffered(self):
        return self._new(buffer=self._as_buffer())

    def _ag_flatten(self):
        return [self._as_buffer()]

    def _ag_pack(self, tensors):
        return self._new(buffer=tensors[0])

    def _ag_invariants(self):
        buf = self._as_buffer()
        rest = self._element_shape if self._element_shape.rank is not None else buf.shape[1:]
        return [(TensorShape([None]) if self._dynamic else buf.shape[:1]).concatenate(rest)]

    def _ag_needs_shape(self):
        return self._buffer is None and self._element_shape.rank is None and \
            (self._items is None or all(x is None for x in self._items))

    def _ag_for_tensor(self):
        return self.stack()

    # -- element access -----------------------------------------------------------------------
    def _index(self, index):
        if _is_symbolic(index) or self._items is None or self._buffer is not None:
            return None
        i = int(index._value) if isinstance(index, Tensor) else int(index)
        return i

    def write(self, index, value, name=None):
        """Sets element `index` to `value`; returns the array to use from now on."""
        v = self._check_value(value)
        shape = self._merged_shape(v.shape)
        i = self._index(index)
        if i is None:
            return self._write_buffer(index, v, shape)
        items = self._items
        if i < 0 or (i >= len(items) and not self._dynamic):
            raise errors.InvalidArgumentError(
                f"Tried to write to index {i} but array is not resizeable and size is "
                f"{len(items)}")
        if state.graph is None:           # eager: in place, as TF's eager TensorArray
            items.extend([None] * (i + 1 - len(items)))
            items[i] = v
            self._cleared.discard(i)
            self._element_shape = shape
            return self
        items = list(items) + [None] * max(0, i + 1 - len(items))
        items[i] = v
        return self._new(items=items, element_shape=shape)

    def _write_buffer(self, index, v, shape):
        from tapeflow.ops import array_ops, manip_ops
        buf = self._new(element_shape=shape, items=self._items, buffer=self._buffer)._as_buffer()
        i = as_input(index)
        if not buf.shape[1:].is_fully_defined() or buf.shape[1:] != v.shape:
            buf = execute(_FIT, (buf, v))
        if self._dynamic:
            buf = execute(_GROW, (buf, i + 1))
        buf = manip_ops.tensor_scatter_nd_update(buf, array_ops.reshape(i, [1, 1]),
                                                 array_ops.expand_dims(v, 0))
        return self._new(buffer=buf, element_shape=shape)

    def read(self, index, name=None):
        """Element `index`."""
        i = self._index(index)
        if i is None:
            from tapeflow.ops import indexing_ops
            return indexing_ops.gather(self._as_buffer(), as_input(index))
        if not 0 <= i < len(self._items):
            raise errors.InvalidArgumentError(
                f"Tried to read from index {i} but array size is: {len(self._items)}")
        x = self._items[i]
        if i in self._cleared:
            raise errors.InvalidArgumentError(
                f"Could not read index {i} twice because it was cleared after a previous read "
                "(perhaps try setting clear_after_read = false?)")
        if self._clear and state.graph is None and x is not None:
            self._items[i] = None
            self._cleared.add(i)
        if x is None:
            from tapeflow.ops import array_ops
            if not self._element_shape.is_fully_defined():
                raise errors.InvalidArgumentError(
                    f"Could not read from TensorArray index {i}: it was never written and "
                    "the element shape is not fully known.")
            return array_ops.zeros(self._element_shape.as_list(), self._dtype)
        return x

    def stack(self, name=None):
        """All elements stacked along a new first axis."""
        return self._as_buffer()

    def gather(self, indices, name=None):
        """The elements at `indices`, stacked."""
        from tapeflow.ops import indexing_ops
        return indexing_ops.gather(self._as_buffer(), as_input(indices))

    def concat(self, name=None):
        """The elements joined along their first axis."""
        from tapeflow.ops import array_ops
        buf = self._as_buffer()
        rest = buf.shape[2:].as_list() if buf.shape.rank is not None else None
        if rest is None or any(d is None for d in rest):
            raise errors.InvalidArgumentError(
                "TensorArray.concat needs elements of known shape beyond their first axis; "
                f"got {self._element_shape}.")
        return array_ops.reshape(buf, [-1] + rest)

    def unstack(self, value, name=None):
        """An array whose elements are the rows of `value`."""
        from tapeflow.ops import array_ops
        v = self._check_value_rows(value)
        shape = self._merged_shape(v.shape[1:])
        if not _is_symbolic(v) and v.shape[0] is not None and self._buffer is None:
            rows = array_ops.unstack(v) if v.shape[0] else []
            if state.graph is None:
                self._items, self._element_shape = list(rows), shape
                return self
            return self._new(items=list(rows), element_shape=shape)
        return self._new(buffer=v, element_shape=shape)

    def _check_value_rows(self, value):
        v = as_input(value, self._dtype)
        if getattr(v, "_is_variable", False):
            v = v.read_value()
        if v.dtype is not self._dtype or v.shape.rank == 0:
            raise errors.InvalidArgumentError(
                f"TensorArray.unstack/scatter needs a {self._dtype.name} tensor of rank >= 1; "
                f"got {v!r}.")
        return v

    def scatter(self, indices, value, name=None):
        """Writes the rows of `value` at `indices`."""
        from tapeflow.ops import array_ops, manip_ops
        v = self._check_value_rows(value)
        shape = self._merged_shape(v.shape[1:])
        buf = self._new(element_shape=shape, items=self._items, buffer=self._buffer)._as_buffer()
        idx = as_input(indices)
        if self._dynamic:
            from tapeflow.ops import reduce_ops
            buf = execute(_GROW, (buf, reduce_ops.reduce_max(idx) + 1))
        buf = manip_ops.tensor_scatter_nd_update(buf, array_ops.expand_dims(idx, -1), v)
        return self._new(buffer=buf, element_shape=shape)

    def size(self, name=None):
        """The number of elements (an int32 tensor)."""
        if self._items is not None and self._buffer is None:
            return convert_to_tensor(len(self._items), dtypes.int32)
        if self._buffer is None:
            from tapeflow.ops import math_ops
            return math_ops.cast(self._size, dtypes.int32)
        return _rows(self._buffer)

    def close(self, name=None):
        return None

    def identity(self):
        return self

    def __repr__(self):
        return f"<TensorArray dtype={self._dtype.name} element_shape={self._element_shape}>"
