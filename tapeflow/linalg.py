"""`tf.linalg`: the matrix functions tapeflow implements.

Filled with the functions that declare a 'linalg.*' name where they are defined
(see `framework/api_export.py`); the imports below load the modules that declare them.
"""
from tapeflow import _api
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

globals().update(_api.namespace("linalg"))
