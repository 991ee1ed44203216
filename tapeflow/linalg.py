"""`tf.linalg` (re-exports of what tapeflow implements)."""
from tapeflow.ops.array_ops import eye  # noqa: F401
from tapeflow.ops.clip_ops import global_norm  # noqa: F401
from tapeflow.ops.einsum_ops import einsum  # noqa: F401
from tapeflow.ops.linalg_extra import lstsq, norm, pinv  # noqa: F401
from tapeflow.ops.linalg_ops import (  # noqa: F401
    adjoint,
    band_part,
    cholesky,
    cholesky_solve,
    det,
    diag,
    diag_part,
    eigh,
    eigvalsh,
    inv,
    logdet,
    matrix_transpose,
    matvec,
    qr,
    set_diag,
    slogdet,
    solve,
    svd,
    trace,
    triangular_solve,
)
from tapeflow.ops.math_ops import matmul, tensordot  # noqa: F401
from tapeflow.ops.nn_ops import l2_normalize  # noqa: F401
