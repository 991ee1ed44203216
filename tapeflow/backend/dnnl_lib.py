"""Loading oneDNN's C library (libdnnl.so.3) with ctypes, and the few C calls tapeflow uses.

oneDNN is optional. The pip wheel `onednn-cpu-gomp` (oneDNN v3.2, CPU only,
threaded with the system's GNU OpenMP) installs `libdnnl.so.3` under
`<sys.prefix>/lib`: there is no Python module to import, so `load()` looks
there (and in the usual library path). `load()` returns None when the
library is missing, unloadable, older than v3, or when `TAPEFLOW_ONEDNN=0`;
callers then use the NumPy kernels.

OpenMP is arranged before the library loads, because GNU OpenMP reads its
settings once, when it is loaded: `OMP_WAIT_POLICY=passive` (unless the user
set one) makes an OpenMP thread that waits for work sleep instead of
spinning, so it does not take a core from OpenBLAS or the other process
holding it. tapeflow runs oneDNN's primitives one OpenMP thread per calling
thread by default (see `onednn.py`), and then no OpenMP team exists at all.

This module holds only the C-level plumbing: status checks, memory
descriptors, primitive descriptors, primitives and memory objects. The
kernels are in `onednn.py`.

Example:
    >>> from tapeflow.backend import dnnl_lib
    >>> lib = dnnl_lib.load()
    >>> lib is None or lib.version >= (3, 0)
    True
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading

# Values from oneDNN v3.2's dnnl_types.h / dnnl_common_types.h (stable in the v3 ABI).
F32 = 3
TAG_ANY = 1
TAG_A = 2
TAG_AB = 3
TAG_BA = 14
TAG_NHWC = 22            # dnnl_acdb: logical (N, C, H, W) stored N, H, W, C
TAG_HWIO = 28            # dnnl_cdba: logical (O, I, H, W) stored H, W, I, O
FORWARD_TRAINING = 64
FORWARD_INFERENCE = 96
CONV_DIRECT = 1
ELTWISE_RELU = 32
ENGINE_CPU = 1
STREAM_DEFAULT = 1
SCRATCHPAD_USER = 1
Q_SRC, Q_DIFF_SRC, Q_WEIGHTS, Q_DIFF_WEIGHTS = 129, 130, 131, 132
Q_DST, Q_DIFF_DST, Q_SCRATCHPAD = 133, 134, 136
Q_IMPL_INFO = 8
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
ARG_SCRATCHPAD = 80
ARG_FROM, ARG_TO = 1, 17
MAX_NDIMS = 12

Dims = ctypes.c_int64 * MAX_NDIMS
_p = ctypes.c_void_p


class ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", _p)]


class DnnlError(RuntimeError):
    """A oneDNN call returned an error status (the call and the status are named)."""


_STATUS = {1: "out_of_memory", 2: "invalid_arguments", 3: "unimplemented",
           5: "runtime_error", 6: "not_required"}

# name -> argument types; every function returns a dnnl_status_t unless listed in _RESTYPES.
_SIGNATURES = {
    "dnnl_engine_create": [_p, ctypes.c_int, ctypes.c_size_t],
    "dnnl_stream_create": [_p, _p, ctypes.c_uint],
    "dnnl_memory_desc_create_with_tag": [_p, ctypes.c_int, Dims, ctypes.c_int, ctypes.c_int],
    "dnnl_memory_desc_create_with_strides": [_p, ctypes.c_int, Dims, ctypes.c_int, Dims],
    "dnnl_memory_desc_destroy": [_p],
    "dnnl_memory_desc_get_size": [_p],
    "dnnl_memory_desc_equal": [_p, _p],
    "dnnl_primitive_attr_create": [_p],
    "dnnl_primitive_attr_destroy": [_p],
    "dnnl_primitive_attr_set_scratchpad_mode": [_p, ctypes.c_int],
    "dnnl_primitive_attr_set_post_ops": [_p, _p],
    "dnnl_post_ops_create": [_p],
    "dnnl_post_ops_destroy": [_p],
    "dnnl_post_ops_append_eltwise": [_p, ctypes.c_int, ctypes.c_float, ctypes.c_float],
    "dnnl_convolution_forward_primitive_desc_create": [
        _p, _p, ctypes.c_int, ctypes.c_int, _p, _p, _p, _p, Dims, Dims, Dims, Dims, _p],
    "dnnl_convolution_backward_data_primitive_desc_create": [
        _p, _p, ctypes.c_int, _p, _p, _p, Dims, Dims, Dims, Dims, _p, _p],
    "dnnl_convolution_backward_weights_primitive_desc_create": [
        _p, _p, ctypes.c_int, _p, _p, _p, _p, Dims, Dims, Dims, Dims, _p, _p],
    "dnnl_matmul_primitive_desc_create": [_p, _p, _p, _p, _p, _p, _p],
    "dnnl_reorder_primitive_desc_create": [_p, _p, _p, _p, _p, _p],
    "dnnl_primitive_desc_query_md": [_p, ctypes.c_int, ctypes.c_int],
    "dnnl_primitive_desc_query": [_p, ctypes.c_int, ctypes.c_int, _p],
    "dnnl_primitive_desc_destroy": [_p],
    "dnnl_primitive_create": [_p, _p],
    "dnnl_primitive_destroy": [_p],
    "dnnl_primitive_execute": [_p, _p, ctypes.c_int, _p],
    "dnnl_memory_create": [_p, _p, _p, _p],
    "dnnl_memory_set_data_handle": [_p, _p],
    "dnnl_memory_destroy": [_p],
    "dnnl_version": [],
}
_RESTYPES = {"dnnl_primitive_desc_query_md": _p, "dnnl_memory_desc_get_size": ctypes.c_size_t,
             "dnnl_memory_desc_equal": ctypes.c_int, "dnnl_version": _p}


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                ("gpu_runtime", ctypes.c_uint)]


def enabled() -> bool:
    """False when `TAPEFLOW_ONEDNN` is 0/false/no/off (the NumPy kernels run instead)."""
    return os.environ.get("TAPEFLOW_ONEDNN", "1").strip().lower() not in ("0", "false", "no",
                                                                          "off")


def candidates():
    """Paths tried for libdnnl, most specific first (the wheel's `<prefix>/lib`)."""
    seen, out = set(), []
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix):
        for name in ("libdnnl.so.3", "libdnnl.so"):
            path = os.path.join(prefix, "lib", name)
            if path not in seen:
                seen.add(path)
                out.append(path)
    found = ctypes.util.find_library("dnnl")
    if found:
        out.append(found)
    return out


class Lib:
    """The loaded library: its C functions as attributes, a CPU engine, per-thread streams."""

    def __init__(self, cdll, path):
        self.path = path
        for name, argtypes in _SIGNATURES.items():
            fn = getattr(cdll, name)
            fn.argtypes = argtypes
            fn.restype = _RESTYPES.get(name, ctypes.c_int)
            setattr(self, name[5:], fn)            # "dnnl_primitive_create" -> primitive_create
        v = ctypes.cast(self.version(), ctypes.POINTER(_Version)).contents
        self.version = (v.major, v.minor, v.patch)
        self.engine = _p()
        check(self.engine_create(ctypes.byref(self.engine), ENGINE_CPU, 0), "engine_create")
        self._local = threading.local()
        self.omp = _load_omp()

    def stream(self):
        """This thread's stream (oneDNN streams are not shared between threads here)."""
        s = getattr(self._local, "stream", None)
        if s is None:
            s = _p()
            check(self.stream_create(ctypes.byref(s), self.engine, STREAM_DEFAULT),
                  "stream_create")
            self._local.stream = s
        return s

    def set_threads(self, n):
        """OpenMP threads for primitives this thread creates and runs (a per-thread setting).

        Set at every call, never remembered: numba's `set_num_threads` (run by
        `blas.tick()` as the load changes) sets the same per-thread OpenMP value, and a
        primitive created or run after it would get numba's count. That happened: on a
        quiet machine numba went to 2 threads, primitives created afterwards (the fused
        plan's) each ran a 2-thread OpenMP team inside every pool block, 4 threads on 2
        cores: the conv2 filter gradient's blocks took 8-9 ms instead of 1.7.
        """
        if self.omp is not None:
            self.omp(int(n))


def _load_omp():
    try:
        lib = ctypes.CDLL("libgomp.so.1")      # the copy libdnnl linked against
        fn = lib.omp_set_num_threads
        fn.argtypes, fn.restype = [ctypes.c_int], None
        return fn
    except (OSError, AttributeError):
        return None


def check(status, what):
    if status != 0:
        raise DnnlError(f"oneDNN {what} failed: {_STATUS.get(status, status)}")


_state = {"lib": None, "tried": False, "pid": None}
_lock = threading.Lock()


def load():
    """The loaded library (a `Lib`), or None: not installed, unusable, or TAPEFLOW_ONEDNN=0."""
    if not enabled():
        return None
    if _state["tried"] and _state["pid"] == os.getpid():
        return _state["lib"]
    with _lock:
        if not (_state["tried"] and _state["pid"] == os.getpid()):
            _state["lib"] = _load()
            _state["tried"], _state["pid"] = True, os.getpid()
    return _state["lib"]


def _load():
    if not sys.platform.startswith("linux"):
        return None
    from tapeflow.backend import blas
    blas.openmp_env()          # before libgomp loads with libdnnl
    for path in candidates():
        if not os.path.isabs(path) or os.path.exists(path):
            try:
                lib = Lib(ctypes.CDLL(path), path)
            except (OSError, AttributeError, DnnlError):
                continue
            if lib.version >= (3, 0):
                return lib
    return None


def dims(values):
    d = Dims()
    for i, v in enumerate(values):
        d[i] = int(v)
    return d


def memory_desc(lib, shape, tag=None, strides=None):
    """A float32 memory descriptor (owned by the caller: destroy with `lib.memory_desc_destroy`).

    Args:
        shape: logical dims (oneDNN order: N, C, H, W for data; O, I, H, W for filters).
        tag: a format tag (TAG_*), or None with `strides` (in elements).
    """
    md = _p()
    if strides is None:
        check(lib.memory_desc_create_with_tag(ctypes.byref(md), len(shape), dims(shape), F32,
                                              tag), "memory_desc_create_with_tag")
    else:
        check(lib.memory_desc_create_with_strides(ctypes.byref(md), len(shape), dims(shape),
                                                  F32, dims(strides)),
              "memory_desc_create_with_strides")
    return md


def attr(lib, relu=False):
    """Primitive attributes: user-managed scratchpad (so concurrent calls never share one),
    and a ReLU post-op when asked."""
    a = _p()
    check(lib.primitive_attr_create(ctypes.byref(a)), "primitive_attr_create")
    check(lib.primitive_attr_set_scratchpad_mode(a, SCRATCHPAD_USER), "set_scratchpad_mode")
    if relu:
        po = _p()
        check(lib.post_ops_create(ctypes.byref(po)), "post_ops_create")
        check(lib.post_ops_append_eltwise(po, ELTWISE_RELU, 0.0, 0.0), "append_eltwise")
        check(lib.primitive_attr_set_post_ops(a, po), "set_post_ops")
        lib.post_ops_destroy(po)
    return a


def impl_name(lib, pd):
    """The implementation oneDNN chose for a primitive descriptor (e.g. 'brg:avx512_core')."""
    s = ctypes.c_char_p()
    check(lib.primitive_desc_query(pd, Q_IMPL_INFO, 0, ctypes.byref(s)), "query impl_info")
    return s.value.decode()
