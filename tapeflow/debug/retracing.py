"""`explain_retracing(fn)`: every trace of a `tf.function` and the change that caused it.

    >>> import tapeflow as tf
    >>> f = tf.function(lambda x: x * 2)
    >>> _ = f(tf.constant(1.0)); _ = f(tf.constant([1.0, 2.0]))
    >>> for line in explain_retracing(f): print(line)
    trace 1: first call (x: a float32 tensor of shape ())
    trace 2: argument 'x': shape () -> (2,)
"""
from __future__ import annotations

from tapeflow.function import signature as sig_mod


def _describe_key(names, key) -> str:
    parts = []
    for name, arg in zip(names, key):
        tokens = ", ".join(sig_mod._token_text(t) for t in arg) if arg else "nothing"
        parts.append(f"{name}: {tokens}")
    return "; ".join(parts)


def explain_retracing(fn) -> list:
    """One line per trace of `fn` (a `tf.function`): the first call's signature, then
    for each retrace the argument that differed from the trace before it and how.

    Args:
        fn: what `tf.function` returned (or a method of an object decorated with it).
    """
    log = getattr(fn, "_trace_log", None)
    if log is None:
        raise TypeError(f"explain_retracing expects a tf.function; got {type(fn).__name__}.")
    lines = []
    if getattr(fn, "_input_signature", None) is not None:
        traced = None in fn._cache
        lines.append(f"trace 1: input_signature {list(fn._input_signature)}"
                     + ("" if traced else " (not traced yet)"))
        return lines
    prev = None
    for i, (names, key) in enumerate(log, 1):
        if prev is None:
            lines.append(f"trace {i}: first call ({_describe_key(names, key)})")
        else:
            arg, change = sig_mod.describe_change(names, prev, key)
            lines.append(f"trace {i}: " + (f"argument '{arg}': {change}" if arg else change))
        prev = key
    return lines
