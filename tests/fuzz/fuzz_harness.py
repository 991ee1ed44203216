"""Runs one drawn call on tapeflow and on TensorFlow and requires they agree.

A case is `(call, arrays)`: `call(module, *tensors)` written once against the
shared tf API, `arrays` NumPy inputs made into constants of each module. Either
both raise, or both return outputs of the same dtype and shape with values close
(NaN where the other has NaN); for float inputs and float outputs, the
gradients of a fixed random projection of the outputs agree too (both None for
an unconnected input).
"""
from __future__ import annotations

import numpy as np

# Tolerances by dtype: float32 kernels differ in summation order and in libm.
_RTOL = {"float16": 2e-2, "float32": 2e-4, "float64": 1e-7}
_ATOL = {"float16": 2e-2, "float32": 2e-5, "float64": 1e-9}
_GRAD_RTOL, _GRAD_ATOL = 2e-3, 2e-4


class Disagreement(AssertionError):
    pass


def _flat(out):
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat(o)]
    if isinstance(out, dict):
        return [t for k in sorted(out) for t in _flat(out[k])]
    return [out]


def _is_float(dtype_name):
    return dtype_name.startswith("float")


def run(module, call, arrays, grad=True):
    """('ok', [(dtype name, array)], [grad or None]) or ('raise', exception)."""
    try:
        tensors = [module.constant(a) for a in arrays]
        watched = [t for t in tensors if _is_float(t.dtype.name)]
        with module.GradientTape(persistent=True) as tape:
            for t in watched:
                tape.watch(t)
            outs = _flat(call(module, *tensors))
            loss = None
            for i, o in enumerate(outs):
                if grad and _is_float(o.dtype.name) and int(np.prod(o.shape)) > 0:
                    w = np.random.default_rng(i).uniform(0.5, 1.5, tuple(o.shape))
                    term = module.reduce_sum(o * module.constant(w.astype(o.dtype.name)))
                    term = module.cast(term, module.float64)
                    loss = term if loss is None else loss + term
        values = [(o.dtype.name, np.asarray(o.numpy())) for o in outs]
    except Exception as e:  # noqa: BLE001 -- whether it raised is what is compared
        return "raise", e, None
    grads = []
    if grad and watched:
        try:
            g = tape.gradient(loss, watched) if loss is not None else [None] * len(watched)
            grads = [None if x is None else np.asarray(module.convert_to_tensor(x).numpy())
                     for x in g]
        except Exception as e:  # noqa: BLE001 -- compared by the caller
            grads = e
    return "ok", values, grads


def _close(a, b, rtol, atol):
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        with np.errstate(invalid="ignore", over="ignore"):    # inf - inf while comparing
            return np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True) and \
                np.array_equal(np.isnan(a), np.isnan(b))
    return np.array_equal(a, b)


def check(call, arrays, tf_module, tapeflow_module, grad=True, describe=""):
    """Raises Disagreement unless tapeflow and TF both raise or agree; returns 'raise'/'ok'."""
    want = run(tf_module, call, arrays, grad)
    got = run(tapeflow_module, call, arrays, grad)
    shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in arrays)
    where = f"{describe} on ({shapes})"
    if want[0] != got[0]:
        theirs = "raised " + repr(want[1]) if want[0] == "raise" else "returned"
        ours = "raised " + repr(got[1]) if got[0] == "raise" else "returned " + repr(got[1])
        raise Disagreement(f"{where}: TF {theirs} but tapeflow {ours}")
    if want[0] == "raise":
        return "raise"
    (_, tv, tg), (_, gv, gg) = want, got
    if len(tv) != len(gv):
        raise Disagreement(f"{where}: TF gave {len(tv)} outputs, tapeflow {len(gv)}")
    for k, ((td, ta), (gd, ga)) in enumerate(zip(tv, gv)):
        if td != gd:
            raise Disagreement(f"{where}: output {k} dtype TF {td}, tapeflow {gd}")
        if ta.shape != ga.shape:
            raise Disagreement(f"{where}: output {k} shape TF {ta.shape}, tapeflow {ga.shape}")
        if not _close(ta, ga, _RTOL.get(td, 0), _ATOL.get(td, 0)):
            raise Disagreement(f"{where}: output {k} values differ:\nTF {ta!r}\ntapeflow {ga!r}")
    if isinstance(tg, Exception):
        # TF's gradient itself fails (e.g. GatherNd's rule on rank-1 indices): its forward
        # agreed; there is nothing to compare the gradient with.
        return "tf_gradient_raised"
    if isinstance(gg, Exception):
        raise Disagreement(f"{where}: TF's gradient worked but tapeflow's raised {gg!r}")
    for k, (a, b) in enumerate(zip(tg, gg)):
        if (a is None) != (b is None):
            raise Disagreement(f"{where}: gradient {k}: TF {a!r}, tapeflow {b!r}")
        if a is not None and not _close(a, b.astype(a.dtype) if a.shape == b.shape else b,
                                        _GRAD_RTOL, _GRAD_ATOL):
            raise Disagreement(f"{where}: gradient {k} differs:\nTF {a!r}\ntapeflow {b!r}")
    return "ok"
