"""Linear algebra (`tf.linalg`): decompositions, solves, determinants and diagonals.

Every op works on the last two axes and batches over the rest, as TF's. The
decompositions run on NumPy's LAPACK; each op's gradient is written with
tapeflow ops beside it (so second derivatives come from nested tapes), and the
rest of `tf.linalg` (trace, logdet, matvec, lstsq, norm, ...) is composed from
these ops, so its gradients follow.

    >>> import tapeflow as tf
    >>> a = tf.constant([[4., 1.], [1., 3.]])
    >>> tf.linalg.det(a).numpy()
    np.float32(11.0)
    >>> tf.linalg.solve(a, [[1.], [2.]]).numpy().round(4)
    array([[0.0909],
           [0.6364]], dtype=float32)

Gradients are for real dtypes (the values work for complex ones too).
Eigenvectors and singular vectors are unique only up to sign; their signs are
LAPACK's, which may differ from TF's (Eigen's) for the same matrix.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import array_ops, math_ops, reduce_ops

_LINALG_DTYPES = (dtypes.float16, dtypes.float32, dtypes.float64, dtypes.complex64,
                  dtypes.complex128)


# -- input checks shared by the ops (TF's messages) -----------------------------------

def _matrix_input(op_name, x, square=True):
    x = as_input(x)
    if x.dtype not in _LINALG_DTYPES:
        raise errors.op_error(op_name, f"Value for attr 'T' of {x.dtype.name} is not in the list "
                              "of allowed values: double, float, half, complex64, complex128")
    shape = x.shape
    if shape.rank is not None:
        if shape.rank < 2:
            raise errors.op_error(op_name, f"Input tensor 0 must have rank >= 2, got {shape.rank}")
        rows, cols = shape.as_list()[-2:]
        if square and rows is not None and cols is not None and rows != cols:
            raise errors.op_error(op_name, "Input matrix must be square.")
    return x


def _same_spec(inputs, attrs):
    return [(inputs[0].shape, inputs[0].dtype)]


def _batch(shape):
    return [] if shape.rank is None else shape.as_list()[:-2]


def _dims(shape):
    return (None, None) if shape.rank is None else tuple(shape.as_list()[-2:])


@tf_export("linalg.matrix_transpose")
def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """Swaps the last two axes (and conjugates when asked)."""
    a = as_input(a)
    rank = a.shape.rank
    if rank is None or rank < 2:
        raise ValueError(f"Argument `a` should be a (batch) matrix with rank >= 2. Received "
                         f"`a` = {a} with shape: {a.shape}")
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    return array_ops.transpose(a, perm, conjugate=conjugate)


@tf_export("linalg.adjoint")
def adjoint(matrix, name=None):
    """The conjugate transpose of the last two axes."""
    return matrix_transpose(matrix, conjugate=True)


def _mm(a, b, ta=False, tb=False):
    return math_ops.matmul(a, b, transpose_a=ta, transpose_b=tb)


def _expand2(x):
    return array_ops.expand_dims(array_ops.expand_dims(x, -1), -1)


def _real_gradient(rule):
    """Marks a rule written for real matrices: a complex input is refused by name rather
    than given a wrong gradient (the complex rules need conjugates throughout)."""
    def checked(inputs, outputs, attrs, dy):
        dtype = inputs[0].dtype
        if dtype.is_complex:
            raise NotImplementedError(f"tapeflow's gradient of {rule.__name__[1:-5]} supports "
                                      f"real dtypes; the input is {dtype.name}.")
        return rule(inputs, outputs, attrs, dy)
    checked.__name__ = rule.__name__
    return checked


# -- inverse, determinants ----------------------------------------------------------------

def _inv_kernel(a, adjoint=False):
    if adjoint:
        a = np.conj(np.swapaxes(a, -1, -2))
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise ValueError("Input is not invertible.") from None


@_real_gradient
def _inv_grad(inputs, outputs, attrs, dy):
    # d(A^-1) = -A^-1 dA A^-1; with adjoint the roles of the transposes swap.
    inv, adj = outputs, attrs.get("adjoint", False)
    if adj:
        return (-_mm(inv, _mm(dy, inv, ta=True)),)
    return (-_mm(inv, _mm(dy, inv, tb=True), ta=True),)


_INV = OpDef("MatrixInverse", _inv_kernel, _inv_grad, shape_fn=_same_spec)


@tf_export("linalg.inv")
def inv(input, adjoint=False, name=None):
    """The inverse of each square matrix (of its adjoint, with `adjoint=True`).

    Raises:
        InvalidArgumentError: a matrix is not square, or not invertible.
    """
    x = _matrix_input("MatrixInverse", input)
    return execute(_INV, (x,), {"adjoint": bool(adjoint)} if adjoint else {})


def _det_kernel(a):
    return np.linalg.det(a).astype(a.dtype)


@_real_gradient
def _det_grad(inputs, outputs, attrs, dy):
    # d det(A) = det(A) tr(A^-1 dA): the gradient is dy * det * A^-T.
    return (_expand2(dy * outputs) * inv(inputs[0], adjoint=True),)


def _det_spec(inputs, attrs):
    return [(TensorShape(_batch(inputs[0].shape)), inputs[0].dtype)]


_DET = OpDef("MatrixDeterminant", _det_kernel, _det_grad, shape_fn=_det_spec)


@tf_export("linalg.det")
def det(input, name=None):
    """The determinant of each square matrix."""
    return execute(_DET, (_matrix_input("MatrixDeterminant", input),))


def _slogdet_kernel(a):
    sign, logabs = np.linalg.slogdet(a)
    return sign.astype(a.dtype), logabs.astype(np.abs(a[..., :0, :0]).dtype)


@_real_gradient
def _slogdet_grad(inputs, outputs, attrs, dy):
    # The sign is piecewise constant; log|det A| has gradient A^-T.
    d_logabs = dy[1]
    if d_logabs is None:
        return (None,)
    return (_expand2(d_logabs) * inv(inputs[0], adjoint=True),)


def _slogdet_spec(inputs, attrs):
    batch = TensorShape(_batch(inputs[0].shape))
    return [(batch, inputs[0].dtype), (batch, inputs[0].dtype.real_dtype
                                       if hasattr(inputs[0].dtype, "real_dtype")
                                       else inputs[0].dtype)]


_SLOGDET = OpDef("LogMatrixDeterminant", _slogdet_kernel, _slogdet_grad, num_outputs=2,
                 shape_fn=_slogdet_spec)


@tf_export("linalg.slogdet")
def slogdet(input, name=None):
    """(sign, log |det|) of each square matrix: a determinant that cannot overflow."""
    return execute(_SLOGDET, (_matrix_input("LogMatrixDeterminant", input),))


@tf_export("linalg.logdet")
def logdet(matrix, name=None):
    """log det of each Hermitian positive-definite matrix, via its Cholesky factor."""
    chol = cholesky(matrix)
    return 2.0 * reduce_ops.reduce_sum(math_ops.log(diag_part(chol)), axis=-1)


# -- solves -----------------------------------------------------------------------------

def _solve_kernel(a, b, adjoint=False):
    if adjoint:
        a = np.conj(np.swapaxes(a, -1, -2))
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise ValueError("Input matrix is not invertible.") from None


@_real_gradient
def _solve_grad(inputs, outputs, attrs, dy):
    a, x, adj = inputs[0], outputs, attrs.get("adjoint", False)
    db = solve(a, dy, adjoint=not adj)
    da = -_mm(x, db, tb=True) if adj else -_mm(db, x, tb=True)
    return da, db


def _rhs_spec(inputs, attrs):
    return [(inputs[1].shape, inputs[1].dtype)]


_SOLVE = OpDef("MatrixSolve", _solve_kernel, _solve_grad, shape_fn=_rhs_spec)


def _check_rhs(op_name, matrix, rhs):
    if matrix.shape.rank is not None and rhs.shape.rank is not None:
        if matrix.shape.rank != rhs.shape.rank:
            raise errors.op_error(op_name, "All input tensors must have the same rank.")
        n, m = matrix.shape.as_list()[-2], rhs.shape.as_list()[-2]
        if n is not None and m is not None and n != m:
            raise errors.op_error(op_name, "Input matrix and rhs are incompatible.")
    if matrix.dtype is not rhs.dtype:
        raise errors.op_error(op_name, f"cannot compute {op_name} as input #1(zero-based) was "
                              f"expected to be a {matrix.dtype.name} tensor but is a "
                              f"{rhs.dtype.name} tensor")


@tf_export("linalg.solve")
def solve(matrix, rhs, adjoint=False, name=None):
    """X with `matrix @ X = rhs` (square matrices, batched; rhs of shape [..., M, K])."""
    a = _matrix_input("MatrixSolve", matrix)
    b = as_input(rhs, a.dtype)
    _check_rhs("MatrixSolve", a, b)
    return execute(_SOLVE, (a, b), {"adjoint": bool(adjoint)} if adjoint else {})


def _triangular_solve_kernel(a, b, lower=True, adjoint=False):
    a = np.tril(a) if lower else np.triu(a)     # the other triangle is ignored, as TF
    if adjoint:
        a = np.conj(np.swapaxes(a, -1, -2))
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise ValueError("Input matrix is not invertible.") from None


@_real_gradient
def _triangular_solve_grad(inputs, outputs, attrs, dy):
    a, x = inputs[0], outputs
    lower, adj = attrs.get("lower", True), attrs.get("adjoint", False)
    db = triangular_solve(a, dy, lower=lower, adjoint=not adj)
    da = -_mm(x, db, tb=True) if adj else -_mm(db, x, tb=True)
    # Only the triangle the op reads has a gradient.
    return (band_part(da, -1, 0) if lower else band_part(da, 0, -1)), db


def _triangular_solve_spec(inputs, attrs):
    a, b = inputs
    from tapeflow.ops._shapes import broadcast_shapes
    batch = broadcast_shapes("MatrixTriangularSolve", TensorShape(_batch(a.shape)),
                             TensorShape(_batch(b.shape)))
    return [(TensorShape(batch.as_list() + list(_dims(b.shape))), b.dtype)]


_TRIANGULAR_SOLVE = OpDef("MatrixTriangularSolve", _triangular_solve_kernel,
                          _triangular_solve_grad, shape_fn=_triangular_solve_spec)


@tf_export("linalg.triangular_solve")
def triangular_solve(matrix, rhs, lower=True, adjoint=False, name=None):
    """X with `matrix @ X = rhs` for triangular matrices (lower by default); the other
    triangle of `matrix` is not read. Batch dimensions broadcast."""
    a = _matrix_input("MatrixTriangularSolve", matrix)
    b = as_input(rhs, a.dtype)
    n, m = _dims(a.shape)[0], _dims(b.shape)[0]
    if n is not None and m is not None and n != m:
        raise errors.op_error("MatrixTriangularSolve", f"In[0] mismatch In[1] shape: {n} vs. "
                              f"{m}: {a.shape.as_list()} {b.shape.as_list()}")
    attrs = {"lower": bool(lower), "adjoint": bool(adjoint)}
    return execute(_TRIANGULAR_SOLVE, (a, b), attrs)


@tf_export("linalg.cholesky_solve")
def cholesky_solve(chol, rhs, name=None):
    """X with `A @ X = rhs`, given the Cholesky factor `chol` of A."""
    y = triangular_solve(chol, rhs, lower=True, adjoint=False)
    return triangular_solve(chol, y, lower=True, adjoint=True)


# -- Cholesky, QR, eigen, SVD ------------------------------------------------------------------

def _cholesky_kernel(a):
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        pass
    # TF does not raise: a matrix that is not positive definite gives NaN in its
    # lower triangle. Factor the batch one matrix at a time to find which.
    flat = a.reshape((-1,) + a.shape[-2:])
    out = np.empty_like(flat)
    nan_lower = np.tril(np.full(a.shape[-2:], np.nan, a.dtype))
    for i, m in enumerate(flat):
        try:
            out[i] = np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            out[i] = nan_lower
    return out.reshape(a.shape)


@_real_gradient
def _cholesky_grad(inputs, outputs, attrs, dy):
    # With A = L L^T: dA = L^-T Phi(L^T dL) L^-1, Phi taking the lower triangle with
    # the diagonal halved, then symmetrised (the op reads only A's lower triangle,
    # but the symmetric gradient is TF's convention).
    chol = outputs
    n = _dims(chol.shape)[0]
    chol_inv = triangular_solve(chol, array_ops.eye(n, batch_shape=_batch(chol.shape),
                                                    dtype=chol.dtype))
    middle = _mm(chol, dy, ta=True)
    middle = band_part(set_diag(middle, 0.5 * diag_part(middle)), -1, 0)
    grad = _mm(_mm(chol_inv, middle, ta=True), chol_inv)
    return (0.5 * (grad + matrix_transpose(grad)),)


_CHOLESKY = OpDef("Cholesky", _cholesky_kernel, _cholesky_grad, shape_fn=_same_spec)


@tf_export("linalg.cholesky")
def cholesky(input, name=None):
    """The lower-triangular L with `L @ L^H = input` (only the lower triangle is read)."""
    return execute(_CHOLESKY, (_matrix_input("Cholesky", input),))


def _qr_kernel(a, full_matrices=False):
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    return q.astype(a.dtype), r.astype(a.dtype)


def _qr_spec(inputs, attrs):
    a = inputs[0]
    m, n = _dims(a.shape)
    k = None if m is None or n is None else min(m, n)
    qc, rr = (m, m) if attrs.get("full_matrices") else (k, k)
    batch = _batch(a.shape)
    return [(TensorShape(batch + [m, qc]), a.dtype), (TensorShape(batch + [rr, n]), a.dtype)]


def _right_solve_upper(x, r):
    """x @ r^-T for upper-triangular r."""
    return matrix_transpose(triangular_solve(r, matrix_transpose(x), lower=False))


def _qr_grad_tall(q, r, dq, dr):
    # A = QR with m >= n: the gradient is Q (dR + copyltu(M) R^-T) + (dQ - Q Q^T dQ) R^-T,
    # M = R dR^T - dQ^T Q, written with triangular solves.
    qdq = _mm(q, dq, ta=True)
    rdr = _mm(r, dr, tb=True)
    tril = band_part((qdq - matrix_transpose(qdq)) + (rdr - matrix_transpose(rdr)), -1, 0)
    grad_a = _mm(q, dr + _right_solve_upper(tril, r))
    return grad_a + _right_solve_upper(dq - _mm(q, qdq), r)


@_real_gradient
def _qr_grad(inputs, outputs, attrs, dy):
    a, (q, r) = inputs[0], outputs
    m, n = _dims(a.shape)
    if m is None or n is None:
        raise NotImplementedError("QrGrad not implemented with dynamic shapes.")
    if attrs.get("full_matrices") and m > n:
        raise NotImplementedError("QrGrad not implemented when nrows > ncols and "
                                  "full_matrices is true.")
    dq = dy[0] if dy[0] is not None else array_ops.zeros_like(q)
    dr = dy[1] if dy[1] is not None else array_ops.zeros_like(r)
    if m >= n:
        return (_qr_grad_tall(q, r, dq, dr),)
    # Wide: A = [X, Y] with X square, R = [U, V]; X = QU is the square case.
    y, u = a[..., :, m:], r[..., :, :m]
    dv, du = dr[..., :, m:], dr[..., :, :m]
    dx = _qr_grad_tall(q, u, dq + _mm(y, dv, tb=True), du)
    return (array_ops.concat([dx, _mm(q, dv)], axis=-1),)


_QR = OpDef("Qr", _qr_kernel, _qr_grad, num_outputs=2, shape_fn=_qr_spec)


@tf_export("linalg.qr")
def qr(input, full_matrices=False, name=None):
    """(q, r): orthonormal columns and upper-triangular r with `q @ r = input`."""
    x = _matrix_input("Qr", input, square=False)
    return execute(_QR, (x,), {"full_matrices": bool(full_matrices)})


def _eigh_kernel(a, compute_v=True):
    e, v = np.linalg.eigh(a)        # reads the lower triangle, as TF
    return e.astype(np.abs(a[..., :0, 0]).dtype), v.astype(a.dtype)


@_real_gradient
def _eigh_grad(inputs, outputs, attrs, dy):
    # A = V diag(e) V^T: dA = V (diag(de) + F * (V^T dV)) V^T with F_ij = 1/(e_j - e_i),
    # then folded onto the lower triangle the op reads.
    e, v = outputs
    de, dv = dy
    if not attrs.get("compute_v", True):
        # Eigenvalues alone (eigvalsh) need no eigenvalue gaps, so equal eigenvalues are
        # fine; the eigenvectors come from a full decomposition, whose own rule gives
        # the second derivatives.
        v, dv = eigh(inputs[0])[1], None
    inner = array_ops.zeros_like(v) if de is None else diag(de)
    if dv is not None:
        gaps = array_ops.expand_dims(e, -2) - array_ops.expand_dims(e, -1)
        f = set_diag(math_ops.reciprocal(set_diag(gaps, array_ops.ones_like(e))),
                     array_ops.zeros_like(e))
        inner = inner + f * _mm(v, dv, ta=True)
    grad = _mm(v, _mm(inner, v, tb=True))
    grad = band_part(grad + matrix_transpose(grad), -1, 0)
    return (set_diag(grad, 0.5 * diag_part(grad)),)


def _eigh_spec(inputs, attrs):
    a = inputs[0]
    return [(TensorShape(a.shape.as_list()[:-1]) if a.shape.rank else TensorShape(None),
             a.dtype), (a.shape, a.dtype)]


_EIGH = OpDef("SelfAdjointEigV2", _eigh_kernel, _eigh_grad, num_outputs=2, shape_fn=_eigh_spec)


@tf_export("linalg.eigh")
def eigh(tensor, name=None):
    """(eigenvalues ascending, eigenvectors as columns) of self-adjoint matrices; only the
    lower triangle is read."""
    return execute(_EIGH, (_matrix_input("SelfAdjointEigV2", tensor),))


@tf_export("linalg.eigvalsh")
def eigvalsh(tensor, name=None):
    """The eigenvalues of self-adjoint matrices, ascending."""
    return execute(_EIGH, (_matrix_input("SelfAdjointEigV2", tensor),), {"compute_v": False})[0]


def _svd_kernel(a, full_matrices=False, compute_uv=True):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return (s.astype(np.abs(a[..., :0, 0]).dtype), u.astype(a.dtype),
            np.conj(np.swapaxes(vh, -1, -2)).astype(a.dtype))


def _svd_spec(inputs, attrs):
    a = inputs[0]
    m, n = _dims(a.shape)
    k = None if m is None or n is None else min(m, n)
    batch = _batch(a.shape)
    full = attrs.get("full_matrices")
    return [(TensorShape(batch + [k]), a.dtype),
            (TensorShape(batch + [m, m if full else k]), a.dtype),
            (TensorShape(batch + [n, n if full else k]), a.dtype)]


@_real_gradient
def _svd_grad(inputs, outputs, attrs, dy):
    """A = U S V^T (reduced, k = min(m, n)):
    dA = U [diag(dS) + (F * (U^T dU - dU^T U)) S + S (F * (V^T dV - dV^T V))] V^T
         + (I - U U^T) dU S^-1 V^T + U S^-1 dV^T (I - V V^T),
    F_ij = 1 / (s_j^2 - s_i^2) off the diagonal (terms of absent gradients are skipped,
    so singular values alone need no distinct or nonzero values)."""
    a = inputs[0]
    s, u, v = outputs
    ds, du, dv = dy
    m, n = _dims(a.shape)
    if attrs.get("full_matrices") and m != n:
        raise NotImplementedError("SVD gradient is not implemented for full_matrices=True "
                                  "with non-square matrices.")
    middle = diag(ds if ds is not None else array_ops.zeros_like(s))
    if not attrs.get("compute_uv", True):
        # Singular values alone need no gaps or inverses of them; u and v come from a
        # full decomposition, whose own rule gives the second derivatives.
        _, u, v = svd(a, full_matrices=attrs.get("full_matrices", False))
        du = dv = None
    if du is None and dv is None:
        return (_mm(u, _mm(middle, v, tb=True)),)
    s2 = math_ops.square(s)
    gaps = array_ops.expand_dims(s2, -2) - array_ops.expand_dims(s2, -1)
    f = set_diag(math_ops.reciprocal(set_diag(gaps, array_ops.ones_like(s))),
                 array_ops.zeros_like(s))
    s_row = array_ops.expand_dims(s, -2)
    s_inv = array_ops.expand_dims(math_ops.reciprocal(s), -2)
    grad = None
    if du is not None:
        utdu = _mm(u, du, ta=True)
        middle = middle + f * (utdu - matrix_transpose(utdu)) * s_row
        if m > n:       # U's columns do not span the space: the rest of dU counts too
            grad = _mm((du - _mm(u, utdu)) * s_inv, v, tb=True)
    if dv is not None:
        vtdv = _mm(v, dv, ta=True)
        middle = middle + matrix_transpose(s_row) * (f * (vtdv - matrix_transpose(vtdv)))
        if n > m:
            extra = _mm(u * s_inv, dv - _mm(v, vtdv), tb=True)
            grad = extra if grad is None else grad + extra
    core = _mm(u, _mm(middle, v, tb=True))
    return (core if grad is None else core + grad,)


_SVD = OpDef("Svd", _svd_kernel, _svd_grad, num_outputs=3, shape_fn=_svd_spec)


@tf_export("linalg.svd")
def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """Singular values (descending), and with `compute_uv` (s, u, v) such that
    `tensor = u @ diag(s) @ adjoint(v)` (note: v, not its adjoint, as TF returns)."""
    x = _matrix_input("Svd", tensor, square=False)
    attrs = {"full_matrices": bool(full_matrices)}
    if not compute_uv:
        attrs["compute_uv"] = False
    s, u, v = execute(_SVD, (x,), attrs)
    return (s, u, v) if compute_uv else s


# -- diagonals and bands -----------------------------------------------------------------

def _diag_len(rows, cols, k):
    return min(rows, cols - k) if k >= 0 else min(rows + k, cols)


def _diag_index(rows, cols, k):
    n = _diag_len(rows, cols, k)
    i = np.arange(max(n, 0))
    return (i, i + k) if k >= 0 else (i - k, i)


def _diag_kernel(diagonal, k, num_rows, num_cols, padding_value):
    out = np.full(diagonal.shape[:-1] + (num_rows, num_cols), padding_value, diagonal.dtype)
    rows, cols = _diag_index(num_rows, num_cols, k)
    out[..., rows, cols] = diagonal
    return out


def _diag_grad(inputs, outputs, attrs, dy):
    return (diag_part(dy, k=attrs["k"]),)


def _diag_spec(inputs, attrs):
    d = inputs[0]
    batch = [] if d.shape.rank is None else d.shape.as_list()[:-1]
    return [(TensorShape(batch + [attrs["num_rows"], attrs["num_cols"]]), d.dtype)]


_DIAG = OpDef("MatrixDiagV3", _diag_kernel, _diag_grad, shape_fn=_diag_spec)


def _scalar_k(k):
    k = getattr(k, "_value", k)
    if np.ndim(k) != 0:
        raise NotImplementedError("tapeflow's tf.linalg diagonal ops take one diagonal (an "
                                  f"integer k); got k={np.asarray(k).tolist()}")
    return int(k)


@tf_export("linalg.diag")
def diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0,
         align="RIGHT_LEFT"):
    """Matrices with `diagonal` on their k-th diagonal (k > 0 above the main one), the rest
    `padding_value`. The matrix is square unless `num_rows` / `num_cols` say otherwise."""
    d = as_input(diagonal)
    if d.shape.rank == 0:
        raise errors.op_error("MatrixDiagV3", "diagonal must be at least 1-dim, received shape: "
                              "[]")
    k = _scalar_k(k)
    length = d.shape.as_list()[-1]
    rows, cols = int(getattr(num_rows, "_value", num_rows)), int(getattr(num_cols, "_value",
                                                                         num_cols))
    if rows < 0 and cols < 0:
        rows = cols = length + abs(k)
    elif rows < 0:
        rows = length if k >= 0 else length - k
    elif cols < 0:
        cols = length + k if k >= 0 else length
    if _diag_len(rows, cols, k) != length:
        raise errors.op_error("MatrixDiagV3", f"The number of diagonal elements {length} does "
                              f"not fit diagonal {k} of a {rows}x{cols} matrix")
    pad = float(getattr(padding_value, "_value", padding_value))
    return execute(_DIAG, (d,), {"k": k, "num_rows": rows, "num_cols": cols,
                                 "padding_value": pad})


def _diag_part_kernel(x, k, padding_value):
    rows, cols = _diag_index(x.shape[-2], x.shape[-1], k)
    return x[..., rows, cols]


def _diag_part_grad(inputs, outputs, attrs, dy):
    rows, cols = _dims(inputs[0].shape)
    return (diag(dy, k=attrs["k"], num_rows=rows, num_cols=cols),)


def _diag_part_spec(inputs, attrs):
    x = inputs[0]
    rows, cols = _dims(x.shape)
    n = None if rows is None or cols is None else _diag_len(rows, cols, attrs["k"])
    return [(TensorShape(_batch(x.shape) + [n]), x.dtype)]


_DIAG_PART = OpDef("MatrixDiagPartV3", _diag_part_kernel, _diag_part_grad,
                   shape_fn=_diag_part_spec)


def _at_least_matrix(op_name, x, what="input"):
    x = as_input(x)
    if x.shape.rank is not None and x.shape.rank < 2:
        raise errors.op_error(op_name, f"{what} must be at least 2-dim, received shape: "
                              f"{x.shape.as_list()}")
    return x


def _check_k(op_name, x, k):
    rows, cols = _dims(x.shape)
    if rows is not None and cols is not None and not -rows < k < cols:
        raise errors.op_error(op_name, f"lower_diag_index is out of bound: {k}. It must be "
                              f"between {-rows} and {cols}")


@tf_export("linalg.diag_part")
def diag_part(input, name="diag_part", k=0, padding_value=0, align="RIGHT_LEFT"):
    """The k-th diagonal of each matrix (k > 0 above the main one)."""
    x = _at_least_matrix("MatrixDiagPartV3", input)
    k = _scalar_k(k)
    _check_k("MatrixDiagPartV3", x, k)
    return execute(_DIAG_PART, (x,), {"k": k, "padding_value": padding_value})


def _set_diag_kernel(x, diagonal, k):
    out = x.copy()
    rows, cols = _diag_index(x.shape[-2], x.shape[-1], k)
    out[..., rows, cols] = diagonal
    return out


def _set_diag_grad(inputs, outputs, attrs, dy):
    k = attrs["k"]
    return set_diag(dy, array_ops.zeros_like(inputs[1]), k=k), diag_part(dy, k=k)


_SET_DIAG = OpDef("MatrixSetDiagV3", _set_diag_kernel, _set_diag_grad, shape_fn=_same_spec)


@tf_export("linalg.set_diag")
def set_diag(input, diagonal, name="set_diag", k=0, align="RIGHT_LEFT"):
    """`input` with its k-th diagonal replaced by `diagonal`."""
    x = _at_least_matrix("MatrixSetDiagV3", input)
    d = as_input(diagonal, x.dtype)
    k = _scalar_k(k)
    rows, cols = _dims(x.shape)
    if rows is not None and cols is not None and d.shape.rank is not None:
        want = _batch(x.shape) + [_diag_len(rows, cols, k)]
        if d.shape.as_list() != want:
            raise errors.op_error("MatrixSetDiagV3", f"diagonal must have shape {want} to fit "
                                  f"diagonal {k} of input of shape {x.shape.as_list()}; got "
                                  f"{d.shape.as_list()}")
    return execute(_SET_DIAG, (x, d), {"k": k})


def _band_mask(rows, cols, num_lower, num_upper):
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    keep = np.ones((rows, cols), bool)
    if num_lower >= 0:
        keep &= (i - j) <= num_lower
    if num_upper >= 0:
        keep &= (j - i) <= num_upper
    return keep


def _band_part_kernel(x, num_lower, num_upper):
    return np.where(_band_mask(x.shape[-2], x.shape[-1], num_lower, num_upper), x,
                    np.zeros((), x.dtype))


def _band_part_grad(inputs, outputs, attrs, dy):
    return (band_part(dy, attrs["num_lower"], attrs["num_upper"]),)


_BAND_PART = OpDef("MatrixBandPart", _band_part_kernel, _band_part_grad, shape_fn=_same_spec)


@tf_export("linalg.band_part")
def band_part(input, num_lower, num_upper, name=None):
    """Keeps `num_lower` diagonals below the main one and `num_upper` above (-1: all)."""
    x = _at_least_matrix("MatrixBandPart", input)
    lower = int(getattr(num_lower, "_value", num_lower))
    upper = int(getattr(num_upper, "_value", num_upper))
    return execute(_BAND_PART, (x,), {"num_lower": lower, "num_upper": upper})


@tf_export("linalg.trace")
def trace(x, name=None):
    """The sum of each matrix's main diagonal."""
    return reduce_ops.reduce_sum(diag_part(x), axis=-1)


@tf_export("linalg.matvec")
def matvec(a, b, transpose_a=False, adjoint_a=False, a_is_sparse=False, b_is_sparse=False,
           name=None):
    """Matrix-vector products `a @ b` over the last axes (batched)."""
    b = as_input(b)
    return array_ops.squeeze(math_ops.matmul(a, array_ops.expand_dims(b, -1),
                                             transpose_a=transpose_a, adjoint_a=adjoint_a), -1)
