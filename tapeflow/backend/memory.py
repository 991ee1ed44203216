"""Keeping freed array memory in the process (glibc malloc tuning).

A training step allocates and frees the same large arrays every time
(activations, patches, gradients: MBs each). glibc's malloc gives big
blocks back to the kernel when they are freed (mmap'd blocks at once, the
top of the heap past a trim threshold), so the next step's allocation of
the same size page-faults again, and the kernel zeroes every page: measured
on the seed CNN step at batch 32, ~6,300 page faults and 30-37 ms of system
CPU time per step, about a third of the step's CPU. With the thresholds
below the memory stays in the process and is reused: ~1 fault and 0.1 ms
of system time per step.

`tune()` sets, once per process: M_MMAP_THRESHOLD to glibc's maximum
(32 MiB: smaller blocks come from the heap, whose freed memory is reused)
and M_TRIM_THRESHOLD to 2 GiB, the largest mallopt takes (freed heap
memory is not handed back below that). The
cost is that the process keeps its peak heap size, as the caching
allocators of other frameworks do. `TAPEFLOW_MALLOC_TUNE=0` leaves malloc
alone; on other C libraries it does nothing.

Example:
    >>> from tapeflow.backend import memory
    >>> memory.tune() in (True, False)
    True
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20        # glibc's upper limit for this setting on 64-bit
TRIM_THRESHOLD = 2**31 - 1      # mallopt takes an int

_done = {"result": None}


def tune() -> bool:
    """Applies the malloc settings once; True when they are in force."""
    if _done["result"] is not None:
        return _done["result"]
    ok = False
    if (sys.platform.startswith("linux")
            and os.environ.get("TAPEFLOW_MALLOC_TUNE", "1").lower() not in ("0", "false", "no")):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
            ok = bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and ok
        except (OSError, AttributeError):
            ok = False
    _done["result"] = ok
    return ok
