"""Norms and gradient clipping: `tf.norm`, `tf.clip_by_norm`, `tf.linalg.global_norm`,
`tf.clip_by_global_norm`. Composed of differentiable ops, so no rules of their own.

    >>> import tapeflow as tf
    >>> print(tf.norm([3., 4.]))
    tf.Tensor(5.0, shape=(), dtype=float32)
    >>> clipped, n = tf.clip_by_global_norm([tf.constant([3., 4.]), None], 1.0)
    >>> clipped[0].numpy(), clipped[1], float(n)
    (array([0.6, 0.8], dtype=float32), None, 5.0)
"""
from __future__ import annotations

from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import as_input
from tapeflow.ops import math_ops, reduce_ops


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):  # noqa: A002
    """Vector norm over `axis` (all elements when None): 'euclidean'/2, 1, or inf.

    Matrix norms (a pair of axes) are supported for 'fro'/'euclidean' (Frobenius).
    """
    x = as_input(tensor)
    keep = bool(keepdims)
    if isinstance(axis, (list, tuple)) and len(axis) == 2 and ord not in ("euclidean", "fro"):
        raise ValueError(f"tf.norm: matrix norm ord={ord!r} is not supported; use "
                         "'euclidean' (Frobenius).")
    if ord in ("euclidean", "fro", 2, 2.0):
        # As TF: the gradient at an all-zero input is nan (sqrt'(0) is infinite).
        return math_ops.sqrt(reduce_ops.reduce_sum(x * x, axis=axis, keepdims=keep))
    if ord in (1, 1.0):
        return reduce_ops.reduce_sum(math_ops.abs(x), axis=axis, keepdims=keep)
    if ord == float("inf"):
        return reduce_ops.reduce_max(math_ops.abs(x), axis=axis, keepdims=keep)
    raise ValueError(f"tf.norm: ord must be 'euclidean', 'fro', 1, 2 or inf; got {ord!r}.")


@tf_export("clip_by_norm")
def clip_by_norm(t, clip_norm, axes=None, name=None):
    """Scales `t` so that its L2 norm over `axes` is at most `clip_norm`."""
    t = as_input(t)
    l2sum = reduce_ops.reduce_sum(t * t, axis=axes, keepdims=True)
    positive = math_ops.greater(l2sum, 0)
    # Where the norm is 0, divide by 1 instead: the gradient stays finite.
    safe = math_ops.where(positive, l2sum, math_ops.ones_like(l2sum))
    l2norm = math_ops.where(positive, math_ops.sqrt(safe), l2sum)
    clip = math_ops.cast(clip_norm, t.dtype)
    return t * clip / math_ops.maximum(l2norm, clip)


@tf_export("linalg.global_norm")
def global_norm(t_list, name=None):
    """sqrt(sum of squares of all elements of all tensors); None entries are skipped."""
    tensors = [as_input(t) for t in t_list if t is not None]
    if not tensors:
        raise ValueError("global_norm: t_list has no tensors (all entries are None).")
    return math_ops.sqrt(math_ops.add_n([reduce_ops.reduce_sum(t * t) for t in tensors]))


@tf_export("clip_by_global_norm")
def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scales every tensor by clip_norm / max(global_norm, clip_norm).

    Returns:
        (the clipped list, with None where the input was None; the global norm).
    """
    if not isinstance(t_list, (list, tuple)):
        raise TypeError(f"clip_by_global_norm: t_list must be a list of tensors; received "
                        f"{type(t_list).__name__}.")
    gnorm = global_norm(t_list) if use_norm is None else as_input(use_norm)
    clip = math_ops.cast(clip_norm, gnorm.dtype)
    scale = clip / math_ops.maximum(gnorm, clip)
    out = [None if t is None else as_input(t) * math_ops.cast(scale, as_input(t).dtype)
           for t in t_list]
    return out, gnorm
