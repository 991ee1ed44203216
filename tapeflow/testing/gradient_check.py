"""Numeric-vs-analytic gradient checking, first and second order.

`check_gradients(f, args)` compares the gradients a `GradientTape` computes
for `f` with central differences:

* first order: the output is reduced to a scalar by a fixed random
  projection `L = sum(r * f(args))`; each element of each floating argument
  is nudged by `+-eps` and `(L(x+eps) - L(x-eps)) / 2eps` is compared with
  `dL/dx` from the tape.
* second order: a second random projection of the analytic first gradient,
  `S = sum_i sum(v_i * dL/dx_i)`, is differentiated by an outer tape and by
  central differences of the (tape-computed) first gradient. This checks the
  gradient of each op's gradient rule, which nested tapes rely on.

Numeric derivatives are taken in float64 whenever `f` accepts float64
arguments (so the comparison measures the analytic gradient's error, not
float32 round-off in the differences). Arguments that are Variables keep
their dtype: they are perturbed in place with `assign` and restored after.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> from tapeflow.testing import check_gradients
    >>> x = np.array([0.5, -1.2, 2.0], np.float32)
    >>> check_gradients(lambda x: tf.sin(x) * x, [x])
"""
from __future__ import annotations

import numpy as np

__all__ = ["GradientCheckError", "check_gradients", "exercised_ops"]

# Names of the ops whose gradient rules a passing check has exercised (at either
# order), over the whole process: the op-coverage test reads it.
_EXERCISED: set = set()


def exercised_ops() -> frozenset:
    """Names of the ops whose rules a passing `check_gradients` call has exercised
    (an op on the path from a checked argument to the checked output) in this process."""
    return frozenset(_EXERCISED)


def _note_ops(tape, targets, into):
    """Adds the ops a walk from `targets` over `tape`'s entries visits to `into`."""
    from tapeflow.autodiff.backprop import _producers
    for t in targets:
        for op, _, _, _ in _producers(tape._entries, t):
            into.add(op.name)


class GradientCheckError(AssertionError):
    """Analytic and numeric gradients disagree (the message says where and by how much)."""


# (eps, rtol, atol) by the dtype the numeric derivative is computed in, and
# (rtol, atol) by the dtype the analytic gradient is computed in. eps sits near
# the cube root of the dtype's resolution, where central differences are most
# accurate (truncation error ~eps^2, round-off ~ulp/eps).
_NUMERIC = {np.dtype(np.float64): (1e-6, 1e-5, 1e-6),
            np.dtype(np.float32): (2e-3, 1e-2, 1e-2),
            np.dtype(np.float16): (1e-1, 5e-2, 5e-2)}
_ANALYTIC = {np.dtype(np.float64): (1e-5, 1e-6),
             np.dtype(np.float32): (2e-3, 2e-4),
             np.dtype(np.float16): (2e-2, 2e-2)}


def _is_var(x) -> bool:
    return getattr(x, "_is_variable", False)


def _is_float_value(x) -> bool:
    if _is_var(x):
        return x.dtype.is_floating
    if hasattr(x, "dtype"):
        return np.dtype(getattr(x.dtype, "as_numpy_dtype", x.dtype)).kind == "f"
    return isinstance(x, float) or (isinstance(x, (list, tuple)) and
                                    np.asarray(x).dtype.kind == "f")


def _prepare(args, dtype):
    """Arguments for one evaluation: floating non-Variables become constants of `dtype`
    (None: their own dtype); the rest pass through."""
    import tapeflow as tf
    out = []
    for a in args:
        if _is_var(a) or not _is_float_value(a):
            out.append(a)
        else:
            arr = np.asarray(a)
            if arr.dtype.kind != "f":
                arr = arr.astype(np.float32)
            out.append(tf.constant(arr if dtype is None else arr.astype(dtype)))
    return out


def _flat_float_outputs(y):
    from tapeflow.framework.op import as_input
    from tapeflow.utils import nest
    flat = [as_input(t) for t in nest.flatten(y) if t is not None]
    return [t for t in flat if t.dtype.is_floating]


class _Problem:
    """What is checked: f, the differentiable argument positions and the projections."""

    def __init__(self, f, args, seed):
        self.f = f
        self.args = list(args)
        self.wrt = [i for i, a in enumerate(self.args) if _is_float_value(a)]
        if not self.wrt:
            raise ValueError("check_gradients: no floating-point argument to differentiate; "
                             f"received argument types {[type(a).__name__ for a in args]}.")
        self.rng = np.random.default_rng(seed)
        self.r = None      # output projections, set on the first evaluation
        self.v = None      # first-gradient projections (second order)
        self.ops = set()   # ops whose rules the analytic gradients went through

    def projections(self, ys):
        if self.r is None:
            self.r = [self.rng.uniform(0.5, 1.5, t.shape.as_list()) *
                      self.rng.choice([-1.0, 1.0], t.shape.as_list()) for t in ys]
        if len(ys) != len(self.r):
            raise ValueError("check_gradients: f returned a different number of outputs "
                             "between calls.")
        return self.r

    def value(self, call_args):
        """L = sum(r * f(args)), accumulated in float64."""
        ys = _flat_float_outputs(self.f(*call_args))
        if not ys:
            raise ValueError("check_gradients: f returned no floating-point tensor.")
        return sum(float(np.sum(np.asarray(y, np.float64) * r))
                   for y, r in zip(ys, self.projections(ys)))

    def first(self, call_args, tape_cls):
        """dL/dx for every differentiable argument (zeros where unconnected)."""
        import tapeflow as tf
        srcs = [call_args[i] for i in self.wrt]
        with tape_cls() as tape:
            for s in srcs:
                tape.watch(s)
            ys = _flat_float_outputs(self.f(*call_args))
            rs = [tf.constant(r.astype(y.dtype.as_numpy_dtype)) for y, r in
                  zip(ys, self.projections(ys))]
        _note_ops(tape, ys, self.ops)
        return tape.gradient(ys, srcs, output_gradients=rs,
                             unconnected_gradients="zero")

    def second_value(self, call_args):
        """S = sum_i sum(v_i * dL/dx_i), in float64."""
        gs = self.first(call_args, _tape())
        return sum(float(np.sum(np.asarray(g, np.float64) * v)) for g, v in zip(gs, self.v))

    def second(self, call_args):
        import tapeflow as tf
        srcs = [call_args[i] for i in self.wrt]
        with _tape()(persistent=True) as outer:
            for s in srcs:
                outer.watch(s)
            gs = self.first(call_args, _tape())
            s_val = tf.add_n([tf.reduce_sum(g * tf.constant(v.astype(g.dtype.as_numpy_dtype)))
                              for g, v in zip(gs, self.v)])
        _note_ops(outer, [s_val], self.ops)
        return outer.gradient(s_val, srcs, unconnected_gradients="zero")


def _tape():
    import tapeflow as tf
    return tf.GradientTape


def _numeric(problem, fn, numeric_dtype, eps):
    """Central differences of the scalar `fn(call_args)` w.r.t. each differentiable arg."""
    base = _prepare(problem.args, numeric_dtype)
    grads = []
    for i in problem.wrt:
        a = problem.args[i]
        if _is_var(a):
            grads.append(_numeric_variable(a, lambda: fn(base), eps))
            continue
        x0 = np.array(np.asarray(base[i]), dtype=np.float64)
        g = np.zeros(x0.shape, np.float64)
        import tapeflow as tf
        dt = base[i].dtype.as_numpy_dtype
        for idx in np.ndindex(*x0.shape):
            h = eps * max(1.0, abs(x0[idx]))
            xp = x0.copy()
            xp[idx] += h
            xm = x0.copy()
            xm[idx] -= h
            call = list(base)
            call[i] = tf.constant(xp.astype(dt))
            fp = fn(call)
            call[i] = tf.constant(xm.astype(dt))
            fm = fn(call)
            # The step actually taken after rounding to the argument's dtype.
            step = float(xp.astype(dt)[idx]) - float(xm.astype(dt)[idx])
            g[idx] = (fp - fm) / step
        grads.append(g)
    return grads


def _numeric_variable(var, fn, eps):
    saved = np.array(var.numpy(), copy=True)
    x0 = saved.astype(np.float64)
    g = np.zeros(x0.shape, np.float64)
    dt = saved.dtype
    try:
        for idx in np.ndindex(*x0.shape):
            h = eps * max(1.0, abs(x0[idx]))
            xp = x0.copy()
            xp[idx] += h
            xm = x0.copy()
            xm[idx] -= h
            var.assign(xp.astype(dt))
            fp = fn()
            var.assign(xm.astype(dt))
            fm = fn()
            g[idx] = (fp - fm) / (float(xp.astype(dt)[idx]) - float(xm.astype(dt)[idx]))
    finally:
        var.assign(saved)
    return g


def _numeric_dtype(problem):
    """float64 if f computes in float64 when given float64 arguments, else None (own dtypes)."""
    has_var = any(_is_var(problem.args[i]) for i in problem.wrt)
    if has_var:
        return None
    try:
        ys = _flat_float_outputs(problem.f(*_prepare(problem.args, np.float64)))
    except Exception:  # noqa: BLE001 - f may insist on float32 (constants, layers)
        return None
    if ys and all(y.dtype.as_numpy_dtype == np.float64 for y in ys):
        return np.float64
    return None


def _compare(order, problem, analytic, numeric, rtol, atol):
    for k, (i, a, n) in enumerate(zip(problem.wrt, analytic, numeric)):
        arg = problem.args[i]
        name = getattr(arg, "name", None) if _is_var(arg) else None
        label = f"argument #{i}" + (f" (Variable '{name}')" if name else "")
        if a is None:
            a_arr = np.zeros_like(n)
        else:
            a_arr = np.asarray(a, np.float64)
        if a_arr.shape != n.shape:
            raise GradientCheckError(
                f"order-{order} gradient of {label} has shape {a_arr.shape}; expected the "
                f"argument's shape {n.shape}.")
        scale = max(1.0, float(np.max(np.abs(n))) if n.size else 1.0)
        err = np.abs(a_arr - n)
        bad = err > atol * scale + rtol * np.abs(n)
        if np.any(bad) or not np.all(np.isfinite(a_arr)) and np.all(np.isfinite(n)):
            idx = tuple(int(j) for j in np.unravel_index(
                int(np.argmax(np.where(bad, err, -1))), n.shape))
            raise GradientCheckError(
                f"order-{order} gradient mismatch for {label} of shape {n.shape}: "
                f"{int(np.sum(bad))} of {n.size} elements differ; worst at index {idx}: "
                f"analytic {float(a_arr[idx]):.6g} vs numeric {float(n[idx]):.6g} (max abs error "
                f"{float(np.max(err)):.3g}, rtol={rtol}, atol={atol * scale:.3g}).")


def check_gradients(f, args, order=2, eps=None, rtol=None, atol=None, seed=0):
    """Checks tape gradients of `f(*args)` against central differences.

    Args:
        f: a function of the arguments returning a tensor or a nested structure
            of tensors (non-floating outputs are ignored).
        args: a list of arguments: NumPy arrays, Python floats, tensors or
            Variables. Floating ones are differentiated; the rest (integer
            indices, ...) are passed through unchanged.
        order: 1 checks first derivatives; 2 also checks the gradient of a
            random projection of the first gradient.
        eps: the finite-difference step (relative to max(1, |x|)); default by
            the dtype the differences are taken in (1e-6 in float64).
        rtol, atol: tolerances of `|analytic - numeric| <= atol * scale +
            rtol * |numeric|` where `scale = max(1, max|numeric|)`; defaults
            by the dtype of the analytic gradient (1e-5/1e-6 for float64,
            2e-3/2e-4 for float32).
        seed: seeds the random projections.

    Raises:
        GradientCheckError: naming the order, the argument, the worst element
            and the analytic and numeric values there.

    Example:
        >>> import numpy as np
        >>> import tapeflow as tf
        >>> check_gradients(lambda a, b: tf.matmul(a, b),
        ...                 [np.ones((2, 3)), np.arange(6.).reshape(3, 2)], order=1)
    """
    if order not in (1, 2):
        raise ValueError(f"check_gradients: order must be 1 or 2; received {order!r}.")
    problem = _Problem(f, args, seed)
    numeric_dtype = _numeric_dtype(problem)
    own = _prepare(problem.args, None)

    analytic_dtypes = [np.dtype(own[i].dtype.as_numpy_dtype) for i in problem.wrt]
    worst = max(analytic_dtypes, key=lambda d: _ANALYTIC.get(d, (2e-2,))[0])
    a_rtol, a_atol = _ANALYTIC.get(worst, (2e-2, 2e-2))
    n_key = np.dtype(np.float64) if numeric_dtype is not None else worst
    n_eps, n_rtol, n_atol = _NUMERIC.get(n_key, (1e-1, 5e-2, 5e-2))
    eps = n_eps if eps is None else eps
    rtol = max(a_rtol, n_rtol) if rtol is None else rtol
    atol = max(a_atol, n_atol) if atol is None else atol

    analytic = problem.first(own, _tape())
    numeric = _numeric(problem, problem.value, numeric_dtype, eps)
    _compare(1, problem, analytic, numeric, rtol, atol)
    if order == 1:
        _EXERCISED.update(problem.ops)
        return
    problem.v = [problem.rng.uniform(0.5, 1.5, n.shape) * problem.rng.choice([-1.0, 1.0], n.shape)
                 for n in numeric]
    analytic2 = problem.second(own)
    numeric2 = _numeric(problem, problem.second_value, numeric_dtype, eps)
    _compare(2, problem, analytic2, numeric2, rtol, atol)
    _EXERCISED.update(problem.ops)
