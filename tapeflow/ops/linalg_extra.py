"""Least squares, norms and the pseudo-inverse (`tf.linalg.lstsq`, `norm`, `pinv`).

Composed of the ops in `linalg_ops.py` (Cholesky, triangular solves, SVD), so
their gradients, first and second order, follow from those ops' rules.

    >>> import tapeflow as tf
    >>> x = tf.linalg.lstsq([[1.], [1.]], [[1.], [3.]])
    >>> float(x[0, 0])
    2.0
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import array_ops, math_ops, reduce_ops
from tapeflow.ops.linalg_ops import (
    _batch,
    _dims,
    _matrix_input,
    _mm,
    cholesky,
    cholesky_solve,
    diag_part,
    set_diag,
    svd,
)


def _lstsq_kernel(a, b):
    flat_a = a.reshape((-1,) + a.shape[-2:])
    flat_b = np.broadcast_to(b, a.shape[:-2] + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
    out = [np.linalg.lstsq(m, r, rcond=None)[0] for m, r in zip(flat_a, flat_b)]
    return np.array(out, a.dtype).reshape(a.shape[:-2] + (a.shape[-1], b.shape[-1]))


def _lstsq_grad(inputs, outputs, attrs, dy):
    raise ValueError("Gradient not defined for fast=False")


def _lstsq_spec(inputs, attrs):
    a, b = inputs
    return [(TensorShape(_batch(a.shape) + [_dims(a.shape)[1], _dims(b.shape)[1]]), a.dtype)]


_LSTSQ_ROBUST = OpDef("MatrixSolveLs", _lstsq_kernel, _lstsq_grad, shape_fn=_lstsq_spec)


@tf_export("linalg.lstsq")
def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None):
    """X minimising ||matrix @ X - rhs||^2 + l2_regularizer ||X||^2 (per matrix).

    `fast=True` (TF's default) solves the regularised normal equations with a
    Cholesky factor, A^T A for tall matrices and A A^T for wide ones, and is
    differentiable; `fast=False` uses an orthogonal decomposition (robust for
    ill-conditioned A, ignores the regulariser) and has no gradient, as in TF.
    """
    a = _matrix_input("MatrixSolveLs", matrix, square=False)
    b = as_input(rhs, a.dtype)
    if not fast:
        return execute(_LSTSQ_ROBUST, (a, b))
    if a.dtype is dtypes.complex128 and l2_regularizer != 0:
        raise NotImplementedError("matrix_solve_ls is currently disabled for complex128 and "
                                  "l2_regularizer != 0 due to poor accuracy.")
    reg = math_ops.cast(l2_regularizer, a.dtype)
    rows, cols = _dims(a.shape)
    if rows is None or cols is None:
        # Which normal equations to solve is known only when the function runs (as TF).
        from tapeflow.function import cond
        dims = array_ops.shape(a)
        return cond(math_ops.greater_equal(dims[-2], dims[-1]),
                    lambda: _normal_equations(a, b, reg, True),
                    lambda: _normal_equations(a, b, reg, False))
    return _normal_equations(a, b, reg, rows >= cols)


def _normal_equations(a, b, reg, tall):
    """(A^T A + reg I)^-1 A^T b for tall A, A^T (A A^T + reg I)^-1 b for wide A."""
    gram = _mm(a, a, ta=True) if tall else _mm(a, a, tb=True)
    # reg is added on the diagonal in place of `+ reg * I`: the size may be known only
    # when a traced function runs.
    gram = set_diag(gram, diag_part(gram) + reg)
    chol = cholesky(gram)
    if tall:
        return cholesky_solve(chol, _mm(a, b, ta=True))
    return _mm(a, cholesky_solve(chol, b), ta=True)


_VECTOR_ORDS = ("euclidean", 1, 2, np.inf)
_MATRIX_ORDS = ("euclidean", "fro", 1, 2, np.inf)


def _norm_axes(axis, rank):
    bad = ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got "
                     f"{tuple(axis) if isinstance(axis, list) else axis}")
    if axis is None:
        return None, False
    if isinstance(axis, (list, tuple)):
        if len(axis) == 1:
            return [int(axis[0])], False
        if len(axis) != 2 or axis[0] == axis[1] or (
                rank is not None and (axis[0] % rank) == (axis[1] % rank)):
            raise bad
        return [int(a) for a in axis], True
    if isinstance(axis, (int, np.integer)):
        return [int(axis)], False
    raise bad


@tf_export("norm", "linalg.norm")
def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):
    """Vector norms (over `axis`, or all elements) and matrix norms (over a pair of axes).

    Vectors: 'euclidean' (= 2), 1, inf and any other positive p. Matrices:
    'fro' / 'euclidean', 1 (largest column sum), inf (largest row sum) and 2
    (largest singular value).

        >>> import tapeflow as tf
        >>> float(tf.linalg.norm([[3., 0.], [0., 4.]], ord=2, axis=[0, 1]))
        4.0
    """
    x = as_input(tensor)
    axes, is_matrix = _norm_axes(axis, x.shape.rank)
    if is_matrix:
        if ord not in _MATRIX_ORDS:
            raise ValueError(f"'ord' must be a supported matrix norm in ['euclidean', 'fro', 1, "
                             f"2, inf], got {ord}")
    elif ord == "fro" or not (ord in _VECTOR_ORDS or (
            isinstance(ord, (int, float)) and not isinstance(ord, bool) and ord > 0)):
        raise ValueError(f"'ord' must be a supported vector norm, got {ord}")
    keep = bool(keepdims)
    reduce_axes = axes if axes is not None else None
    if is_matrix and ord == 2:
        rank = x.shape.rank
        pos = [a % rank for a in axes]
        perm = [i for i in range(rank) if i not in pos] + pos
        s = svd(array_ops.transpose(x, perm), compute_uv=False)
        result = reduce_ops.reduce_max(s, axis=-1)
        if keep:
            for a in sorted(pos):
                result = array_ops.expand_dims(result, a)
        return result
    if is_matrix and ord in (1, np.inf):
        sum_axis, max_axis = (axes[0], axes[1]) if ord == 1 else (axes[1], axes[0])
        sums = reduce_ops.reduce_sum(math_ops.abs(x), axis=sum_axis, keepdims=True)
        result = reduce_ops.reduce_max(sums, axis=max_axis, keepdims=True)
        return result if keep else array_ops.squeeze(result, axis=axes)
    if ord in ("euclidean", "fro", 2):
        # As TF: the gradient at an all-zero input is NaN (sqrt'(0) is infinite).
        return math_ops.sqrt(reduce_ops.reduce_sum(x * x, axis=reduce_axes, keepdims=keep))
    mag = math_ops.abs(x)
    if ord == 1:
        return reduce_ops.reduce_sum(mag, axis=reduce_axes, keepdims=keep)
    if ord == np.inf:
        return reduce_ops.reduce_max(mag, axis=reduce_axes, keepdims=keep)
    p = math_ops.cast(ord, mag.dtype)
    total = reduce_ops.reduce_sum(math_ops.pow(mag, p), axis=reduce_axes, keepdims=keep)
    return math_ops.pow(total, math_ops.reciprocal(p))


@tf_export("linalg.pinv")
def pinv(a, rcond=None, validate_args=False, name=None):
    """The Moore-Penrose pseudo-inverse, from the SVD (singular values below
    `rcond * max(s)` count as zero; default rcond 10 * max(m, n) * eps)."""
    x = _matrix_input("Svd", a, square=False)
    if rcond is None:
        # max(m, n) from the runtime shape: it may be unknown while tracing.
        size = math_ops.cast(reduce_ops.reduce_max(array_ops.shape(x)[-2:]), x.dtype)
        rcond = 10.0 * float(np.finfo(x.dtype._np).eps) * size
    s, u, v = svd(x)
    cutoff = math_ops.cast(rcond, x.dtype) * reduce_ops.reduce_max(s, axis=-1, keepdims=True)
    big = math_ops.greater(s, cutoff)
    safe = math_ops.where(big, s, array_ops.ones_like(s))
    s_inv = math_ops.where(big, math_ops.reciprocal(safe), array_ops.zeros_like(s))
    return _mm(v * array_ops.expand_dims(s_inv, -2), u, tb=True)
