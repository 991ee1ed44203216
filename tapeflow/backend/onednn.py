"""oneDNN kernels: convolution (forward, input and filter gradients) and matmul.

oneDNN is the CPU kernel library TensorFlow and PyTorch use. tapeflow calls
its C API through ctypes (`dnnl_lib.py`) when the `onednn-cpu-gomp` wheel is
installed; otherwise, or with `TAPEFLOW_ONEDNN=0`, `available()` is False
and the NumPy/OpenBLAS kernels run (they are also the reference every path
here is tested against).

Layouts. Data stay NHWC (oneDNN tag `nhwc`), so no activation is ever
reordered. Filters are HWIO arrays, but each primitive is created with the
filter layout left to oneDNN (`format_any`): given plain HWIO, its backward
passes fall back to im2col + sgemm, while a layout of its own choosing
selects the AVX-512 kernels (measured: input gradient 1.3x, filter gradient
2x faster). The filter is reordered into that layout per call (a few
microseconds for the seed CNN's filters; see `FilterCache`), and the filter
gradient is reordered back to HWIO.

Fusion. `conv2d(..., bias=b, relu=True)` adds the bias inside the
convolution and applies ReLU as a post-op, so the activation is written
once; `conv2d_backprop_filter(..., with_bias=True)` also returns the bias
gradient (the sum of dy), summed block by block right after each block's
filter gradient, while that block of dy is in cache.

Primitives are created once per shape and attributes and cached (`_cache`);
each holds, per calling thread, its memory objects, argument array and
scratchpad (user-managed), so one call costs a few ctypes calls (~10 us).

Threads. A primitive's OpenMP thread count is fixed when it is created and
OpenMP splits work statically: when another process holds one of the two
cores, the other thread waits at the barrier. So by default
(`TAPEFLOW_ONEDNN_THREADS=auto`) tapeflow splits the batch into blocks of
images handed to its own pool (blas.py) -- the calling thread plus one per
extra core take blocks from a shared counter -- and each block runs one
single-threaded primitive. A descheduled thread then delays only its own
block, and no OpenMP team (hence no spinning OpenMP thread) ever exists.
`TAPEFLOW_ONEDNN_THREADS=N` runs each call whole on N OpenMP threads instead.

Inputs must be float32 (other dtypes use the NumPy kernels); any strides
are accepted (convolutions copy non-contiguous inputs, matmul passes the
strides to oneDNN).

Example:
    >>> import numpy as np
    >>> from tapeflow.backend import onednn
    >>> x = np.ones((1, 4, 4, 1), np.float32); w = np.ones((2, 2, 1, 1), np.float32)
    >>> y = onednn.conv2d(x, w, (1, 1), "VALID", (1, 1)) if onednn.available() else x[:, 1:, 1:] * 4
    >>> y[0, :, :, 0]
    array([[4., 4., 4.],
           [4., 4., 4.],
           [4., 4., 4.]], dtype=float32)
"""
from __future__ import annotations

import ctypes
import os
import threading
import weakref

import numpy as np

# `conv` imports this module for its dispatch: read its attributes at call time only.
from tapeflow.backend import blas
from tapeflow.backend import conv as _conv
from tapeflow.backend import dnnl_lib as D

_p = ctypes.c_void_p


def available() -> bool:
    """True when oneDNN is installed, loads, and is not disabled (TAPEFLOW_ONEDNN=0)."""
    return D.load() is not None


def usable(*arrays) -> bool:
    """True when oneDNN is available and every array is a non-empty float32 array."""
    if D.load() is None:
        return False
    for a in arrays:
        if a.dtype != np.float32 or a.size == 0:
            return False
    return True


# -- primitives ---------------------------------------------------------------------------

class Primitive:
    """A created primitive with the memory descriptors of its arguments.

    `run({arg: array, ...})` binds the arrays' data pointers to this
    thread's memory objects and executes on this thread's stream. The pd is
    kept alive: the descriptors queried from it belong to it.
    """

    def __init__(self, lib, pd, args):
        self.lib, self.pd = lib, pd
        self.handle = _p()
        D.check(lib.primitive_create(ctypes.byref(self.handle), pd), "primitive_create")
        # args: exec-arg id -> query (or (query, index): a bias is the weights' index 1).
        self.mds = {arg: lib.primitive_desc_query_md(pd, *(q if isinstance(q, tuple) else (q, 0)))
                    for arg, q in args.items()}
        self.args = tuple(args)
        self.scratch = lib.memory_desc_get_size(lib.primitive_desc_query_md(pd, D.Q_SCRATCHPAD,
                                                                            0))
        self.impl = D.impl_name(lib, pd)
        self._local = threading.local()

    def __del__(self):
        # The per-thread memory objects are a few hundred bytes each and are left alone:
        # other threads' locals cannot be reached from here.
        try:
            self.lib.primitive_destroy(self.handle)
            self.lib.primitive_desc_destroy(self.pd)
        except (AttributeError, TypeError):      # interpreter shutdown
            pass

    def md(self, arg):
        return self.mds[arg]

    def _bound(self):
        loc = self._local
        if getattr(loc, "mems", None) is None:
            lib = self.lib
            keys = self.args + ((D.ARG_SCRATCHPAD,) if self.scratch else ())
            mems = []
            for arg in keys:
                md = self.mds[arg] if arg != D.ARG_SCRATCHPAD else \
                    lib.primitive_desc_query_md(self.pd, D.Q_SCRATCHPAD, 0)
                m = _p()
                D.check(lib.memory_create(ctypes.byref(m), md, lib.engine, None), "memory_create")
                mems.append(m)
            loc.exec_args = (D.ExecArg * len(keys))(*[D.ExecArg(a, m) for a, m in zip(keys, mems)])
            loc.mems = dict(zip(keys, mems))
            if self.scratch:
                loc.scratch = np.empty(self.scratch, np.uint8)
                lib.memory_set_data_handle(loc.mems[D.ARG_SCRATCHPAD], loc.scratch.ctypes.data)
        return loc

    def run(self, arrays):
        loc = self._bound()
        lib = self.lib
        mems = loc.mems
        for arg, a in arrays.items():
            lib.memory_set_data_handle(mems[arg], a.ctypes.data)
        D.check(lib.primitive_execute(self.handle, lib.stream(), len(loc.exec_args),
                                      loc.exec_args), "primitive_execute")


_cache: dict = {}
_cache_lock = threading.Lock()
_MISSING = object()
# Primitives kept (oldest dropped first): a program whose shapes keep changing must not
# grow without bound; a training loop uses a handful.
MAX_PRIMITIVES = 256


def _cached(key, make):
    """The primitive for `key`, created once; None when oneDNN has no fast implementation
    for it (only its reference kernels, far slower than NumPy's): remembered, so the NumPy
    kernel runs without asking again."""
    p = _cache.get(key, _MISSING)
    if p is _MISSING:
        with _cache_lock:
            p = _cache.get(key, _MISSING)
            if p is _MISSING:
                try:
                    p = make()
                except D.DnnlError:
                    p = None
                if p is not None and p.impl.startswith("ref"):
                    p = None
                while len(_cache) >= MAX_PRIMITIVES:
                    del _cache[next(iter(_cache))]
                _cache[key] = p
    return p


def _prims(blocks, make, nthr):
    """{block size: primitive} for the blocks' sizes, created now on this thread (with its
    OpenMP setting); None if oneDNN has no implementation for one of them."""
    D.load().set_threads(nthr)
    prims = {}
    for i0, i1 in blocks:
        if i1 - i0 not in prims:
            prims[i1 - i0] = make(i1 - i0)
            if prims[i1 - i0] is None:
                return None
    return prims


def cache_size() -> int:
    """Number of primitives created so far (one per shape, attributes and thread count)."""
    return len(_cache)


def _threads():
    """(OpenMP threads per primitive, whether to split batches over tapeflow's pool).

    TAPEFLOW_ONEDNN_THREADS=N: N threads, no pool. Otherwise the pool when tapeflow runs
    one (TAPEFLOW_BLAS_THREADS=auto), else as many threads as TAPEFLOW_BLAS_THREADS gives
    OpenBLAS (`tf.config.threading.set_intra_op_parallelism_threads` sets it).
    """
    v = os.environ.get("TAPEFLOW_ONEDNN_THREADS", "auto").strip().lower()
    if v not in ("", "auto"):
        try:
            return max(1, int(v)), False
        except ValueError:
            pass
    if blas.pool_size() > 1:
        return 1, True
    mode = blas._mode()
    return (mode if isinstance(mode, int) else 1), False


BLOCK_ROWS = 9216


def _batch_blocks(n, rows_per_image, flops):
    """Blocks of images for the pool, or [(0, n)] when the call runs whole."""
    nthr, split = _threads()
    if not split or n < 2 or flops < blas.MIN_FLOPS:
        return nthr, [(0, n)]
    parts = 2 * blas.pool_size()
    # ~9200 output rows per block (16 of the seed CNN's 24x24 images), at least two blocks
    # per thread. Unlike the NumPy kernels (2304 rows: their patches must stay in cache),
    # oneDNN blocks for the cache itself, and larger blocks took 2-4% less CPU time than
    # 2304-row ones for each convolution kernel at batch 32 and 128 (docs/performance.md).
    parts = max(parts, min(n, -(-n * rows_per_image // BLOCK_ROWS)))
    return nthr, blas.blocks(n, parts)


def _run_blocks(blocks, body):
    """Calls body(t, i0, i1) for each block t (on the pool when there are several)."""
    blas.tick()
    if len(blocks) == 1:
        body(0, *blocks[0])
    else:
        blas.parallel([lambda t=t, i0=i0, i1=i1: body(t, i0, i1)
                       for t, (i0, i1) in enumerate(blocks)])


# -- convolution geometry ------------------------------------------------------------------

def _geometry(x_shape, w_shape, strides, padding, dilations):
    kh, kw, ci, co = w_shape
    pads, oh, ow = _conv.conv_geometry(x_shape, (kh, kw), strides, padding, dilations)
    (pt, pb), (pl, pr) = pads
    return {"src": (x_shape[0], ci, x_shape[1], x_shape[2]), "wei": (co, ci, kh, kw),
            "dst": (x_shape[0], co, oh, ow), "strides": tuple(strides),
            "dil": (dilations[0] - 1, dilations[1] - 1), "pl": (pt, pl), "pr": (pb, pr)}


def _fwd_pd(lib, g, bias, relu):
    """Forward-training convolution pd: NHWC data, filter layout `any`."""
    src = D.memory_desc(lib, g["src"], D.TAG_NHWC)
    wei = D.memory_desc(lib, g["wei"], D.TAG_ANY)
    dst = D.memory_desc(lib, g["dst"], D.TAG_NHWC)
    b = D.memory_desc(lib, g["dst"][1:2], D.TAG_A) if bias else None
    at = D.attr(lib, relu)
    pd = _p()
    try:
        D.check(lib.convolution_forward_primitive_desc_create(
            ctypes.byref(pd), lib.engine, D.FORWARD_TRAINING, D.CONV_DIRECT, src, wei, b, dst,
            D.dims(g["strides"]), D.dims(g["dil"]), D.dims(g["pl"]), D.dims(g["pr"]), at),
            "convolution forward pd")
    finally:
        for md in (src, wei, dst, b):
            if md is not None:
                lib.memory_desc_destroy(md)
        lib.primitive_attr_destroy(at)
    return pd


def _reorder_prim(lib, src_md, dst_md):
    pd = _p()
    at = D.attr(lib)
    try:
        D.check(lib.reorder_primitive_desc_create(ctypes.byref(pd), src_md, lib.engine, dst_md,
                                                  lib.engine, at), "reorder pd")
    finally:
        lib.primitive_attr_destroy(at)
    return Primitive(lib, pd, {D.ARG_FROM: D.Q_SRC, D.ARG_TO: D.Q_DST})


def _hwio_md(lib, g):
    return D.memory_desc(lib, g["wei"], D.TAG_HWIO)


class _Reorders:
    """Reorders between the HWIO filter and a primitive's filter layout (None: same layout)."""

    def __init__(self, lib, g, prim_md, nthr):
        lib.set_threads(nthr)
        plain = _hwio_md(lib, g)
        try:
            same = bool(lib.memory_desc_equal(plain, prim_md))
            self.size = lib.memory_desc_get_size(prim_md)
            self.to_prim = None if same else _reorder_prim(lib, plain, prim_md)
            self.to_plain = None if same else _reorder_prim(lib, prim_md, plain)
        finally:
            lib.memory_desc_destroy(plain)


def _filter_in(reorders, w):
    """w (contiguous HWIO) in the primitive's layout: w itself, or a reordered buffer."""
    if reorders.to_prim is None:
        return w
    buf = np.empty(reorders.size // 4, np.float32)
    reorders.to_prim.run({D.ARG_FROM: w, D.ARG_TO: buf})
    return buf


# -- forward ------------------------------------------------------------------------------

def _fwd_key(x_shape, w_shape, strides, padding, dilations, bias, relu, nthr):
    return ("fwd", tuple(x_shape), tuple(w_shape), tuple(strides), _pad_key(padding),
            tuple(dilations), bool(bias), bool(relu), nthr)


def _pad_key(padding):
    return padding if isinstance(padding, str) else tuple(tuple(p) for p in padding)


def _fwd(x_shape, w_shape, strides, padding, dilations, bias, relu, nthr):
    def make():
        lib = D.load()
        lib.set_threads(nthr)
        g = _geometry(x_shape, w_shape, strides, padding, dilations)
        pd = _fwd_pd(lib, g, bias, relu)
        args = {D.ARG_SRC: D.Q_SRC, D.ARG_WEIGHTS: D.Q_WEIGHTS, D.ARG_DST: D.Q_DST}
        if bias:
            args[D.ARG_BIAS] = (D.Q_WEIGHTS, 1)
        prim = Primitive(lib, pd, args)
        prim.reorders = _Reorders(lib, g, prim.md(D.ARG_WEIGHTS), nthr)
        return prim
    return _cached(_fwd_key(x_shape, w_shape, strides, padding, dilations, bias, relu, nthr),
                   make)


def conv2d(x, w, strides, padding, dilations, bias=None, relu=False):
    """NHWC convolution of x (N, H, W, C) with HWIO w; optionally + bias, then ReLU, fused.

    Args:
        x, w: float32 arrays (any strides).
        strides, dilations: (h, w) pairs; padding: 'SAME', 'VALID' or ((t, b), (l, r)).
        bias: optional (O,) float32 array added inside the convolution.
        relu: apply max(., 0) as a post-op (after the bias).

    Returns:
        A new (N, Ho, Wo, O) float32 array, or None when oneDNN has no implementation for
        this geometry (the caller then runs the NumPy kernel).
    """
    lib = D.load()
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    if bias is not None:
        bias = np.ascontiguousarray(bias, np.float32)
    kh, kw, ci, co = w.shape
    if x.shape[3] != ci:
        raise ValueError(f"input depth {x.shape[3]} does not match the filter's input depth {ci}")
    _, oh, ow = _conv.conv_geometry(x.shape, (kh, kw), strides, padding, dilations)
    n = x.shape[0]
    if oh <= 0 or ow <= 0:
        return None
    nthr, blocks = _batch_blocks(n, oh * ow, 2.0 * n * oh * ow * kh * kw * ci * co)
    prims = _prims(blocks, lambda b: _fwd((b,) + x.shape[1:], w.shape, strides, padding,
                                          dilations, bias is not None, relu, nthr), nthr)
    if prims is None:
        return None
    out = np.empty((n, oh, ow, co), np.float32)
    filters = _filters(prims, w)

    def body(_t, i0, i1):
        lib.set_threads(nthr)
        prim = prims[i1 - i0]
        args = {D.ARG_SRC: x[i0:i1], D.ARG_WEIGHTS: filters[i1 - i0], D.ARG_DST: out[i0:i1]}
        if bias is not None:
            args[D.ARG_BIAS] = bias
        prim.run(args)

    _run_blocks(blocks, body)
    return out


def _filters(prims, w):
    """{block size: w in that primitive's layout}, reordered once per call (not per block)."""
    return {size: FILTERS.get(prim.reorders, w) for size, prim in prims.items()}


class FilterCache:
    """Filters in a primitive's layout, reused while the HWIO array holds the same values.

    A Variable's array is updated in place by the optimizer, so neither its
    identity nor its address says which version it holds. An entry keeps a
    copy of the HWIO values it was made from and is reused only when the
    array still equals it (a plain compare, cheaper than the reorder's
    transposition for large filters): within a step, the forward pass and
    the input gradient read the same version; after the update the first
    call reorders again. Entries live while the array does (weakly keyed).
    """

    MIN_BYTES = 1 << 18       # smaller filters reorder faster than they compare

    def __init__(self):
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, reorders, w):
        if reorders.to_prim is None:
            return w
        if w.nbytes < self.MIN_BYTES:
            return _filter_in(reorders, w)
        key = (id(w), id(reorders))
        e = self._entries.get(key)
        # The entry holds `reorders` itself, so its id cannot be reused while it lives.
        if e is not None and e[0]() is w and e[3] is reorders and np.array_equal(e[1], w):
            return e[2]
        buf = _filter_in(reorders, w)
        try:
            ref = weakref.ref(w, lambda _r, key=key: self._entries.pop(key, None))
        except TypeError:
            return buf
        with self._lock:
            self._entries[key] = (ref, w.copy(), buf, reorders)
        return buf


FILTERS = FilterCache()


# -- input gradient -----------------------------------------------------------------------

# The two backward passes differ only in these: (constructor, the filter's position among
# the descriptors, argument -> query, the argument holding the filter).
_BACKWARD = {
    "bwd_data": ("convolution_backward_data_primitive_desc_create",
                 {D.ARG_DIFF_SRC: D.Q_DIFF_SRC, D.ARG_WEIGHTS: D.Q_WEIGHTS,
                  D.ARG_DIFF_DST: D.Q_DIFF_DST}, D.ARG_WEIGHTS),
    "bwd_weights": ("convolution_backward_weights_primitive_desc_create",
                    {D.ARG_SRC: D.Q_SRC, D.ARG_DIFF_WEIGHTS: D.Q_DIFF_WEIGHTS,
                     D.ARG_DIFF_DST: D.Q_DIFF_DST}, D.ARG_DIFF_WEIGHTS),
}


def _backward(kind, x_shape, w_shape, strides, padding, dilations, nthr):
    """The cached backward-data or backward-weights primitive of one geometry: NHWC data,
    the filter in the layout oneDNN chooses (its reorders from and to HWIO attached)."""
    create, args, filter_arg = _BACKWARD[kind]

    def make():
        lib = D.load()
        lib.set_threads(nthr)
        g = _geometry(x_shape, w_shape, strides, padding, dilations)
        hint = _fwd_pd(lib, g, False, False)
        src = D.memory_desc(lib, g["src"], D.TAG_NHWC)
        wei = D.memory_desc(lib, g["wei"], D.TAG_ANY)
        dst = D.memory_desc(lib, g["dst"], D.TAG_NHWC)
        no_bias = () if kind == "bwd_data" else (None,)     # the filter gradient's bias slot
        at = D.attr(lib)
        pd = _p()
        try:
            D.check(getattr(lib, create)(
                ctypes.byref(pd), lib.engine, D.CONV_DIRECT, src, wei, *no_bias, dst,
                D.dims(g["strides"]), D.dims(g["dil"]), D.dims(g["pl"]), D.dims(g["pr"]), hint,
                at), f"convolution {kind.replace('bwd_', 'backward ')} pd")
        finally:
            for md in (src, wei, dst):
                lib.memory_desc_destroy(md)
            lib.primitive_attr_destroy(at)
            lib.primitive_desc_destroy(hint)
        prim = Primitive(lib, pd, args)
        prim.reorders = _Reorders(lib, g, prim.md(filter_arg), nthr)
        return prim
    return _cached((kind, tuple(x_shape), tuple(w_shape), tuple(strides), _pad_key(padding),
                    tuple(dilations), nthr), make)


def conv2d_backprop_input(x_shape, w, dy, strides, padding, dilations, epilogue=None):
    """Gradient of `conv2d` with respect to its input: a new float32 array of `x_shape`
    (None when oneDNN has no implementation for this geometry). `epilogue(dx[i0:i1], i0,
    i1)`, when given, runs on each finished block of images, on the thread that made it."""
    lib = D.load()
    w = np.ascontiguousarray(w)
    dy = np.ascontiguousarray(dy)
    kh, kw, ci, co = w.shape
    n, oh, ow, _ = dy.shape
    x_shape = tuple(int(s) for s in x_shape)
    out = np.empty(x_shape, np.float32)
    nthr, blocks = _batch_blocks(n, oh * ow, 2.0 * n * oh * ow * kh * kw * ci * co)
    prims = _prims(blocks, lambda b: _backward("bwd_data", (b,) + x_shape[1:], w.shape,
                                               strides, padding, dilations, nthr), nthr)
    if prims is None:
        return None

    filters = _filters(prims, w)

    def body(_t, i0, i1):
        lib.set_threads(nthr)
        prims[i1 - i0].run({D.ARG_DIFF_SRC: out[i0:i1], D.ARG_WEIGHTS: filters[i1 - i0],
                            D.ARG_DIFF_DST: dy[i0:i1]})
        if epilogue is not None:
            epilogue(out[i0:i1], i0, i1)

    _run_blocks(blocks, body)
    return out


# -- filter gradient ----------------------------------------------------------------------

def conv2d_backprop_filter(x, w_shape, dy, strides, padding, dilations, with_bias=False):
    """Gradient of `conv2d` with respect to its HWIO filter (and bias: `with_bias`).

    Returns:
        dw, a new float32 array of `w_shape`; with `with_bias`, (dw, db) where
        db (O,) is dy summed over N, Ho and Wo, in the same blocks. None when
        oneDNN has no implementation for this geometry.
    """
    lib = D.load()
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy)
    w_shape = tuple(int(s) for s in w_shape)
    kh, kw, ci, co = w_shape
    n, oh, ow, _ = dy.shape
    nthr, blocks = _batch_blocks(n, oh * ow, 2.0 * n * oh * ow * kh * kw * ci * co)
    # The bias gradient is summed by NumPy in each block, right after the block's filter
    # gradient read the same dy: oneDNN's own bias reduction (`with_bias` primitives) made
    # the call 4-5% slower (conv2, one thread: 30.9 against 29.5 CPU-ms at batch 128).
    prims = _prims(blocks, lambda b: _backward("bwd_weights", (b,) + x.shape[1:], w_shape,
                                               strides, padding, dilations, nthr), nthr)
    if prims is None:
        return None
    # Each block's share of the sum over images, reordered to HWIO in its own task (blocks
    # of different sizes may get different filter layouts), added at the end.
    parts = np.empty((len(blocks),) + w_shape, np.float32)
    bparts = np.empty((len(blocks), co), np.float32) if with_bias else None

    def body(t, i0, i1):
        lib.set_threads(nthr)
        prim = prims[i1 - i0]
        to_plain = prim.reorders.to_plain
        buf = parts[t] if to_plain is None else np.empty(prim.reorders.size // 4, np.float32)
        prim.run({D.ARG_SRC: x[i0:i1], D.ARG_DIFF_WEIGHTS: buf, D.ARG_DIFF_DST: dy[i0:i1]})
        if with_bias:
            np.add.reduce(dy[i0:i1], axis=(0, 1, 2), out=bparts[t])
        if to_plain is not None:
            to_plain.run({D.ARG_FROM: buf, D.ARG_TO: parts[t]})

    _run_blocks(blocks, body)
    dw = parts[0] if len(blocks) == 1 else parts.sum(axis=0)
    if not with_bias:
        return dw
    return dw, bparts[0] if len(blocks) == 1 else bparts.sum(axis=0)


# -- matmul -------------------------------------------------------------------------------

def _plain(a, transposed_ok):
    """2-D, rows of contiguous floats (or, when allowed, columns): what BLAS calls lda."""
    if a.ndim != 2:
        return False
    s0, s1 = a.strides
    rows, cols = a.shape
    if s1 == 4 and s0 % 4 == 0 and s0 >= 4 * cols:
        return True
    return transposed_ok and s0 == 4 and s1 % 4 == 0 and s1 >= 4 * rows


def matmul_ok(a, b, out=None):
    """True when `matmul` takes these arrays: float32 operands whose rows or columns are
    contiguous (transposed views), and a result with contiguous rows. Other strides would
    send oneDNN to its reference kernel (measured: a column-major result, 3.5 s instead of
    14 ms), so they stay with NumPy."""
    arrays = (a, b) if out is None else (a, b, out)
    if not usable(*arrays):
        return False
    return _plain(a, True) and _plain(b, True) and (out is None or _plain(out, False))


def _matmul_prim(a_shape, a_strides, b_shape, b_strides, o_strides, nthr):
    def make():
        lib = D.load()
        lib.set_threads(nthr)
        src = D.memory_desc(lib, a_shape, strides=a_strides)
        wei = D.memory_desc(lib, b_shape, strides=b_strides)
        dst = D.memory_desc(lib, (a_shape[0], b_shape[1]), strides=o_strides)
        at = D.attr(lib)
        pd = _p()
        try:
            D.check(lib.matmul_primitive_desc_create(ctypes.byref(pd), lib.engine, src, wei, None,
                                                     dst, at), "matmul pd")
        finally:
            for md in (src, wei, dst):
                lib.memory_desc_destroy(md)
            lib.primitive_attr_destroy(at)
        return Primitive(lib, pd, {D.ARG_SRC: D.Q_SRC, D.ARG_WEIGHTS: D.Q_WEIGHTS,
                                   D.ARG_DST: D.Q_DST})
    return _cached(("matmul", a_shape, a_strides, b_shape, b_strides, o_strides, nthr), make)


def matmul(a, b, out=None):
    """a @ b for 2-D float32 arrays with any positive strides (`matmul_ok`), one primitive.

    Transposed views are read in place (their strides go to oneDNN). Runs on
    the calling thread's OpenMP setting (1 thread unless
    TAPEFLOW_ONEDNN_THREADS=N); `blas.matmul` splits large products into
    such calls over the pool.
    """
    lib = D.load()
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.float32)
    nthr = _threads()[0]
    lib.set_threads(nthr)
    prim = _matmul_prim(a.shape, tuple(s // 4 for s in a.strides), b.shape,
                        tuple(s // 4 for s in b.strides), tuple(s // 4 for s in out.strides), nthr)
    if prim is None:
        return np.matmul(a, b, out=out)
    prim.run({D.ARG_SRC: a, D.ARG_WEIGHTS: b, D.ARG_DST: out})
    return out


# -- fused entry points for tf.function plans (oneDNN when it can, NumPy otherwise) -------

def conv2d_bias_relu(x, w, bias, strides, padding, dilations, relu=True):
    """relu(conv2d(x, w) + bias) (`relu=False`: no ReLU), one pass over the output on oneDNN.

    Without oneDNN (or for other dtypes) the NumPy convolution runs, then the bias and
    ReLU are applied in place: two passes, no temporaries. A plan that sees Conv2D ->
    BiasAdd/AddV2 -> Relu can call this for the three nodes. On oneDNN a NaN reaching
    the fused ReLU may come out as 0 (the post-op's max), where the separate ops give NaN.
    """
    if usable(x, w, bias):
        y = conv2d(x, w, strides, padding, dilations, bias=bias, relu=relu)
        if y is not None:
            return y
    y = _conv.conv2d(x, w, strides, padding, dilations)
    y += bias
    if relu:
        np.maximum(y, 0, out=y)
    return y


def conv2d_backprop_filter_and_bias(x, w_shape, dy, strides, padding, dilations):
    """(filter gradient, bias gradient) of `conv2d_bias_relu`'s convolution and bias, given
    dy already through the ReLU gradient: one oneDNN pass, or the NumPy filter gradient and
    a sum over N, H and W."""
    if usable(x, dy):
        r = conv2d_backprop_filter(x, w_shape, dy, strides, padding, dilations, with_bias=True)
        if r is not None:
            return r
    dw = _conv.conv2d_backprop_filter(x, w_shape, dy, strides, padding, dilations)
    return dw, dy.sum(axis=(0, 1, 2))
