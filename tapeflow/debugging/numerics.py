"""`tf.debugging.check_numerics`, `enable_check_numerics` and `set_log_device_placement`.

`check_numerics(t, message)` is an op: its kernel raises when `t` holds a NaN or an Inf, and
its gradient checks the incoming gradient the same way. `enable_check_numerics()` checks the
output of every floating op from then on: eager ops as they run, and functions traced while
it is on at each step of their plan. The first NaN or Inf raises an `InvalidArgumentError`
that names the op, the user's line that created it (for traced code, the line noted while
tracing), what was wrong with its inputs and, in a backward pass, the forward op whose
gradient rule produced it.

    >>> import tapeflow as tf
    >>> tf.debugging.check_numerics(tf.constant([1.0, 2.0]), "ok").numpy()
    array([1., 2.], dtype=float32)
"""
from __future__ import annotations

import sys

import numpy as np

from tapeflow.debugging import origin as origin_mod
from tapeflow.framework import dtypes, errors
from tapeflow.framework import op as op_mod
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.function import plan as plan_mod

_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"


# -- tf.debugging.check_numerics ---------------------------------------------------------

def _bad_kinds(value) -> str:
    nan = bool(np.isnan(value).any())
    inf = bool(np.isinf(value).any())
    return "Inf and NaN" if nan and inf else "NaN" if nan else "Inf"


def _check_numerics_kernel(x, message):
    if x.dtype.kind not in "fc":
        raise errors.op_error("CheckNumerics", f"Value for attr 'T' of {x.dtype} is not in the "
                              "list of allowed values: bfloat16, half, float, double")
    if not np.isfinite(x).all():
        raise errors.op_error("CheckNumerics", f"{message} : Tensor had {_bad_kinds(x)} values")
    return x


def _check_numerics_grad(inputs, outputs, attrs, dy):
    return (check_numerics(dy, "Not a number (NaN) or infinity (Inf) values detected in "
                           "gradient. " + attrs["message"]),)


_CHECK_NUMERICS = OpDef("CheckNumerics", _check_numerics_kernel, _check_numerics_grad,
                        shape_fn=lambda inputs, attrs: [(inputs[0].shape, inputs[0].dtype)],
                        stateful=True, aliases=True)


def check_numerics(tensor, message, name=None):
    """Returns `tensor`, raising `InvalidArgumentError` if it holds a NaN or an Inf.

    Args:
        tensor: a floating tensor.
        message: the start of the error message.
    """
    x = as_input(tensor)
    if not x.dtype.is_floating:
        raise errors.op_error("CheckNumerics", f"Value for attr 'T' of {x.dtype.name} is not "
                              "in the list of allowed values: bfloat16, half, float, double")
    return execute(_CHECK_NUMERICS, (x,), {"message": str(message)})


# -- what went wrong: the inputs ---------------------------------------------------------

def _count(mask) -> int:
    return int(np.count_nonzero(mask))


def _domain_hint(op_name, arrays) -> str:
    """Why an op with finite inputs made a NaN/Inf, for the ops where that is common."""
    a = np.asarray(arrays[0]) if arrays else None
    if a is None or a.dtype.kind not in "fc":
        return ""
    if op_name in ("Log", "Log1p", "Xlogy"):
        low = -1 if op_name == "Log1p" else 0
        neg, zero = _count(a < low), _count(a == low)
        parts = []
        if neg:
            parts.append(f"{neg} value(s) below {low} (log is NaN there)")
        if zero:
            parts.append(f"{zero} value(s) equal to {low} (log is -Inf there)")
        return f"input #0 has {' and '.join(parts)}" if parts else ""
    if op_name in ("Sqrt", "Rsqrt", "SqrtGrad", "RsqrtGrad"):
        neg, zero = _count(a < 0), _count(a == 0)
        if neg:
            return f"input #0 has {neg} negative value(s) (the square root is NaN there)"
        if zero:
            return f"input #0 has {zero} zero(s) (1/sqrt is Inf there)"
    if op_name in ("RealDiv", "Div", "DivNoNan", "Reciprocal", "FloorDiv") and arrays:
        den = np.asarray(arrays[-1])
        zero = _count(den == 0)
        if zero:
            return f"the divisor (input #{len(arrays) - 1}) has {zero} zero(s)"
    if op_name in ("Exp", "Expm1", "Pow", "Square", "Mul", "MatMul", "Cosh", "Sinh"):
        big = np.abs(a).max() if a.size else 0
        return f"no input is NaN/Inf: the result overflowed {a.dtype} (input #0 reaches {big:g})"
    return ""


def _describe_inputs(op_name, inputs, arrays) -> str:
    lines = []
    for i, arr in enumerate(arrays):
        arr = np.asarray(arr)
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            source = inputs[i] if inputs is not None else None
            where = _where_from(source)
            lines.append(f"input #{i} already held {_bad_kinds(arr)} values{where}")
    if lines:
        return "; ".join(lines)
    hint = _domain_hint(op_name, arrays)
    if hint:
        return hint
    ranges = ", ".join(f"#{i} in [{np.min(a):g}, {np.max(a):g}]" for i, a in
                       enumerate(np.asarray(x) for x in arrays)
                       if a.dtype.kind in "fiu" and a.size)
    return "all inputs were finite" + (f" ({ranges})" if ranges else "")


def _where_from(tensor) -> str:
    if tensor is None:
        return ""
    if getattr(tensor, "_is_variable", False):
        return f" (Variable '{tensor.name}')"
    o = origin_mod.origin_of(tensor)
    if o is not None:
        return f" (made by {o.describe()})"
    return " (it came from outside tapeflow's checks: a constant or a value made before " \
           "checks were enabled)"


def _counts(value) -> list:
    out = []
    for label, mask in (("NaN", np.isnan(value)), ("-Inf", np.isneginf(value)),
                        ("+Inf", np.isposinf(value))):
        n = _count(mask)
        if n:
            out.append(f"  # of {label} elements: {n}")
    return out


def numerics_error(op_name, index, n_outputs, value, inputs, arrays, origin, graph_name=None):
    """The error raised for the first NaN/Inf: op, line, bad input, forward op."""
    kind = f'graph op "{op_name}"' if graph_name else f'eagerly-executing op "{op_name}"'
    dtype = dtypes.from_numpy(value.dtype)
    lines = [(f"\n\n!!! Detected Infinity or NaN in output {index} of {kind} "
              f"(# of outputs: {n_outputs}) !!!"),
             f"  dtype: <dtype: '{dtype.name}'>", f"  shape: {tuple(value.shape)}"]
    lines += _counts(value)
    if graph_name:
        lines.append(f'  Graph name: "{graph_name}"')
    lines.append("")
    if origin is not None and origin.layer:
        lines.append(f"  In Keras layer {origin.layer}")
    if origin is not None and origin.filename is not None:
        lines.append(f"  Created at {origin.where}")
        if origin.source_line:
            lines.append(f"    {origin.source_line}")
    if origin is not None and origin.grad_of is not None:
        fwd = origin.grad_of
        lines.append(f"  In the backward pass: made by the gradient of {fwd.describe()}")
    lines.append("  Inputs: " + _describe_inputs(op_name, inputs, arrays))
    lines.append("")
    return errors.op_error("CheckNumericsV2",
                           "\n".join(lines) + f" : Tensor had {_bad_kinds(value)} values")


# -- the dispatch hook --------------------------------------------------------------------

class _Modes:
    numerics = False
    placement = False
    explain = False
    listener = None     # another tool's per-op callback (tf.summary.trace_on)


modes = _Modes()


def _dispatch_hook(op, inputs, outs, attrs):
    if modes.listener is not None:
        modes.listener(op, inputs, outs, attrs)
    outputs = outs if type(outs) is tuple else (outs,)
    origin = origin_mod.current_origin(op.name, 2)
    if modes.explain:
        origin.inputs = tuple(inputs)
    for o in outputs:
        origin_mod.note(o, origin)
    if modes.placement and outputs and not outputs[0]._is_symbolic:
        print(f"Executing op {op.name} in device {_DEVICE}", file=sys.stderr)
    if modes.numerics and op is not _CHECK_NUMERICS:
        for i, o in enumerate(outputs):
            if o._is_symbolic:      # traced: checked when its plan runs
                continue
            v = o._value
            if v.dtype.kind not in "fc" or np.isfinite(v).all():
                continue
            raise numerics_error(op.name, i, len(outputs), v, inputs,
                                 [x._value for x in inputs], origin)


def _plan_checker(name, steps):
    """The per-step check compiled into plans traced while checks are on."""
    def check(k, outputs, arrays):
        if not modes.numerics:
            return
        for i, v in enumerate(outputs):
            if not isinstance(v, np.ndarray) and not isinstance(v, np.generic):
                continue
            if v.dtype.kind not in "fc" or np.isfinite(v).all():
                continue
            node = steps[k].node
            origin = origin_mod.origin_of(node.outputs[0]) if node.outputs else None
            raise numerics_error(node.op.name, i, len(outputs), np.asarray(v), node.inputs,
                                 arrays, origin, graph_name=name)
    return check


def _refresh_hooks():
    on = modes.numerics or modes.placement or modes.explain
    op_mod.dispatch_hook = _dispatch_hook if on else modes.listener
    plan_mod.check_hook = _plan_checker if modes.numerics else None
    if not on:
        origin_mod.clear()


def set_mode(name: str, enabled: bool) -> None:
    """Turns one debugging mode on or off (the hook is installed while any is on)."""
    setattr(modes, name, bool(enabled))
    _refresh_hooks()


def add_listener(listener) -> None:
    """Installs (or, with None, removes) a per-op callback `listener(op, inputs, outputs,
    attrs)` beside the debugging modes."""
    modes.listener = listener
    _refresh_hooks()


def enable_check_numerics(stack_height_limit=30, path_length_limit=50):
    """Checks every floating op's output for NaN and Inf from now on.

    Eager ops are checked as they run; functions traced from now on are checked at
    each step. The first NaN/Inf raises an `InvalidArgumentError` naming the op, the
    line of user code that created it, what its inputs held and, in a backward pass,
    the forward op whose gradient produced it.
    """
    set_mode("numerics", True)


def disable_check_numerics():
    """Stops the checks started by `enable_check_numerics`."""
    set_mode("numerics", False)


def set_log_device_placement(enabled):
    """Logs the device of every eagerly executed op to stderr (always the CPU here)."""
    set_mode("placement", enabled)


def get_log_device_placement() -> bool:
    """Whether `set_log_device_placement(True)` is in effect."""
    return modes.placement
