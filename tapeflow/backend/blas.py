"""BLAS thread count: set it, and adapt it to how busy the machine is.

NumPy's OpenBLAS runs every matrix product on all cores, and its threads
meet at a barrier after each block of work. When other processes keep the
cores busy, one of our threads is regularly descheduled and the others spin
waiting for it: measured on the 2-core machine with other jobs running, the
seed CNN's step took ~1.0 s with 2 BLAS threads and ~0.27 s with 1 (on a
quiet machine 2 threads make the products ~1.8x faster). So by default
(`TAPEFLOW_BLAS_THREADS=auto`) `tick()`, called by the kernels before their
products, looks every `INTERVAL` seconds at how much CPU time the *other*
processes used (system busy time from /proc/stat minus this process's own
CPU time) and runs BLAS, and numba's parallel loops, on one thread while
they take more than half a core, on all cores otherwise.

`TAPEFLOW_BLAS_THREADS=N` fixes the count instead. Without /proc (not
Linux) or without a recognisable OpenBLAS, nothing changes.

Example:
    >>> from tapeflow.backend import blas
    >>> n = blas.get_num_threads()    # None when the BLAS cannot be controlled
    >>> n is None or n >= 1
    True
"""
from __future__ import annotations

import ctypes
import glob
import os
import time

import numpy as np

INTERVAL = 0.25          # seconds between two looks at the machine's load
BUSY_CORES = 0.5         # others' CPU use (in cores) above which we go single-threaded

_NCPU = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

_lib = {"tried": False, "set": None, "get": None}
_auto = {"next": 0.0, "prev": None, "threads": None}


def _find_openblas():
    """(set_num_threads, get_num_threads) of the OpenBLAS NumPy loaded, or (None, None)."""
    base = os.path.dirname(np.__file__)
    candidates = glob.glob(os.path.join(base, "..", "numpy.libs", "*openblas*.so*"))
    candidates += glob.glob(os.path.join(base, ".libs", "*openblas*.so*"))
    names = [("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
             ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
             ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
             ("openblas_set_num_threads", "openblas_get_num_threads")]
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)   # already loaded by NumPy: this finds the same copy
        except OSError:
            continue
        for set_name, get_name in names:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter
    return None, None


def _ensure():
    if not _lib["tried"]:
        _lib["tried"] = True
        try:
            _lib["set"], _lib["get"] = _find_openblas()
        except Exception:
            _lib["set"] = _lib["get"] = None
    return _lib["set"] is not None


def get_num_threads():
    """OpenBLAS's current thread count, or None when it cannot be controlled."""
    return _lib["get"]() if _ensure() else None


def set_num_threads(n: int) -> bool:
    """Sets BLAS (and numba's) thread count; False when the BLAS cannot be controlled."""
    n = max(1, int(n))
    _set_numba_threads(n)
    if not _ensure():
        return False
    _lib["set"](n)
    return True


def _set_numba_threads(n):
    from tapeflow.backend import jit
    jit.set_num_threads(n)


def _mode():
    v = os.environ.get("TAPEFLOW_BLAS_THREADS", "auto").strip().lower()
    if v in ("", "auto"):
        return "auto"
    try:
        return max(1, int(v))
    except ValueError:
        return "auto"


def _system_busy():
    """Jiffies all CPUs spent busy since boot (from /proc/stat's first line)."""
    with open("/proc/stat", "rb") as f:
        fields = f.readline().split()[1:]
    vals = [int(v) for v in fields[:8]]
    return sum(vals) - vals[3] - vals[4]          # minus idle and iowait


_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tick():
    """Cheap (one clock read) between looks; every INTERVAL s re-decides the thread count."""
    now = time.monotonic()
    if now < _auto["next"]:
        return
    _auto["next"] = now + INTERVAL
    mode = _mode()
    if mode != "auto":
        if _auto["threads"] != mode:
            _auto["threads"] = mode
            set_num_threads(mode)
        return
    if _NCPU < 2:
        return
    try:
        busy = _system_busy() / _HZ
    except (OSError, ValueError, IndexError):
        _auto["next"] = float("inf")                 # no /proc/stat: leave BLAS as it is
        return
    t = os.times()
    own = t.user + t.system                       # all of this process's threads
    prev, _auto["prev"] = _auto["prev"], (busy, own, now)
    if prev is None:
        return
    dt = now - prev[2]
    if dt <= 0:
        return
    others = ((busy - prev[0]) - (own - prev[1])) / dt
    want = 1 if others > BUSY_CORES else _NCPU
    if want != _auto["threads"]:
        _auto["threads"] = want
        set_num_threads(want)


def _reset_auto():
    _auto.update(next=0.0, prev=None, threads=None)
