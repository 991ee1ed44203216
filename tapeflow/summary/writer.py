"""Summary writers: TensorBoard event files, the default writer, the step, `record_if`.

An event file is a TFRecord file of `Event` protocol buffers (TensorBoard's own
`tensorboard.compat.proto`, written with its `RecordWriter`); its first event says
"brain.Event:2", later ones carry summaries (or a graph) with a step and wall time.
TensorBoard reads files named `events.out.tfevents.<time>.<host>.<pid>.<n>.v2` in a
log directory. Writes are buffered and flushed by `flush()`, `close()`, and every
`flush_millis`.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
import time

from tapeflow.framework.tensor import Tensor

_uid = itertools.count()
_lock = threading.Lock()


def _tb():
    """TensorBoard's protos and record writer (imported lazily: an optional dependency)."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter
    except ImportError:
        raise ImportError("tf.summary writes TensorBoard event files with the `tensorboard` "
                          "package: pip install tensorboard (tapeflow's `fast` and `test` "
                          "extras include it).") from None
    return event_pb2, summary_pb2, RecordWriter


class _State:
    def __init__(self):
        self.writers = []       # the default writer stack (as_default nests)
        self.step = None        # tf.summary.experimental.set_step
        self.record = [True]    # record_if stack: bools or callables


_state = _State()


class SummaryWriter:
    """Writes summaries to one event file in `logdir` (what `create_file_writer` returns)."""

    def __init__(self, logdir, max_queue=None, flush_millis=None, filename_suffix=None):
        self._logdir = os.fspath(logdir)
        self._flush_secs = (120_000 if flush_millis is None else flush_millis) / 1000.0
        self._suffix = ".v2" if filename_suffix is None else filename_suffix
        self._file = None
        self._writer = None
        self._last_flush = time.time()
        self._closed = False
        self.init()

    def init(self):
        """Opens the event file (done on creation; again after `close`)."""
        if self._file is not None:
            return
        event_pb2, _, record_writer = _tb()
        os.makedirs(self._logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_uid)}{self._suffix}")
        self.path = os.path.join(self._logdir, name)
        self._file = open(self.path, "wb")   # noqa: SIM115 - lives as long as the writer
        self._writer = record_writer(self._file)
        self._closed = False
        self.add_event(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()

    def add_event(self, event) -> None:
        if self._file is None:
            raise ValueError(f"The summary writer for {self._logdir!r} is closed.")
        with _lock:
            self._writer.write(event.SerializeToString())
        if time.time() - self._last_flush > self._flush_secs:
            self.flush()

    def add_summary(self, value, step) -> None:
        event_pb2, summary_pb2, _ = _tb()
        self.add_event(event_pb2.Event(wall_time=time.time(), step=int(step),
                                       summary=summary_pb2.Summary(value=[value])))

    def flush(self) -> None:
        if self._file is not None:
            with _lock:
                self._file.flush()
            self._last_flush = time.time()

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None
            self._closed = True

    def set_as_default(self, step=None):
        """Makes this the default writer from now on (and sets the step when given)."""
        _state.writers[:] = [self]
        if step is not None:
            set_step(step)

    @contextlib.contextmanager
    def as_default(self, step=None):
        """Makes this the default writer inside the block; flushes at its end."""
        _state.writers.append(self)
        saved = _state.step
        if step is not None:
            set_step(step)
        try:
            yield self
        finally:
            _state.writers.pop()
            if step is not None:
                _state.step = saved
            self.flush()

    def __del__(self):
        try:
            self.close()
        except Exception:   # noqa: BLE001, S110 - interpreter shutdown: nothing to report
            pass


class _NoopWriter(SummaryWriter):
    def __init__(self):
        self._file = None

    def init(self):
        pass

    def add_event(self, event):
        pass

    def flush(self):
        pass

    def close(self):
        pass


def create_file_writer(logdir, max_queue=None, flush_millis=None, filename_suffix=None,
                       name=None, experimental_trackable=False, experimental_mesh=None):
    """A `SummaryWriter` for the event file it creates in `logdir`.

    Example:
        >>> import tempfile
        >>> import tapeflow as tf
        >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
        >>> with writer.as_default(step=0):
        ...     tf.summary.scalar("loss", 0.5)
        True
    """
    return SummaryWriter(logdir, max_queue, flush_millis, filename_suffix)


def create_noop_writer():
    """A writer that writes nothing (summaries under it return False)."""
    return _NoopWriter()


def default_writer():
    return _state.writers[-1] if _state.writers else None


def flush(writer=None, name=None):
    """Flushes `writer` (default: the default writer)."""
    writer = writer or default_writer()
    if writer is not None:
        writer.flush()


# -- the step ---------------------------------------------------------------------------

def set_step(step) -> None:
    """`tf.summary.experimental.set_step`: the step used when summaries get none."""
    _state.step = step


def get_step():
    """`tf.summary.experimental.get_step`."""
    return _state.step


def resolve_step(step):
    step = _state.step if step is None else step
    if step is None:
        raise ValueError("No step set. Please specify one either through the `step` argument "
                         "or through tf.summary.experimental.set_step()")
    if getattr(step, "_is_variable", False) or isinstance(step, Tensor):
        return step
    return int(step)


# -- record_if ---------------------------------------------------------------------------

@contextlib.contextmanager
def record_if(condition):
    """Records summaries inside the block only while `condition` (bool, tensor or
    callable returning one) is true."""
    _state.record.append(condition)
    try:
        yield
    finally:
        _state.record.pop()


def should_record_summaries() -> bool:
    """Whether summaries written now would be recorded (a default writer, record_if)."""
    if default_writer() is None or isinstance(default_writer(), _NoopWriter):
        return False
    cond = _state.record[-1]
    if callable(cond):
        cond = cond()
    if isinstance(cond, Tensor) or getattr(cond, "_is_variable", False):
        cond = cond.numpy()
    return bool(cond)
