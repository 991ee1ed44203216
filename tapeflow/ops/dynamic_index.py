"""`x[i]` with `i` a symbolic scalar (a loop counter inside `tf.function`).

The key's static part (ints, slices) is applied as usual; each symbolic
integer then becomes a `gather` along the axis it indexes, last axis first so
earlier axes keep their positions. Both steps have gradients.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def row(m, i):
    ...     return m[i, 1:]
    >>> row(tf.constant([[1, 2, 3], [4, 5, 6]]), tf.constant(1)).numpy()
    array([5, 6], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape


def _is_sym(x) -> bool:
    return getattr(x, "_is_symbolic", False)


def _bound_is_sym(k) -> bool:
    return isinstance(k, slice) and any(_is_sym(b) for b in (k.start, k.stop, k.step))


def has_symbolic_index(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(_is_sym(k) or _bound_is_sym(k) for k in keys)


# -- slices with traced bounds: DynamicSlice and its gradient, each other's rule --------------

def _key(bounds, spec):
    """Python slices from the bounds array and the static spec ((has_start, has_stop, step)...)."""
    out, i = [], 0
    for has_start, has_stop, step in spec:
        start = int(bounds[i]) if has_start else None
        i += has_start
        stop = int(bounds[i]) if has_stop else None
        i += has_stop
        out.append(slice(start, stop, step))
    return tuple(out)


def _dynamic_slice_grad_kernel(x, dy, bounds, spec):
    g = np.zeros(np.shape(x), dtype=dy.dtype)
    g[_key(bounds, spec)] = dy
    return g


_DYNAMIC_SLICE = OpDef(
    "DynamicSlice", lambda x, bounds, spec: x[_key(bounds, spec)],
    lambda inputs, outputs, attrs, dy: (
        execute(_DYNAMIC_SLICE_GRAD, (inputs[0], dy, inputs[1]), attrs), None),
    shape_fn=lambda i, a: [(TensorShape([None] * len(a["spec"]) + i[0].shape.as_list()[
        len(a["spec"]):]), i[0].dtype)])
_DYNAMIC_SLICE_GRAD = OpDef(
    "DynamicSliceGrad", _dynamic_slice_grad_kernel,
    lambda inputs, outputs, attrs, dy: (
        None, execute(_DYNAMIC_SLICE, (dy, inputs[2]), attrs), None),
    shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)])


def _dynamic_slices(x, slices):
    """`x[s0, s1, ...]` for leading slices whose start/stop may be traced scalars."""
    from tapeflow.ops import array_ops, math_ops
    spec, bounds = [], []
    for k in slices:
        step = 1 if k.step is None else int(k.step)
        spec.append((k.start is not None, k.stop is not None, step))
        bounds += [array_ops.reshape(as_input(b), []) for b in (k.start, k.stop)
                   if b is not None]
    packed = array_ops.stack([math_ops.cast(b, "int32") for b in bounds])
    return execute(_DYNAMIC_SLICE, (x, packed), {"spec": tuple(spec)})


def symbolic_getitem(x, key):
    """`x[key]` where some entries of `key` are symbolic scalar integer tensors."""
    from tapeflow.ops import indexing_ops
    keys = key if isinstance(key, tuple) else (key,)
    static, gathers, dynamic, axis = [], [], [], 0
    for k in keys:
        if k is Ellipsis or k is None:
            raise TypeError("Indexing with a symbolic tensor together with `...` or tf.newaxis "
                            "is not supported while tracing; use tf.gather.")
        if _is_sym(k):
            if not k.dtype.is_integer or k.shape.rank not in (None, 0):
                raise TypeError("Only scalar int32/int64 tensors are valid symbolic indices; "
                                f"got {k!r}. Use tf.gather for tensors of indices.")
            gathers.append((axis, k))
            static.append(slice(None))
            axis += 1
        elif isinstance(k, slice):
            if _is_sym(k.step):  # (also a "symbolic bound" for has_symbolic_index)
                raise TypeError("Slicing with a symbolic step is not supported while "
                                "tracing; use tf.gather.")
            if _bound_is_sym(k):
                if axis != len(static) or gathers:
                    raise TypeError("A slice with symbolic bounds must come before any "
                                    "integer index; use tf.gather or tf.slice.")
                dynamic.append(k)
                static.append(slice(None))
            else:
                static.append(k)
            axis += 1
        else:
            static.append(k)
    if dynamic:
        x = _dynamic_slices(x, dynamic)
    out = indexing_ops.getitem(x, tuple(static))
    for ax, k in reversed(gathers):
        out = indexing_ops.gather(out, k, axis=ax)
    return out
