"""`x[key]` where the key holds symbolic scalars (a loop counter, a traced argument).

Any mix of integer indices, slices, `...` and `tf.newaxis` works, and any of
the integers or slice bounds (start, stop, step) may be a traced int32/int64
scalar, as in TF's strided slice. The key becomes one `DynamicSlice` op: a
static spec of the key's parts, and a vector of the traced values it reads.
Its gradient scatters back into zeros (`DynamicSliceGrad`); the two ops are
each other's gradient, so every order of derivative is available.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def row(m, i):
    ...     return m[i, 1:]
    >>> row(tf.constant([[1, 2, 3], [4, 5, 6]]), tf.constant(1)).numpy()
    array([5, 6], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import errors
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape

# In a spec, a value read (in order) from the bounds vector.
TRACED = "traced"

_BAD_INDEX = ("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
              "tf.int32/tf.int64 tensors are valid indices, got {!r}")


def _is_sym(x) -> bool:
    return getattr(x, "_is_symbolic", False)


def _bound_is_sym(k) -> bool:
    return isinstance(k, slice) and any(_is_sym(b) for b in (k.start, k.stop, k.step))


def has_symbolic_index(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(_is_sym(k) or _bound_is_sym(k) for k in keys)


# -- the key at run time ----------------------------------------------------------------------

def _key(bounds, spec):
    """The Python key of `spec`, with its traced values taken from `bounds` in order."""
    values = iter(np.asarray(bounds).tolist())
    out = []
    for part in spec:
        kind = part[0]
        if kind == "index":
            out.append(next(values) if part[1] == TRACED else part[1])
        elif kind == "slice":
            out.append(slice(*(next(values) if v == TRACED else v for v in part[1:])))
        else:
            out.append(None if kind == "newaxis" else Ellipsis)
    return tuple(out)


def _checked_key(shape, bounds, spec):
    """The key, after TF's run-time checks: zero strides, integer indices out of range."""
    key = _key(bounds, spec)
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    axis = 0
    for pos, k in enumerate(key):
        if k is Ellipsis:
            axis += len(shape) - consumed
        elif isinstance(k, slice):
            if k.step == 0:
                raise errors.op_error("StridedSlice", f"strides[{pos}] must be non-zero")
            axis += 1
        elif k is not None:
            if axis < len(shape) and not -shape[axis] <= k < shape[axis]:
                raise errors.op_error(
                    "StridedSlice", f"slice index {k} of dimension {axis} out of bounds.")
            axis += 1
    return key


def _dynamic_slice_kernel(x, bounds, spec):
    return x[_checked_key(np.shape(x), bounds, spec)]


def _dynamic_slice_grad_kernel(x, dy, bounds, spec):
    g = np.zeros(np.shape(x), dtype=dy.dtype)
    g[_checked_key(g.shape, bounds, spec)] = dy
    return g


# -- the key at trace time --------------------------------------------------------------------

def _slice_length(dim, start, stop, step):
    if dim is None or TRACED in (start, stop, step):
        return dim if (start, stop, step) == (None, None, None) else None
    return len(range(*slice(start, stop, step).indices(dim)))


def _out_shape(shape, spec):
    """The static shape of `x[key]` (None where a traced bound decides it)."""
    if shape.rank is None:
        return TensorShape(None)
    dims = shape.as_list()
    consumed = sum(1 for part in spec if part[0] in ("index", "slice"))
    out, axis = [], 0
    for part in spec:
        kind = part[0]
        if kind == "ellipsis":
            n = len(dims) - consumed
            out += dims[axis:axis + n]
            axis += n
        elif kind == "newaxis":
            out.append(1)
        elif kind == "index":
            axis += 1
        else:
            out.append(_slice_length(dims[axis], *part[1:]))
            axis += 1
    return TensorShape(out + dims[axis:])


_DYNAMIC_SLICE = OpDef(
    "DynamicSlice", _dynamic_slice_kernel,
    lambda inputs, outputs, attrs, dy: (
        execute(_DYNAMIC_SLICE_GRAD, (inputs[0], dy, inputs[1]), attrs), None),
    shape_fn=lambda i, a: [(_out_shape(i[0].shape, a["spec"]), i[0].dtype)],
    grad_uses_outputs=False)
_DYNAMIC_SLICE_GRAD = OpDef(
    "DynamicSliceGrad", _dynamic_slice_grad_kernel,
    lambda inputs, outputs, attrs, dy: (
        None, execute(_DYNAMIC_SLICE, (dy, inputs[2]), attrs), None),
    shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)], grad_uses_outputs=False)


def _scalar(k, traced):
    """A part of the key as a static int, or TRACED (the tensor appended to `traced`)."""
    if k is None:
        return None
    if not isinstance(k, (int, np.integer, Tensor)) and \
            not getattr(k, "_is_variable", False):
        raise TypeError(_BAD_INDEX.format(k))
    if isinstance(k, (int, np.integer)):
        return int(k)
    if not k.dtype.is_integer or k.shape.rank not in (None, 0):
        raise TypeError(_BAD_INDEX.format(k))
    if not _is_sym(k) and not getattr(k, "_is_variable", False):
        return int(np.asarray(k._value))
    traced.append(k)
    return TRACED


def _spec_of(keys):
    """(spec, traced tensors) of a key: the static description `_key` reads back."""
    spec, traced = [], []
    for k in keys:
        if k is Ellipsis:
            spec.append(("ellipsis",))
        elif k is None:
            spec.append(("newaxis",))
        elif isinstance(k, slice):
            spec.append(("slice",) + tuple(_scalar(b, traced)
                                           for b in (k.start, k.stop, k.step)))
        else:
            spec.append(("index", _scalar(k, traced)))
    return tuple(spec), traced


def _check_spec(shape, spec):
    """TF's trace-time errors: two ellipses, more indexed axes than the tensor has."""
    if sum(1 for part in spec if part[0] == "ellipsis") > 1:
        raise ValueError("Multiple ellipses in slice spec not allowed")
    consumed = sum(1 for part in spec if part[0] in ("index", "slice"))
    if shape.rank is not None and consumed > shape.rank:
        raise ValueError(f"Index out of range using input dim {shape.rank}; input has only "
                         f"{shape.rank} dims")


def symbolic_getitem(x, key):
    """`x[key]` where some entries of `key` are symbolic scalar integer tensors."""
    from tapeflow.ops import array_ops, math_ops
    keys = key if isinstance(key, tuple) else (key,)
    spec, traced = _spec_of(keys)
    _check_spec(x.shape, spec)
    values = [math_ops.cast(array_ops.reshape(as_input(t), []), "int64") for t in traced]
    bounds = array_ops.stack(values)
    return execute(_DYNAMIC_SLICE, (x, bounds), {"spec": spec})
