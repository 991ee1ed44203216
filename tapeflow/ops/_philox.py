"""Philox4x32-10 and the distributions TensorFlow builds on it, bit for bit, in NumPy.

TensorFlow's stateless random ops and `tf.random.Generator` hash a 128-bit
counter with a 64-bit key (Philox4x32-10: ten rounds of two 32x32->64-bit
products) into four uint32 values per counter step ("block"). Everything here
reproduces TF's CPU kernels exactly:

- a seed pair (s0, s1) becomes a key and counter by hashing (s0, s1) once under
  a fixed key (`scramble`);
- the output is filled in groups, one group per block for the fixed-cost
  distributions: 4 float32/float16 uniforms or normals, 2 float64 or 2 int64
  values per block;
- uniform floats put random bits into the mantissa of a number in [1, 2) and
  subtract 1 (23 bits for float32, 10 for float16, 52 from two words for float64);
- normals are Box-Muller over pairs, sine first: (sin v * r, cos v * r);
- truncated normals reserve 256 blocks per group of outputs (128 for float64)
  and keep, in order, the Box-Muller values inside (-2, 2).

The Box-Muller transcendental functions must be the C library's (TF calls
`logf` and `sincosf`): a correctly rounded result differs from glibc's in ~1.5%
of float32 draws. They run in a numba loop calling the C library when numba is
installed, else one call per element through ctypes; only where no C math
library can be loaded do they fall back to NumPy (then rare values may differ
from TF's in the last bit).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85          # key increments between rounds
_LOW = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)
_U64 = (1 << 64) - 1
# Blocks reserved per group of truncated-normal outputs (TF's kReservedSamplesPerOutput).
_RESERVED = 256


def split64(value: int):
    """The (low, high) uint32 halves of a 64-bit value."""
    value &= _U64
    return value & 0xFFFFFFFF, value >> 32


def philox(key, counter, index) -> np.ndarray:
    """Blocks `counter + index` hashed under `key`: shape index.shape + (4,), uint32.

    Args:
        key: (k0, k1), two uint32 Python ints.
        counter: (c0, c1, c2, c3), four uint32 Python ints (c0 least significant).
        index: uint64 array of block offsets added to the 128-bit counter.
    """
    lo = np.uint64(counter[0] | (counter[1] << 32))
    hi = np.uint64(counter[2] | (counter[3] << 32))
    index = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        new_lo = lo + index
        new_hi = hi + (new_lo < index).astype(np.uint64)        # carry into the high word
    c0, c1 = new_lo & _LOW, new_lo >> _32
    c2, c3 = new_hi & _LOW, new_hi >> _32
    k0, k1 = key
    for r in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        rk0 = np.uint64((k0 + r * _W0) & 0xFFFFFFFF)
        rk1 = np.uint64((k1 + r * _W1) & 0xFFFFFFFF)
        c0, c1, c2, c3 = (p1 >> _32) ^ c1 ^ rk0, p1 & _LOW, (p0 >> _32) ^ c3 ^ rk1, p0 & _LOW
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def scramble(seed0: int, seed1: int):
    """(key, counter) of a stateless op's seed pair: TF hashes the pair once first, so
    that neither half of the seed needs to be strong on its own."""
    c0, c1 = split64(seed0)
    c2, c3 = split64(seed1)
    mix = [int(v) for v in philox((0x3EC8F720, 0x02461E29), (c0, c1, c2, c3), [0])[0]]
    return (mix[0], mix[1]), (0, 0, mix[2], mix[3])


def blocks(key, counter, n, start=0) -> np.ndarray:
    """`n` consecutive blocks from `counter + start`, flattened to 4n uint32 values."""
    return philox(key, counter, np.arange(start, start + n, dtype=np.uint64)).reshape(-1)


# -- uint32 bits -> numbers -------------------------------------------------------

def bits_to_float32(x):
    """[0, 1) from the low 23 bits: mantissa of a float in [1, 2), minus 1."""
    return ((x & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1)


def bits_to_float16(x):
    """[0, 1) from the low 10 bits (the upper 16 bits of each word are unused)."""
    half = ((x & np.uint32(0x3FF)).astype(np.uint16) | np.uint16(15 << 10)).view(np.float16)
    return half - np.float16(1)


def bits_to_float64(high, low):
    """[0, 1) from 52 bits: 20 of `high` (the first word) above the 32 of `low`."""
    man = ((high.astype(np.uint64) & np.uint64(0xFFFFF)) << _32) | low.astype(np.uint64)
    return (man | np.uint64(0x3FF0000000000000)).view(np.float64) - 1.0


def words_to_uint64(first, second):
    """64-bit values from word pairs, the first word the low half."""
    return first.astype(np.uint64) | (second.astype(np.uint64) << _32)


# -- the C library's transcendental functions ------------------------------------

_libm_state: dict = {}
_libm_lock = threading.Lock()


def _libm():
    """The C library's functions (a dict, or None), loaded once."""
    if "funcs" not in _libm_state:
        with _libm_lock:
            if "funcs" not in _libm_state:
                _libm_state["funcs"] = _load_libm()
    return _libm_state["funcs"]


def _compiled():
    """The numba Box-Muller loops (or None), compiled at the first large draw: compiling
    takes about half a second, which a model's first small draws should not pay."""
    if "numba" not in _libm_state:
        funcs = _libm()
        with _libm_lock:
            if "numba" not in _libm_state:
                _libm_state["numba"] = _compile(funcs)
    return _libm_state["numba"]


# The ctypes loop costs about 5 us a pair; compiling costs about 0.5 s. Draws use the loop
# until this many pairs have gone through it (or one draw is this large), then compile.
_COMPILE_FROM_PAIRS = 16384


def _load_libm():
    name = ctypes.util.find_library("m")
    try:
        lib = ctypes.CDLL(name or "libm.so.6")
    except OSError:
        return None
    funcs = {}
    for fname, ctype in [("logf", ctypes.c_float), ("sinf", ctypes.c_float),
                         ("cosf", ctypes.c_float), ("log", ctypes.c_double),
                         ("sin", ctypes.c_double), ("cos", ctypes.c_double)]:
        f = getattr(lib, fname)
        f.restype, f.argtypes = ctype, [ctype]
        funcs[fname] = f
    return funcs


def _compile(funcs):
    """Box-Muller loops calling the C library from numba (None without numba)."""
    if funcs is None:
        return None
    from tapeflow.backend import jit
    if not jit.enabled():
        return None
    try:
        import numba
    except ImportError:
        return None
    logf, sinf, cosf = funcs["logf"], funcs["sinf"], funcs["cosf"]
    log, sin, cos = funcs["log"], funcs["sin"], funcs["cos"]

    # Each step rounds to float32 as TF's C++ does; the C functions (not LLVM's
    # intrinsics, which may be vectorised differently) give TF's exact values.
    @numba.njit(nogil=True)
    def box_muller_f32(u1, v1, out):
        for i in range(u1.shape[0]):
            r = np.float32(np.sqrt(np.float32(-2.0) * np.float32(logf(u1[i]))))
            out[2 * i] = np.float32(sinf(v1[i])) * r
            out[2 * i + 1] = np.float32(cosf(v1[i])) * r

    @numba.njit(nogil=True)
    def box_muller_f64(u1, v1, out):
        for i in range(u1.shape[0]):
            r = np.sqrt(-2.0 * log(u1[i]))
            out[2 * i] = sin(v1[i]) * r
            out[2 * i + 1] = cos(v1[i]) * r

    try:        # compile now, so that a numba that cannot call ctypes here is not used
        box_muller_f32(np.ones(1, np.float32), np.ones(1, np.float32), np.empty(2, np.float32))
        box_muller_f64(np.ones(1), np.ones(1), np.empty(2))
    except Exception:  # noqa: BLE001 -- numba unable to compile here: use the ctypes loop
        return None
    return box_muller_f32, box_muller_f64


def _elementwise(func, values, dtype):
    return np.array([func(v) for v in values.tolist()], dtype=dtype)


def _box_muller(u1, v1, dtype):
    """Interleaved (sin v1 * r, cos v1 * r), r = sqrt(-2 log u1), in `dtype` arithmetic."""
    funcs = _libm()
    looped = _libm_state.get("looped_pairs", 0) + u1.shape[0]
    compiled = _compiled() if looped >= _COMPILE_FROM_PAIRS else _libm_state.get("numba")
    if compiled is None:
        _libm_state["looped_pairs"] = looped
    out = np.empty(2 * u1.shape[0], dtype)
    if compiled is not None:
        compiled[0 if dtype == np.float32 else 1](u1, v1, out)
        return out
    f32 = dtype == np.float32
    if funcs is not None:
        log_u = _elementwise(funcs["logf" if f32 else "log"], u1, dtype)
        sin_v = _elementwise(funcs["sinf" if f32 else "sin"], v1, dtype)
        cos_v = _elementwise(funcs["cosf" if f32 else "cos"], v1, dtype)
    else:       # no C library: NumPy's functions, computed in float64 and rounded
        log_u = np.log(u1.astype(np.float64)).astype(dtype)
        sin_v = np.sin(v1.astype(np.float64)).astype(dtype)
        cos_v = np.cos(v1.astype(np.float64)).astype(dtype)
    r = np.sqrt(dtype.type(-2.0) * log_u)
    out[0::2] = sin_v * r
    out[1::2] = cos_v * r
    return out


def normals_from_bits(words, dtype) -> np.ndarray:
    """Box-Muller normals from a flat uint32 array (a whole number of blocks).

    float32/float16: two words per pair of values (float16 rounds the float32
    values); float64: four words (two 52-bit uniforms) per pair.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        u1 = bits_to_float64(words[0::4], words[1::4])
        v1 = 2 * np.pi * bits_to_float64(words[2::4], words[3::4])
        return _box_muller(np.maximum(u1, 1e-7), v1, dtype)
    u1 = np.maximum(bits_to_float32(words[0::2]), np.float32(1e-7))  # keep log() finite
    # 2*pi is a double in TF's C++: the product is taken in double, then rounded.
    v1 = (2 * np.pi * bits_to_float32(words[1::2]).astype(np.float64)).astype(np.float32)
    out = _box_muller(u1, v1, np.dtype(np.float32))
    return out if dtype == np.float32 else out.astype(dtype)


# -- distributions: n values from a (key, counter) --------------------------------

def _per_block(dtype) -> int:
    return 2 if np.dtype(dtype).itemsize == 8 else 4


def uniform(key, counter, n, dtype) -> np.ndarray:
    """n uniform floats in [0, 1)."""
    dtype = np.dtype(dtype)
    words = blocks(key, counter, -(-n // _per_block(dtype)))
    if dtype == np.float64:
        return bits_to_float64(words[0::2], words[1::2])[:n]
    if dtype == np.float16:
        return bits_to_float16(words)[:n]
    return bits_to_float32(words)[:n]


def full_int(key, counter, n, dtype) -> np.ndarray:
    """n integers over the whole range of `dtype` (int32/uint32: one word each; 64-bit: two)."""
    dtype = np.dtype(dtype)
    words = blocks(key, counter, -(-n // _per_block(dtype)))
    if dtype.itemsize == 8:
        return words_to_uint64(words[0::2], words[1::2])[:n].view(dtype)
    return words[:n].view(dtype)


def uniform_int(key, counter, n, dtype, minval: int, maxval: int) -> np.ndarray:
    """n integers in [minval, maxval): `minval + bits % (maxval - minval)` as TF (the
    modulo leaves a small bias unless the range is a power of two)."""
    dtype = np.dtype(dtype)
    span = (maxval - minval) & (_U64 if dtype.itemsize == 8 else 0xFFFFFFFF)
    bits = full_int(key, counter, n, np.uint64 if dtype.itemsize == 8 else np.uint32)
    offsets = (bits % bits.dtype.type(span)).astype(dtype)
    with np.errstate(over="ignore"):
        return (offsets + dtype.type(minval)).astype(dtype)


def normal(key, counter, n, dtype) -> np.ndarray:
    """n standard normals."""
    words = blocks(key, counter, -(-n // _per_block(dtype)))
    return normals_from_bits(words, dtype)[:n]


def truncated_normal(key, counter, n, dtype) -> np.ndarray:
    """n standard normals redrawn outside (-2, 2), group by group as TF's kernel.

    Each group of 4 outputs (2 for float64) reads blocks from its own region of
    the stream, 256 blocks apart; it keeps its candidates in order until it has
    enough. Candidates are drawn a few blocks at a time for all groups together,
    and again with more blocks for the rare groups that fell short.
    """
    dtype = np.dtype(dtype)
    group = _per_block(dtype)
    stride = _RESERVED * group // 4
    n_groups = -(-n // group)
    out = np.empty((n_groups, group), dtype)
    todo = np.arange(n_groups, dtype=np.uint64)
    per_group = 2
    while todo.size:
        index = todo[:, None] * np.uint64(stride) + np.arange(per_group, dtype=np.uint64)
        words = philox(key, counter, index).reshape(-1)
        # float16 is tested on the float32 value, before rounding, as TF does.
        cand = normals_from_bits(words, np.float32 if dtype == np.float16 else dtype)
        cand = cand.reshape(todo.size, -1)
        keep = np.abs(cand) < 2
        counts = keep.sum(axis=1)
        done = counts >= group
        if done.any():
            kept = cand[done][keep[done]]             # row by row, in stream order
            starts = np.cumsum(counts[done]) - counts[done]
            out[todo[done].astype(np.int64)] = kept[starts[:, None] + np.arange(group)]
        todo = todo[~done]
        per_group *= 2
    return out.reshape(-1)[:n]


def random_doubles(key, counter, n) -> np.ndarray:
    """n doubles in [0, 1) drawn one after another (two words each), as TF's
    categorical sampler draws them."""
    words = blocks(key, counter, -(-2 * n // 4))
    return bits_to_float64(words[0::2], words[1::2])[:n]
