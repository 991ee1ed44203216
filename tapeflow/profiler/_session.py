"""The profiling session: `start`, `stop`, `Profile`, `Trace` and what they record.

While a session runs it records, per thread, with wall-clock start and duration:

- every eager op (its kernel, through `framework/op.py`'s `start_hook` before and
  `dispatch_hook` after it; ops a tf.function's plan runs are inside the function's
  event, not events of their own);
- every call of a traced function (`function/concrete.py`'s `call_hook`);
- every `tf.profiler.experimental.Trace` block (its keyword arguments as metadata);
- with `ProfilerOptions(python_tracer_level=1)`, every Python function call.

`stop()` writes them as one Chrome trace-event file (`_trace_file.py`).

    >>> import tempfile
    >>> import tapeflow as tf
    >>> logdir = tempfile.mkdtemp()
    >>> tf.profiler.experimental.start(logdir)
    >>> _ = tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]))
    >>> tf.profiler.experimental.stop()
"""
from __future__ import annotations

import collections
import sys
import threading
import time

from tapeflow.framework import errors
from tapeflow.framework import op as op_mod
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.context import state
from tapeflow.function import concrete
from tapeflow.profiler import _trace_file

_lock = threading.Lock()
_session = None


class ProfilerOptions(collections.namedtuple(
        "ProfilerOptions", ["host_tracer_level", "python_tracer_level", "device_tracer_level",
                            "delay_ms"])):
    """What the profiler records.

    Fields:
        host_tracer_level: 0 records nothing on the host; 1 records function calls and
            `Trace` blocks only; 2 (default) and 3 also record every eager op.
        python_tracer_level: 1 also records every Python function call (slow); 0 (default)
            does not.
        device_tracer_level: accepted for compatibility (ops run on the host).
        delay_ms: milliseconds to wait after `start` before recording; None or 0: none.
    """

    def __new__(cls, host_tracer_level=2, python_tracer_level=0, device_tracer_level=1,
                delay_ms=None):
        return super().__new__(cls, host_tracer_level, python_tracer_level,
                               device_tracer_level, delay_ms)


class _Session:
    """Events of one profiling run: (name, category, thread id, start ns, end ns, args)."""

    def __init__(self, logdir, options):
        self.logdir = logdir
        self.options = options
        self.events = []
        self.thread_names = {}
        self.start_ns = time.time_ns()
        self.origin = time.perf_counter_ns()
        delay = options.delay_ms or 0
        self.record_from = self.origin + int(delay * 1e6)
        self.chained = None         # the dispatch hook found installed (debugging's)
        self.pending = threading.local()

    def add(self, name, category, begin, end, args=None):
        if begin < self.record_from:
            return
        thread = threading.current_thread()
        self.thread_names.setdefault(thread.ident, thread.name)
        self.events.append((name, category, thread.ident, begin - self.origin,
                            end - begin, args))

    def stack(self, kind="ops"):
        """This thread's started, unfinished ops (or Python frames)."""
        s = getattr(self.pending, kind, None)
        if s is None:
            s = []
            setattr(self.pending, kind, s)
        return s


# -- the hooks ------------------------------------------------------------------------------

def _op_started(op):
    session = _session
    if session is None:
        return
    if op_mod.dispatch_hook is not _op_finished:
        # Debugging modes reinstall their hook when toggled: chain to it again.
        session.chained = op_mod.dispatch_hook
        op_mod.dispatch_hook = _op_finished
    session.stack().append((op, time.perf_counter_ns()))


def _op_finished(op, inputs, outputs, attrs):
    session = _session
    if session is None:
        return
    if state.graph is None:             # run, not traced
        end = time.perf_counter_ns()
        stack = session.stack()
        while stack:
            started_op, begin = stack.pop()
            if started_op is op:        # entries above it were ops whose kernel failed
                session.add(op.name, "Op", begin, end, {"shapes": _shapes(inputs)})
                break
    # The debugging hook runs after the op is recorded (a check may raise).
    if session.chained is not None:
        session.chained(op, inputs, outputs, attrs)


# The hook only times ops unless it chains to a debugging hook that checks their values:
# a layer may then still run its fused eager op (ops/conv_ops.fusing_eagerly), so the
# profile shows what an unprofiled run executes.
_op_finished.times_only = lambda: _session is None or _session.chained is None


def _shapes(inputs):
    return "(" + ", ".join(str(list(getattr(x, "shape", ()))) for x in inputs) + ")"


class _Timed:
    """A context manager adding one event when it exits."""

    __slots__ = ("args", "begin", "category", "name")

    def __init__(self, name, category, args=None):
        self.name, self.category, self.args = name, category, args

    def __enter__(self):
        self.begin = time.perf_counter_ns()
        return self

    def __exit__(self, *exc):
        session = _session
        if session is not None:
            session.add(self.name, self.category, self.begin, time.perf_counter_ns(),
                        self.args)
        return False


def _function_called(function):
    return _Timed(function.name, "tf.function")


def _python_profiler(session):
    """A `sys.setprofile` callback timing Python calls (python_tracer_level=1)."""
    def profile(frame, event, arg):
        if _session is not session:     # stopped: a thread started meanwhile still calls
            sys.setprofile(None)
            return
        if event == "call":
            session.stack("frames").append((frame, time.perf_counter_ns()))
        elif event == "return":
            stack = session.stack("frames")
            if stack and stack[-1][0] is frame:
                _, begin = stack.pop()
                code = frame.f_code
                session.add(code.co_qualname if hasattr(code, "co_qualname") else
                            code.co_name, "python", begin, time.perf_counter_ns(),
                            {"file": f"{code.co_filename}:{code.co_firstlineno}"})
    return profile


def _install(session):
    level = session.options.host_tracer_level
    if level and level >= 2:
        session.chained = op_mod.dispatch_hook
        op_mod.dispatch_hook = _op_finished
        op_mod.start_hook = _op_started
    if level:
        concrete.call_hook = _function_called
    if session.options.python_tracer_level:
        profile = _python_profiler(session)
        threading.setprofile(profile)
        sys.setprofile(profile)


def _uninstall(session):
    if session.options.python_tracer_level:
        sys.setprofile(None)
        threading.setprofile(None)
    op_mod.start_hook = None
    if op_mod.dispatch_hook is _op_finished:
        op_mod.dispatch_hook = session.chained
    concrete.call_hook = None


# -- the public API -------------------------------------------------------------------------

@tf_export("profiler.experimental.start")
def start(logdir, options=None):
    """Starts profiling; `stop()` writes what was recorded under `logdir`.

    Args:
        logdir: the TensorBoard log directory; the run is written to
            `<logdir>/plugins/profile/<run>/<host>.trace.json.gz`.
        options: a `ProfilerOptions` (default: ops, functions and `Trace` blocks).

    Raises:
        AlreadyExistsError: a profiler is already running.
    """
    global _session
    if options is not None and not isinstance(options, ProfilerOptions):
        raise TypeError(f"options must be a tf.profiler.experimental.ProfilerOptions; got "
                        f"{type(options).__name__} {options!r}.")
    with _lock:
        if _session is not None:
            raise errors.AlreadyExistsError(None, None, "Another profiler is running.")
        _session = _Session(str(logdir), options or ProfilerOptions())
        _install(_session)


@tf_export("profiler.experimental.stop")
def stop(save=True):
    """Stops profiling and, with `save`, writes the trace file.

    Raises:
        UnavailableError: no profiler is running.
    """
    global _session
    with _lock:
        session = _session
        if session is None:
            raise errors.UnavailableError(
                None, None, "Cannot export profiling results. No profiler is running.")
        _session = None
        _uninstall(session)
    if save:
        _trace_file.write(session.logdir, session.events, session.thread_names,
                          session.start_ns)


def running() -> bool:
    """Whether a profiling session is recording."""
    return _session is not None


class Profile:
    """Profiles the block it guards: `start(logdir, options)` on entry, `stop()` on exit.

    Example:
        >>> import tempfile
        >>> import tapeflow as tf
        >>> with tf.profiler.experimental.Profile(tempfile.mkdtemp()):
        ...     _ = tf.reduce_sum(tf.ones([3]))
    """

    def __init__(self, logdir, options=None):
        self._logdir = logdir
        self._options = options

    def __enter__(self):
        start(self._logdir, self._options)

    def __exit__(self, typ, value, tb):
        stop()


class Trace:
    """A named event around a block (a training step, a data stage), recorded while a
    profiler runs; keyword arguments are its metadata (`step_num=3, _r=1` marks a step).

    Example:
        >>> import tapeflow as tf
        >>> with tf.profiler.experimental.Trace("train", step_num=1, _r=1):
        ...     _ = tf.ones([2]) * 2.0
    """

    def __init__(self, name, **kwargs):
        self._name = name
        self._args = dict(kwargs)
        self._timed = None

    def __enter__(self):
        if _session is not None:
            self._timed = _Timed(self._name, "Trace", self._args).__enter__()
        return self

    def set_metadata(self, **kwargs):
        """Adds (or replaces) metadata of the event while the block runs."""
        self._args.update(kwargs)

    def __exit__(self, exc_type, exc_val, exc_tb):
        if self._timed is not None:
            self._timed.__exit__(exc_type, exc_val, exc_tb)
            self._timed = None
        return False
