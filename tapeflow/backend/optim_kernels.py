"""Fused, in-place optimizer updates (Keras 3 semantics), float32 end to end.

Every function updates its arrays in place and returns None. Scalars are
Python floats; `step` is the 1-based iteration count.

Why blockwise: written naively, Adam over the 4.7M-parameter dense kernel of
the seed CNN is ten whole-array NumPy expressions, each a pass over ~19 MB
that lands in DRAM, plus model-sized temporaries. Here each update walks the
flattened arrays in blocks of `BLOCK` elements: every ufunc call writes into
a small preallocated scratch buffer (or the state array itself), so one
block's var/m/v/grad/scratch (6 x 256 KiB) stays in cache while the dozen
ufunc calls run over it, and DRAM sees each array about once per step.
Measured on the 4.7M-element kernel (medians): whole-array NumPy 35.8 ms;
blocks of 4K elements 21-22 ms, 16K 13-14, 32K 11.4-12.3, 64K 10.7-11.9,
128K 10.4-11.3: past 64K the ~1 us Python cost per ufunc call is paid off
and the blocks start to leave the cache. What remains is ufunc throughput
(np.sqrt alone is ~0.4 ns/element), one core, twelve calls per block.

Where numba is installed (see `jit.py`) arrays of at least `jit.MIN_SIZE`
elements go through one compiled, two-core loop instead: 1.8-2.3 ms for the
same update (5-6x); the blockwise NumPy code below is the reference and the
fallback.

Scalar coefficients are Python floats on purpose: NumPy treats them as weak
scalars, so float32 arrays stay float32 (a np.float64 scalar would do too,
but a 0-d float64 *array* would not).

Example:
    >>> import numpy as np
    >>> var = np.ones(3, np.float32); m = np.zeros(3, np.float32); v = np.zeros(3, np.float32)
    >>> adam_update(var, m, v, np.full(3, 0.5, np.float32), 0.1, 0.9, 0.999, 1e-7, 1)
    >>> var.round(5)  # the first Adam step moves each weight by ~lr
    array([0.9, 0.9, 0.9], dtype=float32)
"""
from __future__ import annotations

import math
import threading

import numpy as np

from tapeflow.backend import blas, jit

# 64K float32 = 256 KiB per block and array; see the module docstring.
BLOCK = 65536
# Up to this many elements an update skips the blocking (one block anyway).
SMALL = 4096

_local = threading.local()


def _scratch(dtype, n):
    """Two per-thread scratch buffers of at least n elements (reused across calls)."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    key = np.dtype(dtype)
    pair = bufs.get(key)
    if pair is None or pair[0].size < n:
        pair = bufs[key] = (np.empty(max(n, BLOCK), key), np.empty(max(n, BLOCK), key))
    return pair


def _as_grad(grad, var):
    g = np.asarray(grad)
    if g.shape != var.shape:
        raise ValueError(f"gradient shape {g.shape} does not match the variable's shape "
                         f"{var.shape}")
    if g.dtype != var.dtype:
        g = g.astype(var.dtype)
    return g


def _blocks(arrays):
    """Yields per-block tuples of views of `arrays` (all of one shape) and two scratch views.

    When every array is C-contiguous the blocks are slices of flat views, so
    writes into them land in the arrays. Otherwise (rare: a transposed or
    sliced state array) the whole arrays form a single block, with
    whole-size scratch: correct, just not cache-friendly.
    """
    var = arrays[0]
    n = var.size
    if all(a.flags.c_contiguous for a in arrays):
        flats = [a.reshape(-1) for a in arrays]
        t1, t2 = _scratch(var.dtype, min(n, BLOCK))
        for s in range(0, n, BLOCK):
            e = min(s + BLOCK, n)
            k = e - s
            yield [f[s:e] for f in flats] + [t1[:k], t2[:k]]
    else:
        t1, t2 = _scratch(var.dtype, n)
        yield list(arrays) + [t1[:n].reshape(var.shape), t2[:n].reshape(var.shape)]


def _compiled(arrays):
    """(kernels, flat views) when the compiled path applies to `arrays`, else (None, None)."""
    var = arrays[0]
    if var.size < jit.MIN_SIZE or var.dtype not in (np.float32, np.float64):
        return None, None
    if not all(a.flags.c_contiguous and a.dtype == var.dtype for a in arrays):
        return None, None
    k = jit.kernels()
    if k is None:
        return None, None
    blas.tick()         # its thread count also sets the compiled loops'
    return k, [a.reshape(-1) for a in arrays]


def sgd_update(var, grad, lr, momentum, nesterov, velocity):
    """Keras 3 SGD, in place.

    With momentum m: velocity = m*velocity - lr*g, then var += velocity
    (nesterov: var += m*velocity - lr*g). Without: var -= lr*g (velocity may
    be None).

    Example:
        >>> import numpy as np
        >>> w = np.ones(2, np.float32); vel = np.zeros(2, np.float32)
        >>> sgd_update(w, np.ones(2, np.float32), 0.1, 0.9, False, vel)
        >>> w, vel
        (array([0.9, 0.9], dtype=float32), array([-0.1, -0.1], dtype=float32))
    """
    g = _as_grad(grad, var)
    lr, momentum = float(lr), float(momentum)
    if momentum == 0.0:
        for vb, gb, t1, _ in _blocks((var, g)):
            np.multiply(gb, lr, out=t1)
            vb -= t1
        return
    k, flat = _compiled((var, g, velocity))
    if k is not None:
        c = var.dtype.type
        if jit.run(k.sgd_momentum, *flat, c(lr), c(momentum), bool(nesterov)):
            return
    for vb, gb, velb, t1, t2 in _blocks((var, g, velocity)):
        np.multiply(gb, lr, out=t1)          # t1 = lr*g
        velb *= momentum
        velb -= t1                           # velocity = m*velocity - lr*g
        if nesterov:
            np.multiply(velb, momentum, out=t2)
            t2 -= t1                         # m*velocity - lr*g
            vb += t2
        else:
            vb += velb


def adam_update(var, m, v, grad, lr, beta_1, beta_2, epsilon, step, vhat=None):
    """Keras 3 Adam (AMSGrad when `vhat` is given), in place.

    alpha = lr*sqrt(1-beta_2**t)/(1-beta_1**t); m += (g-m)*(1-beta_1);
    v += (g*g-v)*(1-beta_2); AMSGrad: vhat = max(vhat, v), used for v;
    var -= alpha*m/(sqrt(v)+epsilon). Twelve ufunc calls per cache-sized
    block; DRAM sees var, m, v (read+write) and g (read) once.

    Example:
        >>> import numpy as np
        >>> w = np.zeros(2, np.float32); m = np.zeros(2, np.float32); v = np.zeros(2, np.float32)
        >>> adam_update(w, m, v, np.array([1., -2.], np.float32), 0.01, 0.9, 0.999, 1e-7, 1)
        >>> w.round(5)
        array([-0.01,  0.01], dtype=float32)
    """
    g = _as_grad(grad, var)
    t = float(step)
    b1, b2, eps = float(beta_1), float(beta_2), float(epsilon)
    # alpha in double precision: 1-beta_2**t is ~1e-3 at step 1 and would lose digits in float32.
    alpha = float(lr) * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
    c1, c2 = 1.0 - b1, 1.0 - b2
    if var.size <= SMALL and vhat is None:
        # Tiny variables (biases, small layers): the same ufuncs in the same order as
        # the blocked loop below, without its bookkeeping, which costs more here.
        t1 = g - m
        t1 *= c1
        m += t1
        t1 = g * g
        t1 -= v
        t1 *= c2
        v += t1
        t1 = np.sqrt(v)
        t1 += eps
        t2 = m / t1
        t2 *= alpha
        var -= t2
        return
    arrays = (var, m, v, g) if vhat is None else (var, m, v, g, vhat)
    k, flat = _compiled(arrays)
    if k is not None:
        c = var.dtype.type
        if vhat is None:
            done = jit.run(k.adam, *flat, c(alpha), c(c1), c(c2), c(eps))
        else:
            fv, fm, fvv, fg, fvh = flat
            done = jit.run(k.amsgrad, fv, fm, fvv, fvh, fg, c(alpha), c(c1), c(c2), c(eps))
        if done:
            return
    for blk in _blocks(arrays):
        vb, mb, vvb, gb = blk[:4]
        t1, t2 = blk[-2], blk[-1]
        np.subtract(gb, mb, out=t1)
        t1 *= c1
        mb += t1                             # m += (g - m)*(1 - beta_1)
        np.multiply(gb, gb, out=t1)
        t1 -= vvb
        t1 *= c2
        vvb += t1                            # v += (g*g - v)*(1 - beta_2)
        if vhat is not None:
            np.maximum(blk[4], vvb, out=blk[4])
            np.sqrt(blk[4], out=t1)
        else:
            np.sqrt(vvb, out=t1)
        t1 += eps
        np.divide(mb, t1, out=t2)
        t2 *= alpha
        vb -= t2                             # var -= alpha*m/(sqrt(v) + eps)


def adamw_decay(var, lr, weight_decay):
    """AdamW's decoupled weight decay, in place: var -= var*weight_decay*lr.

    One pass, no temporary: var *= (1 - weight_decay*lr).

    Example:
        >>> import numpy as np
        >>> w = np.full(2, 2.0, np.float32); adamw_decay(w, 0.1, 0.5); w
        array([1.9, 1.9], dtype=float32)
    """
    var *= 1.0 - float(weight_decay) * float(lr)


def rmsprop_update(var, ms, grad, lr, rho, momentum, epsilon, centered, mg, mom):
    """Keras 3 RMSprop, in place.

    ms = rho*ms + (1-rho)*g*g; centered: mg = rho*mg + (1-rho)*g and
    denominator = ms - mg*mg + epsilon, else ms + epsilon (epsilon inside the
    square root, as Keras 3); increment = lr*g/sqrt(denominator); with
    momentum: mom = momentum*mom + increment, var -= mom; else
    var -= increment. `mg`/`mom` may be None when unused.

    Example:
        >>> import numpy as np
        >>> w = np.zeros(1, np.float32); ms = np.zeros(1, np.float32)
        >>> rmsprop_update(w, ms, np.ones(1, np.float32), 0.1, 0.75, 0.0, 0.0, False, None, None)
        >>> w, ms
        (array([-0.2], dtype=float32), array([0.25], dtype=float32))
    """
    g = _as_grad(grad, var)
    lr, rho, momentum, eps = float(lr), float(rho), float(momentum), float(epsilon)
    c = 1.0 - rho
    arrays = [var, ms, g]
    if centered:
        arrays.append(mg)
    if momentum > 0:
        arrays.append(mom)
    k, flat = _compiled(arrays)
    if k is not None:
        ct = var.dtype.type
        fv, fms, fg = flat[:3]
        fmg = flat[3] if centered else fms       # unused placeholders keep one signature
        fmom = flat[-1] if momentum > 0 else fms
        if jit.run(k.rmsprop, fv, fms, fg, fmg, fmom, ct(lr), ct(rho), ct(c), ct(momentum),
                   ct(eps), bool(centered), momentum > 0):
            return
    for blk in _blocks(tuple(arrays)):
        vb, msb, gb = blk[:3]
        t1, t2 = blk[-2], blk[-1]
        np.multiply(gb, gb, out=t1)
        t1 -= msb
        t1 *= c
        msb += t1                            # ms = rho*ms + (1-rho)*g*g
        if centered:
            mgb = blk[3]
            np.subtract(gb, mgb, out=t2)
            t2 *= c
            mgb += t2                        # mg = rho*mg + (1-rho)*g
            np.multiply(mgb, mgb, out=t1)
            np.subtract(msb, t1, out=t1)     # ms - mg*mg
            t1 += eps
        else:
            np.add(msb, eps, out=t1)
        np.sqrt(t1, out=t1)
        np.divide(gb, t1, out=t1)
        t1 *= lr                             # increment = lr*g/sqrt(denominator)
        if momentum > 0:
            momb = blk[-3]
            momb *= momentum
            momb += t1
            vb -= momb
        else:
            vb -= t1


def adagrad_update(var, acc, grad, lr, epsilon):
    """Keras 3 Adagrad, in place: acc += g*g; var -= lr*g/sqrt(acc + epsilon).

    Example:
        >>> import numpy as np
        >>> w = np.zeros(1, np.float32); acc = np.full(1, 0.1, np.float32)
        >>> adagrad_update(w, acc, np.full(1, 2.0, np.float32), 0.1, 1e-7)
        >>> acc, w.round(4)
        (array([4.1], dtype=float32), array([-0.0988], dtype=float32))
    """
    g = _as_grad(grad, var)
    lr, eps = float(lr), float(epsilon)
    k, flat = _compiled((var, acc, g))
    if k is not None:
        c = var.dtype.type
        if jit.run(k.adagrad, *flat, c(lr), c(eps)):
            return
    for vb, accb, gb, t1, _ in _blocks((var, acc, g)):
        np.multiply(gb, gb, out=t1)
        accb += t1
        np.add(accb, eps, out=t1)
        np.sqrt(t1, out=t1)
        np.divide(gb, t1, out=t1)
        t1 *= lr
        vb -= t1
