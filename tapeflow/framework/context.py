"""Execution state read by the op dispatcher, tapes and tracing: one per thread.

The hot path (`execute`) reads two attributes of `state` on every op: the
recording tapes and the graph being traced (None when eager). As in
TensorFlow, this state belongs to the thread that set it: a `tf.function`
traced in one thread leaves another thread eager, and a tape records only
the ops of the thread that opened it.

`state` is a `threading.local`: its `__init__`, which `threading.local` runs
once in each thread on its first access, gives every thread its own
attributes. A read costs a dict look-up more than a plain slot, so `execute`
reads the thread's `__dict__` once and subscripts it (measured with
bench/eager_overhead.py: plain attribute reads made eager dispatch ~7% slower
than the old process-wide object, this ~4%).

    >>> import threading
    >>> seen = []
    >>> state.graph = "traced here"
    >>> t = threading.Thread(target=lambda: seen.append(state.graph))
    >>> t.start(); t.join()
    >>> state.graph = None
    >>> seen
    [None]
"""
from __future__ import annotations

import contextlib
import threading


class _State(threading.local):
    """The calling thread's tapes, graph, name scopes and trace stack."""

    def __init__(self):
        self.graph = None        # the FuncGraph being traced, or None when eager
        self.tapes = []          # recording GradientTapes, innermost last
        self.name_scope = []     # stack of tf.name_scope names
        self.trace_stack = []    # enclosing graphs while tracing nested functions
        self.tape_pause = []     # saved tape lists of stop_recording/init_scope
        self.variable_watch = []  # tf.function traces noting Variable creation (VariableWatch)


state = _State()


def executing_eagerly() -> bool:
    """True outside `tf.function` tracing and Keras symbolic builds (in this thread)."""
    return state.graph is None


@contextlib.contextmanager
def init_scope():
    """Leaves any graph being traced and pauses tapes: code inside runs eagerly.

    Variable initializers run here, so that a Variable created while a
    function is first traced starts with a concrete value.
    """
    st = state
    saved_graph, saved_tapes = st.graph, st.tapes
    st.graph, st.tapes = None, []
    try:
        yield
    finally:
        st.graph, st.tapes = saved_graph, saved_tapes


@contextlib.contextmanager
def name_scope(name: str):
    """`tf.name_scope`: prefixes names of Variables and layer weights."""
    scopes = state.name_scope
    if name:
        scopes.append(name.rstrip("/"))
    try:
        yield (current_scope() + "/") if name else ""
    finally:
        if name:
            scopes.pop()


def current_scope() -> str:
    return "/".join(state.name_scope)
