"""Matrix products on all cores that keep going when the machine is busy.

NumPy's OpenBLAS splits each product statically over its threads, which
meet at a barrier after each block. When other processes keep the cores
busy, one of those threads is regularly descheduled and the others spin
waiting for it: measured on the 2-core machine with other jobs running, the
seed CNN's step took ~1.0 s with 2 OpenBLAS threads and ~0.27 s with 1,
while on a quiet machine 2 threads make the products ~1.8x faster.

So by default (`TAPEFLOW_BLAS_THREADS=auto`) tapeflow does the splitting
itself: OpenBLAS runs single-threaded, and `parallel(tasks)` hands a
product's (or a convolution's) row blocks to a small pool -- the calling
thread plus one worker per extra core -- that take blocks from a shared
counter until none are left. A descheduled thread then delays only its own
block; whoever runs takes the rest (measured: conv GEMM under load, median
20-31 ms pooled against 38-45 ms for OpenBLAS's own two threads).

`tick()`, called by the kernels, also looks every `INTERVAL` seconds at how
much CPU the *other* processes use (busy time in /proc/stat minus this
process's CPU time) and runs numba's parallel loops (statically split too)
on one thread while that exceeds half a core.

`TAPEFLOW_BLAS_THREADS=N` gives OpenBLAS N threads of its own instead, with
no pool. Without a recognisable OpenBLAS the pool is not used.

Example:
    >>> import numpy as np
    >>> from tapeflow.backend import blas
    >>> a = np.ones((512, 64), np.float32); b = np.ones((64, 256), np.float32)
    >>> bool((matmul(a, b) == 64).all())
    True
"""
from __future__ import annotations

import ctypes
import glob
import itertools
import os
import queue
import threading
import time

import numpy as np

COLUMN_BLOCK = 1024      # result columns per block when a product is split by columns
INTERVAL = 0.25          # seconds between two looks at the machine's load
BUSY_CORES = 0.5         # others' CPU use (in cores) above which we go single-threaded

_NCPU = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

_lib = {"tried": False, "set": None, "get": None}
# "mode": TAPEFLOW_BLAS_THREADS as last read by tick(), so a product does not read os.environ.
_auto = {"next": 0.0, "prev": None, "threads": None, "mode": None}


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
        except (OSError, AttributeError, ValueError):
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


# -- the pool ---------------------------------------------------------------------------

# Products below this many flops run as one call: ~20 us of hand-off per block
# would cost more than the second core gains.
MIN_FLOPS = 16e6


class _Job:
    """Tasks taken from a shared counter by every participant until none is left."""

    __slots__ = ("done", "error", "left", "lock", "next", "tasks")

    def __init__(self, tasks):
        self.tasks = tasks
        self.next = itertools.count()      # next() on a count is atomic under the GIL
        self.left = len(tasks)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.error = None

    def work(self):
        n = len(self.tasks)
        while True:
            i = next(self.next)
            if i >= n:
                return
            try:
                self.tasks[i]()
            except BaseException as e:  # noqa: BLE001 -- re-raised in the caller
                self.error = e
            with self.lock:
                self.left -= 1
                if self.left == 0:
                    self.done.set()


class _Pool:
    def __init__(self, workers):
        self.workers = workers
        self.queue = queue.SimpleQueue()
        self.started = False
        self.lock = threading.Lock()

    def _start(self):
        with self.lock:
            if not self.started:
                for _ in range(self.workers):
                    threading.Thread(target=self._loop, daemon=True,
                                     name="tapeflow-blas").start()
                self.started = True

    def _loop(self):
        _in_worker.yes = True
        while True:
            self.queue.get().work()

    def run(self, tasks):
        if len(tasks) == 1 or self.workers == 0:
            for t in tasks:
                t()
            return
        if not self.started:
            self._start()
        job = _Job(tasks)
        for _ in range(min(self.workers, len(tasks) - 1)):
            self.queue.put(job)
        job.work()
        job.done.wait()
        if job.error is not None:
            raise job.error


_pool = {"pool": None, "pid": None, "blas1": False}
_in_worker = threading.local()        # .yes on the pool's worker threads


def pool_size():
    """Threads that share a product's blocks (1: no pool, OpenBLAS splits alone)."""
    mode = _auto["mode"]
    if mode is None:
        mode = _auto["mode"] = _mode()
    if mode != "auto" or _NCPU < 2 or not _ensure():
        return 1
    return _NCPU


def _get_pool():
    p = _pool["pool"]
    if p is None or _pool["pid"] != os.getpid():          # threads do not survive fork
        p = _pool["pool"] = _Pool(_NCPU - 1)
        _pool["pid"] = os.getpid()
        _pool["blas1"] = False
    if not _pool["blas1"]:
        _lib["set"](1)                                    # blocks run single-threaded BLAS
        _pool["blas1"] = True
    return p


class _Async:
    """A call running on a pool worker; `wait()` returns its result or raises its error."""

    __slots__ = ("args", "done", "error", "fn", "result")

    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.result = self.error = None
        self.done = threading.Event()

    def work(self):                       # the pool queue's protocol (as _Job.work)
        try:
            _one_numba_thread()
            self.result = self.fn(*self.args)
        except BaseException as e:  # noqa: BLE001 -- re-raised by wait()
            self.error = e
        self.args = None
        self.done.set()

    def wait(self):
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result


class _Done(_Async):
    """An `_Async` that ran on the calling thread (no pool)."""

    def __init__(self, fn, args):
        super().__init__(fn, args)
        try:
            self.result = fn(*args)
        except BaseException as e:  # noqa: BLE001 -- re-raised by wait()
            self.error = e
        self.args = None
        self.done.set()


def _one_numba_thread():
    # numba's thread count is per calling thread: a call beside the main thread's work
    # runs its parallel loops on one thread (the other core is busy).
    from tapeflow.backend import jit
    k = jit.current()
    if k is not None:
        k.set_threads(1)


def submit(fn, *args):
    """Starts fn(*args) on a pool worker and returns a handle (`handle.wait()` -> result).

    The caller goes on with its own work; blocks it hands to `parallel` meanwhile run on
    the calling thread until the worker is free again (it then takes the blocks still
    left). Without a pool the call runs now, on the calling thread.
    """
    if pool_size() < 2:
        return _Done(fn, args)
    pool = _get_pool()
    if not pool.started:
        pool._start()
    job = _Async(fn, args)
    pool.queue.put(job)
    return job


def parallel(tasks):
    """Runs the callables in `tasks` (each releasing the GIL in NumPy/BLAS) on the pool."""
    if len(tasks) > 1 and pool_size() > 1:
        _get_pool().run(tasks)
    else:
        for t in tasks:
            t()


def blocks(n, parts):
    """`parts` near-equal (start, stop) ranges covering range(n) (fewer when n is small)."""
    parts = max(1, min(parts, n))
    step = -(-n // parts)
    return [(i, min(i + step, n)) for i in range(0, n, step)]


_ALL = slice(None)


def matmul(a, b, out=None, product=None, epilogue=None):
    """a @ b for 2-D arrays, split into blocks over the pool when it is large.

    Rows of the result when there are many, else a split of the inner
    dimension with partial products summed (one (m, n) buffer per block) when
    it dominates, else columns. Each block is `product(a_block, b_block,
    out=out_block)` (default np.matmul, i.e. OpenBLAS). `epilogue(block, rows,
    cols)`, when given, runs on each finished block of the result (rows and
    cols: the block's slices of the whole result) on the thread that made it,
    while the block is still in cache; with an inner-dimension split, once on
    the summed result.
    """
    tick()
    if a.ndim != 2 or b.ndim != 2:
        return _finish(np.matmul(a, b, out=out), epilogue)
    m, k = a.shape
    n = b.shape[1]
    if 2.0 * m * k * n < MIN_FLOPS or k != b.shape[0]:
        return _finish(np.matmul(a, b, out=out), epilogue)
    mm = product or _large_product(a, b, out)
    size = pool_size()
    if size < 2:
        return _finish(mm(a, b, out=out), epilogue)
    dtype = np.result_type(a, b)
    if out is None:
        out = np.empty((m, n), dtype)
    parts = 2 * size
    if m >= parts * 64:
        regions = [(slice(i, j), _ALL) for i, j in blocks(m, parts)]
    elif k >= 4 * max(m, n):
        rng = blocks(k, parts)
        part = np.empty((len(rng), m, n), dtype)
        tasks = [lambda t=t, i=i, j=j: mm(a[:, i:j], b[i:j], out=part[t])
                 for t, (i, j) in enumerate(rng)]
        parallel(tasks)
        return _finish(np.sum(part, axis=0, out=out), epilogue)
    else:
        # Columns in blocks of about COLUMN_BLOCK: each block's share of `b` and of the
        # result then stays in the core's cache while it is made (measured on the seed
        # CNN's dense input gradient, 128 x 128 by 128 x 36864: 6.9-7.3 ms against 7.5
        # for four blocks, docs/performance.md).
        regions = [(_ALL, slice(i, j))
                   for i, j in blocks(n, max(parts, n // COLUMN_BLOCK))]

    def task(rows, cols):
        block = out[rows, cols]
        mm(a[rows], b[:, cols], out=block)
        if epilogue is not None:
            epilogue(block, rows, cols)
    parallel([lambda r=r, c=c: task(r, c) for r, c in regions])
    return out


def _finish(out, epilogue):
    if epilogue is not None:
        epilogue(out, _ALL, _ALL)
    return out


def _large_product(a, b, out):
    """oneDNN's matmul when it takes these arrays (measured 10-20% faster than OpenBLAS on the
    seed CNN's dense products, docs/performance.md), else np.matmul."""
    from tapeflow.backend import onednn
    return onednn.matmul if onednn.matmul_ok(a, b, out) else np.matmul


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
    """Cheap (one clock read) between looks; every INTERVAL s re-decides the thread count.

    Only threads other than the pool's workers decide: a worker running a submitted
    update keeps numba on one thread (its count is per thread)."""
    if getattr(_in_worker, "yes", False):
        return
    now = time.monotonic()
    if now < _auto["next"]:
        return
    _auto["next"] = now + INTERVAL
    mode = _auto["mode"] = _mode()
    if mode != "auto":
        if _auto["threads"] != mode:
            _auto["threads"] = mode
            _pool["blas1"] = False
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
        if pool_size() > 1:
            _set_numba_threads(want)      # OpenBLAS stays single-threaded under the pool
        else:
            set_num_threads(want)


def openmp_env() -> None:
    """Makes waiting OpenMP threads sleep (OMP_WAIT_POLICY=passive) unless the user chose.

    GNU OpenMP reads this once, when it is loaded, so it is called before the
    libraries that bring it in: numba (whose parallel loops run on its `omp`
    threading layer when that is available) and oneDNN. By default an idle
    OpenMP thread spins for a while after each parallel region, taking a core
    from tapeflow's pool and from the other processes on a shared machine.
    Measured on the seed CNN step (batch 32, NumPy kernels, numba Adam, load
    2.4-3.1 on 2 cores): OMP_WAIT_POLICY=active 146 ms/step, passive 60-66.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")


def set_intra_op_parallelism_threads(n: int) -> None:
    """`tf.config.threading.set_intra_op_parallelism_threads`: 0 = tapeflow decides (the pool).

    n > 0 gives OpenBLAS (and numba) n threads of their own, without the pool.
    """
    os.environ["TAPEFLOW_BLAS_THREADS"] = str(int(n)) if int(n) > 0 else "auto"
    _reset_auto()
    tick()


def get_intra_op_parallelism_threads() -> int:
    """The count set by `set_intra_op_parallelism_threads` (0 when tapeflow decides)."""
    mode = _mode()
    return 0 if mode == "auto" else mode


def _reset_auto():
    _auto.update(next=0.0, prev=None, threads=None, mode=None)
