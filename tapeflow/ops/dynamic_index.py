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


def _is_sym(x) -> bool:
    return getattr(x, "_is_symbolic", False)


def has_symbolic_index(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(_is_sym(k) for k in keys)


def symbolic_getitem(x, key):
    """`x[key]` where some entries of `key` are symbolic scalar integer tensors."""
    from tapeflow.ops import indexing_ops
    keys = key if isinstance(key, tuple) else (key,)
    static, gathers, axis = [], [], 0
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
            if any(_is_sym(b) for b in (k.start, k.stop, k.step)):
                raise TypeError("Slicing with symbolic bounds is not supported while tracing; "
                                "use tf.slice with known sizes or tf.gather.")
            static.append(k)
            axis += 1
        else:
            static.append(k)
    out = indexing_ops.getitem(x, tuple(static))
    for ax, k in reversed(gathers):
        out = indexing_ops.gather(out, k, axis=ax)
    return out
