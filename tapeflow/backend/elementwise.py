"""Large elementwise passes split over the kernel pool (`blas.parallel`).

A ReLU or its gradient over a batch of convolution activations (a few million
floats) is a memory-bound pass that NumPy runs on one thread. Over
`MIN_ELEMENTS` elements, and when the pool has more than one thread, the pass
is cut into blocks that the pool's threads take in turn (NumPy's loops release
the GIL), so both cores stream memory; smaller arrays run as one NumPy call.
The arithmetic per element is unchanged: results are bit for bit the single
call's.

    >>> import numpy as np
    >>> relu_grad(np.array([1., 2., 3.], np.float32), np.array([0., -1., 5.], np.float32))
    array([0., 0., 3.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.backend import blas, jit

MIN_ELEMENTS = 1 << 18     # ~1 MB of float32: below, a thread hand-off costs more than it saves


def _split(body, n):
    """body(i0, i1) over blocks covering range(n): two per pool thread, so that a thread
    held up by another process leaves its second block to the others."""
    parts = blas.pool_size()
    if parts < 2 or n < 2:
        body(0, n)
        return
    blas.parallel([lambda i0=i0, i1=i1: body(i0, i1) for i0, i1 in blas.blocks(n, 2 * parts)])


def _views(*arrays):
    """Views of same-shape arrays to split alike: flat when all are C-contiguous, else as
    they are (split along the first axis)."""
    if all(a.flags.c_contiguous for a in arrays):
        return [a.reshape(-1) for a in arrays]
    return list(arrays)


def _large(a) -> bool:
    return a.size >= MIN_ELEMENTS and a.ndim > 0 and blas.pool_size() > 1


def relu_grad(dy, y, out=None):
    """dy * (y > 0), as TF's ReluGrad (a NaN in dy where y <= 0 gives NaN); `out` may be dy."""
    if not _large(dy) or dy.shape != y.shape:
        return np.multiply(dy, y > 0, out=out)
    if out is None:
        out = np.empty(dy.shape, np.result_type(dy.dtype, np.bool_))
    d, m, o = _views(dy, y, out)
    _split(lambda i0, i1: relu_grad_block(d[i0:i1], m[i0:i1], o[i0:i1]), len(d))
    return out


def relu_grad_block(dy, y, out):
    """`relu_grad` of one block, on the calling thread (a pool task, or an epilogue):
    numba's one-pass loop over contiguous float blocks when numba is already loaded
    (this never loads it), else NumPy's multiply."""
    k = jit.current()
    if (k is not None and dy.dtype == y.dtype == out.dtype and dy.dtype.kind == "f"
            and dy.shape == y.shape == out.shape
            and dy.flags.c_contiguous and y.flags.c_contiguous and out.flags.c_contiguous):
        k.relu_grad(out.reshape(-1), dy.reshape(-1), y.reshape(-1), dy.dtype.type(0))
        return out
    return np.multiply(dy, y > 0, out=out)


def relu(x, out=None):
    """max(x, 0) (NaN stays NaN); `out` may be x."""
    zero = np.zeros((), x.dtype)
    if not _large(x):
        return np.maximum(x, zero, out=out)
    if out is None:
        out = np.empty_like(x)
    v, o = _views(x, out)
    _split(lambda i0, i1: np.maximum(v[i0:i1], zero, out=o[i0:i1]), len(v))
    return out
