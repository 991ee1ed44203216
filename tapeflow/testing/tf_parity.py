"""Parity with TensorFlow: run one expression with both, compare values and gradients.

An expression is written once against the module it is given, so the very
same code runs on tapeflow and on TensorFlow (the APIs are the same):

    >>> import numpy as np
    >>> from tapeflow.testing import tf_parity
    >>> def expr(tf, x, w):
    ...     return tf.nn.softmax(tf.matmul(x, w))
    >>> args = [np.ones((2, 3), np.float32), np.eye(3, 4, dtype=np.float32)]
    >>> out = tf_parity.run(expr, args, module=__import__('tapeflow'))
    >>> out.value.shape, len(out.grads)
    ((2, 4), 2)

`check(expr, args)` runs it on both (TensorFlow only where installed: the
caller decides to skip otherwise, see `tensorflow_or_skip`) and raises an
AssertionError naming the output or argument that differs. tapeflow never
imports TensorFlow itself; only this testing helper does, on request.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

__all__ = ["Result", "run", "check", "tensorflow", "tensorflow_or_skip"]

_TF = None


def tensorflow():
    """The installed TensorFlow module, or None (imported once, quietly)."""
    global _TF
    if _TF is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import tensorflow as real_tf  # noqa: PLC0415 - optional, tests only
        except ImportError:
            _TF = False
        else:
            _TF = real_tf
    return _TF or None


def tensorflow_or_skip():
    """TensorFlow, or skips the calling pytest test with a note when it is not installed."""
    real_tf = tensorflow()
    if real_tf is None:
        import pytest
        pytest.skip("TensorFlow is not installed: parity with it is not checked")
    return real_tf


class Result(NamedTuple):
    """An expression's outputs (nested as returned, NumPy) and its gradients
    (one per argument; None for non-differentiable or unconnected arguments)."""

    value: object
    grads: list


def _is_float(a) -> bool:
    return np.asarray(a).dtype.kind == "f"


def run(expr, args, module, grads=True, seed=0) -> Result:
    """Runs `expr(module, *constants)` under `module.GradientTape`.

    The gradient is that of `sum(r * outputs)` for a fixed random `r` (seeded,
    so both frameworks see the same projection), w.r.t. each floating argument.
    """
    consts = [module.constant(np.asarray(a)) for a in args]
    with module.GradientTape(persistent=True) as tape:
        for c, a in zip(consts, args):
            if _is_float(a):
                tape.watch(c)
        out = expr(module, *consts)
    flat = module.nest.flatten(out)
    value = module.nest.map_structure(lambda t: np.asarray(t), out)
    gs = []
    if grads:
        rng = np.random.default_rng(seed)
        ys = [t for t in flat if t.dtype.is_floating]
        rs = [module.constant(rng.uniform(-1.0, 1.0, t.shape).astype(t.dtype.as_numpy_dtype))
              for t in ys]
        for c, a in zip(consts, args):
            g = tape.gradient(ys, c, output_gradients=rs) if ys and _is_float(a) else None
            if g is not None and hasattr(g, "indices"):   # TF's IndexedSlices (gather)
                g = module.convert_to_tensor(g)
            gs.append(None if g is None else np.asarray(g))
    del tape
    return Result(value, gs)


def _assert_close(what, mine, theirs, rtol, atol):
    mine, theirs = np.asarray(mine), np.asarray(theirs)
    if mine.shape != theirs.shape:
        raise AssertionError(f"{what}: tapeflow gives shape {mine.shape}, TensorFlow "
                             f"{theirs.shape}.")
    if mine.dtype != theirs.dtype:
        raise AssertionError(f"{what}: tapeflow gives dtype {mine.dtype}, TensorFlow "
                             f"{theirs.dtype}.")
    if mine.dtype.kind in "fc":
        ok = np.allclose(mine, theirs, rtol=rtol, atol=atol, equal_nan=True)
    else:
        ok = np.array_equal(mine, theirs)
    if not ok:
        diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
        raise AssertionError(f"{what} differs from TensorFlow (max abs difference "
                             f"{np.nanmax(diff) if diff.size else 0:.3g}):\n"
                             f"tapeflow:   {mine!r}\nTensorFlow: {theirs!r}")


def check(expr, args, grads=True, rtol=None, atol=None, real_tf=None):
    """Asserts that `expr` gives the same values (and gradients) on tapeflow and TensorFlow.

    Args:
        expr: `expr(module, *tensors)` written against the TF API.
        args: NumPy arrays / numbers; floating ones are differentiated.
        grads: also compare gradients.
        rtol, atol: tolerances (default 1e-5/1e-6 for float64, 1e-4/1e-5 otherwise).
        real_tf: the TensorFlow module (default: imported here; an ImportError
            when missing, so callers usually pass `tensorflow_or_skip()`).
    """
    import tapeflow
    real_tf = real_tf or tensorflow()
    if real_tf is None:
        raise ImportError("tf_parity.check needs TensorFlow installed.")
    f64 = all(np.asarray(a).dtype == np.float64 for a in args if _is_float(a))
    rtol = rtol if rtol is not None else (1e-5 if f64 else 1e-4)
    atol = atol if atol is not None else (1e-6 if f64 else 1e-5)
    mine = run(expr, args, tapeflow, grads)
    theirs = run(expr, args, real_tf, grads)
    flat_m = tapeflow.nest.flatten(mine.value)
    flat_t = real_tf.nest.flatten(theirs.value)
    if len(flat_m) != len(flat_t):
        raise AssertionError(f"tapeflow returns {len(flat_m)} outputs, TensorFlow {len(flat_t)}.")
    for k, (m, t) in enumerate(zip(flat_m, flat_t)):
        _assert_close(f"output #{k}", m, t, rtol, atol)
    for k, (m, t) in enumerate(zip(mine.grads, theirs.grads)):
        if (m is None) != (t is None):
            raise AssertionError(f"gradient of argument #{k}: tapeflow gives "
                                 f"{'None' if m is None else 'a tensor'}, TensorFlow "
                                 f"{'None' if t is None else 'a tensor'}.")
        if m is not None:
            _assert_close(f"gradient of argument #{k}", m, t, rtol, atol)
    return mine
