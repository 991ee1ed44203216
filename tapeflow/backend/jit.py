"""Optional compiled kernels (numba), for the loops NumPy cannot fuse.

NumPy runs one ufunc at a time: a fused update such as Adam is a dozen
passes, each of which must finish before the next starts, and runs on one
core. Compiled with numba, the same update is one loop over memory, split
over both cores: measured on the seed CNN's 4.7M-parameter dense kernel, 2-3
ms against ~11 ms for the best blockwise NumPy (see docs/performance.md).

numba is optional. `kernels()` returns None when it is not installed, when
`TAPEFLOW_JIT=0`, or if compiling fails; callers then use their NumPy path.
numba is imported on first use, not with tapeflow, because importing it
takes ~0.5 s. Compiled code is cached on disk (`cache=True`), so later
processes load it in milliseconds.

Calls are serialised by a lock: numba's "workqueue" thread pool aborts the
process if two Python threads launch parallel kernels at once. Where numba
runs its loops on GNU OpenMP (its `omp` layer, the one found here),
`blas.openmp_env()` is applied before numba loads: an OpenMP thread that
spins after each update would take a core from the rest of the step.

Example:
    >>> from tapeflow.backend import jit
    >>> k = jit.kernels()    # None without numba
    >>> k is None or callable(k.adam)
    True
"""
from __future__ import annotations

import os
import threading

# Below this many elements the NumPy path wins: launching a parallel loop
# costs ~10-20 us.
MIN_SIZE = 1 << 16

_lock = threading.Lock()
_state = {"kernels": None, "tried": False, "threads": None}


def enabled() -> bool:
    return os.environ.get("TAPEFLOW_JIT", "1").lower() not in ("0", "false", "no", "off")


def kernels():
    """The compiled kernels (a namespace), or None when numba is unavailable or disabled."""
    if not enabled():
        return None
    if not _state["tried"]:
        with _lock:
            if not _state["tried"]:
                try:
                    _state["kernels"] = _build()
                except Exception:  # noqa: BLE001 -- no numba, or one that cannot compile here
                    _state["kernels"] = None
                _state["tried"] = True
    return _state["kernels"]


def current():
    """The compiled kernels if numba is already loaded, else None (never loads it)."""
    return _state["kernels"]


def set_num_threads(n: int) -> None:
    """Threads for the parallel loops (applied now if numba is loaded, else when it is)."""
    _state["threads"] = n
    k = _state["kernels"]
    if k is not None:
        k.set_threads(n)


def run(fn, *args) -> bool:
    """Calls a compiled kernel under the launch lock; False if numba could not compile it.

    numba compiles on the first call for each argument type, before touching
    the arrays, so a compile failure leaves them as they were: the compiled
    path is then switched off for the process and the caller runs its NumPy
    path instead.
    """
    k = _state["kernels"]
    with _lock:
        try:
            fn(*args)
        except k.compile_errors:
            _state["kernels"] = None
            return False
    return True


class _Kernels:
    pass


def _build():
    from tapeflow.backend import blas
    blas.openmp_env()              # numba's `omp` threading layer loads GNU OpenMP
    import numba
    import numpy as np
    from numba import njit, prange

    # Every scalar argument is passed as the arrays' dtype (np.float32): a
    # Python float would be a float64 in numba and promote the whole loop.
    opts = {"parallel": True, "nogil": True, "cache": True, "fastmath": False}

    k = _Kernels()
    k.adam, k.amsgrad = _adam_kernels(njit, prange, np, opts)
    k.sgd_momentum, k.rmsprop, k.adagrad = _other_kernels(njit, prange, np, opts)
    k.relu_grad = _relu_grad_kernel(njit)
    k.numba_version = numba.__version__
    k.compile_errors = (numba.core.errors.NumbaError, numba.core.errors.LoweringError)
    limit = numba.config.NUMBA_NUM_THREADS

    def set_threads(n):
        numba.set_num_threads(max(1, min(int(n), limit)))

    k.set_threads = set_threads
    if _state["threads"] is not None:
        set_threads(_state["threads"])
    return k


def _adam_kernels(njit, prange, np, opts):
    """Adam and its AMSGrad variant, one pass over memory each."""
    @njit(**opts)
    def adam(var, m, v, g, alpha, c1, c2, eps):
        for i in prange(var.size):
            gi = g[i]
            mi = m[i] + (gi - m[i]) * c1
            vi = v[i] + (gi * gi - v[i]) * c2
            m[i] = mi
            v[i] = vi
            var[i] -= alpha * mi / (np.sqrt(vi) + eps)

    @njit(**opts)
    def amsgrad(var, m, v, vhat, g, alpha, c1, c2, eps):
        for i in prange(var.size):
            gi = g[i]
            mi = m[i] + (gi - m[i]) * c1
            vi = v[i] + (gi * gi - v[i]) * c2
            m[i] = mi
            v[i] = vi
            vh = max(vhat[i], vi)
            vhat[i] = vh
            var[i] -= alpha * mi / (np.sqrt(vh) + eps)

    return adam, amsgrad


def _other_kernels(njit, prange, np, opts):
    """SGD with momentum, RMSprop and Adagrad, one pass over memory each."""
    @njit(**opts)
    def sgd_momentum(var, g, vel, lr, mom, nesterov):
        for i in prange(var.size):
            step = lr * g[i]
            ve = mom * vel[i] - step
            vel[i] = ve
            if nesterov:
                var[i] += mom * ve - step
            else:
                var[i] += ve

    @njit(**opts)
    def rmsprop(var, ms, g, mg, mom, lr, rho, c, momentum, eps, centered, use_mom):
        for i in prange(var.size):
            gi = g[i]
            msi = rho * ms[i] + c * (gi * gi)
            ms[i] = msi
            den = msi + eps
            if centered:
                mgi = rho * mg[i] + c * gi
                mg[i] = mgi
                den = msi - mgi * mgi + eps
            inc = lr * gi / np.sqrt(den)
            if use_mom:
                mo = momentum * mom[i] + inc
                mom[i] = mo
                var[i] -= mo
            else:
                var[i] -= inc

    @njit(**opts)
    def adagrad(var, acc, g, lr, eps):
        for i in prange(var.size):
            gi = g[i]
            a = acc[i] + gi * gi
            acc[i] = a
            var[i] -= lr * gi / np.sqrt(a + eps)

    return sgd_momentum, rmsprop, adagrad


def _relu_grad_kernel(njit):
    """dy * (y > 0) over 1-D contiguous blocks, one pass and no boolean temporary; serial
    and without the GIL, for `elementwise.relu_grad`'s blocks on the pool threads."""
    @njit(nogil=True, cache=True, fastmath=False)
    def relu_grad(out, dy, y, zero):
        for i in range(out.size):
            # dy * 0 where y <= 0 (not a plain 0): a NaN or inf in dy gives NaN, and a
            # negative dy gives -0.0, bit for bit as the multiply by (y > 0).
            out[i] = dy[i] if y[i] > zero else dy[i] * zero
    return relu_grad
