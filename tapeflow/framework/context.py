"""Execution state shared by the op dispatcher, tapes and tracing.

One module-level object so that the hot path (`execute`) reads two plain
attributes: the active tapes and the graph being traced (None when eager).
Tapes and graphs are per process, not per thread: tapeflow's background
threads (dataset prefetch) run kernels but never open tapes or traces.
"""
from __future__ import annotations

import contextlib


class _State:
    __slots__ = ("tapes", "graph", "name_scope", "trace_stack", "tape_pause")

    def __init__(self):
        self.tapes = []          # recording GradientTapes, innermost last
        self.graph = None        # the FuncGraph being traced, or None when eager
        self.name_scope = []     # stack of tf.name_scope names
        self.trace_stack = []    # enclosing graphs while tracing nested functions
        self.tape_pause = []     # saved tape lists of stop_recording/init_scope


state = _State()


def executing_eagerly() -> bool:
    """True outside `tf.function` tracing and Keras symbolic builds."""
    return state.graph is None


@contextlib.contextmanager
def init_scope():
    """Leaves any graph being traced and pauses tapes: code inside runs eagerly.

    Variable initializers run here, so that a Variable created while a
    function is first traced starts with a concrete value.
    """
    saved_graph, saved_tapes = state.graph, state.tapes
    state.graph, state.tapes = None, []
    try:
        yield
    finally:
        state.graph, state.tapes = saved_graph, saved_tapes


@contextlib.contextmanager
def name_scope(name: str):
    """`tf.name_scope`: prefixes names of Variables and layer weights."""
    if name:
        state.name_scope.append(name.rstrip("/"))
    try:
        yield (current_scope() + "/") if name else ""
    finally:
        if name:
            state.name_scope.pop()


def current_scope() -> str:
    return "/".join(state.name_scope)
