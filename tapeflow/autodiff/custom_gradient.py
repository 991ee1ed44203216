"""`tf.custom_gradient`: a function that supplies its own gradient.

The decorated function returns `(outputs, grad_fn)`. Its forward ops run with
tapes paused; each recording tape instead gets one entry whose gradient rule
calls `grad_fn`. `grad_fn` is written in tapeflow ops, so an outer tape
records it too: second derivatives of a custom gradient work when `grad_fn`
computes from the inputs.

    >>> import tapeflow as tf
    >>> @tf.custom_gradient
    ... def clip_grad_identity(x):
    ...     def grad(dy):
    ...         return tf.clip_by_value(dy, -1., 1.)
    ...     return tf.identity(x), grad
    >>> x = tf.constant(2.)
    >>> with tf.GradientTape() as t:
    ...     t.watch(x)
    ...     y = clip_grad_identity(x) * 10.
    >>> float(t.gradient(y, x))
    1.0
"""
from __future__ import annotations

import functools
import inspect

from tapeflow.framework.context import state
from tapeflow.framework.op import OpDef, as_input
from tapeflow.framework.tensor import Tensor, is_tensor
from tapeflow.utils import nest


def _kernel_unused(*args, **kwargs):  # pragma: no cover - never executed
    raise RuntimeError("custom_gradient entries are recorded, never executed")


def _accepts_variables(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "variables" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _as_arg(a):
    """Numbers and arrays become tensors (as TF converts them); objects that are not
    tensor-like (`self` of a decorated method, callables) pass through unchanged."""
    if is_tensor(a) or callable(a):
        return a
    try:
        return as_input(a)
    except (TypeError, ValueError):
        return a


def custom_gradient(f=None):
    """Decorator: `f(*x) -> (y, grad_fn)`; `grad_fn(*dy) -> dx` (and var grads)."""
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def decorated(*args, **kwargs):
        from tapeflow.autodiff.tape import GradientTape
        tapes = state.tapes
        inputs = tuple(_as_arg(a) for a in args)
        tensor_inputs = tuple(a for a in inputs if isinstance(a, Tensor) or
                              getattr(a, "_is_variable", False))
        # Run f with the outer tapes paused; a private tape notes the Variables f reads.
        state.tapes = []
        probe = GradientTape(watch_accessed_variables=True)
        try:
            with probe:
                result, grad_fn = f(*inputs, **kwargs)
        finally:
            state.tapes = tapes
        variables = tuple(v for v in probe.watched_variables()
                          if not any(v is t for t in tensor_inputs))
        if variables and not _accepts_variables(grad_fn):
            raise TypeError(
                f"The custom gradient of {f.__name__} reads the Variables "
                f"{[v.name for v in variables]} but its grad_fn does not accept a `variables` "
                "keyword argument; add `variables=None` to grad_fn and return "
                "(input_grads, variable_grads).")
        flat = [as_input(r) for r in nest.flatten(result)]
        if not tapes:
            return result
        n_in = len(tensor_inputs)

        def rule(x, y, attrs, dy):
            dys = dy if isinstance(dy, tuple) else (dy,)
            if variables:
                in_grads, var_grads = grad_fn(*dys, variables=list(variables))
            else:
                in_grads, var_grads = grad_fn(*dys), []
            in_grads = list(in_grads) if isinstance(in_grads, (list, tuple)) else [in_grads]
            if len(in_grads) != n_in:
                raise ValueError(
                    f"custom_gradient function {f.__name__} expected to return {n_in} "
                    f"gradients, but returned {len(in_grads)} instead.")
            return tuple(None if g is None else as_input(g) for g in in_grads) + tuple(var_grads)

        op = OpDef(f"CustomGradient-{f.__name__}", _kernel_unused, rule, num_outputs=len(flat),
                   register=False)
        outputs = tuple(flat) if len(flat) > 1 else flat[0]
        for tape in tapes:
            tape._record(op, tensor_inputs + variables, outputs, {})
        return nest.pack_sequence_as(result, flat)

    return decorated
