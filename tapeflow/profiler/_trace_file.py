"""The file a profiling run leaves: Chrome trace events, gzipped, where TensorBoard looks.

`<logdir>/plugins/profile/<YYYY_MM_DD_HH_MM_SS>/<host>.trace.json.gz` holds one JSON
object in the trace-event format that chrome://tracing, Perfetto and TensorBoard's
profile plugin open: `traceEvents` is a list of complete events (`"ph": "X"`, start
`ts` and duration `dur` in microseconds, fractional to keep nanoseconds) on one
process (the host CPU), one track per thread, named by metadata events
(`"ph": "M"`). The run folder is named for the time the run stopped, as TF's are.
"""
from __future__ import annotations

import gzip
import json
import os
import socket
import time

from tapeflow.train import files

_PID = 1


def run_folder(logdir, when=None) -> str:
    """`<logdir>/plugins/profile/<run>`, the run named for `when` (local time, seconds)."""
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.localtime(when))
    return os.path.join(logdir, "plugins", "profile", stamp)


def trace_events(events, thread_names, start_ns) -> dict:
    """The trace-event JSON object for `events` ((name, category, thread id, start ns from
    the run's start, duration ns, args or None), in any order); `thread_names` maps each
    thread id to its name, in the order the threads first recorded."""
    # Tracks in the order the threads first recorded (the main thread first, usually).
    tids = {ident: i + 1 for i, ident in enumerate(thread_names)}
    out = [{"ph": "M", "pid": _PID, "name": "process_name", "args": {"name": "/host:CPU"}}]
    for ident, name in thread_names.items():
        out.append({"ph": "M", "pid": _PID, "tid": tids[ident], "name": "thread_name",
                    "args": {"name": f"{name} ({ident})"}})
    for name, category, ident, begin, duration, args in sorted(events, key=lambda e: e[3]):
        event = {"ph": "X", "pid": _PID, "tid": tids[ident], "name": name, "cat": category,
                 "ts": begin / 1000.0, "dur": duration / 1000.0}
        if args:
            event["args"] = {k: _jsonable(v) for k, v in args.items()}
        out.append(event)
    # Wall time of the run's start, so events can be placed against other logs.
    return {"displayTimeUnit": "ns", "metadata": {"highres-ticks": True,
                                                  "start_time_ns": start_ns},
            "traceEvents": out}


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    item = getattr(value, "item", None)         # NumPy scalars and 0-d tensors' values
    numpy = getattr(value, "numpy", None)
    if numpy is not None:
        value = numpy()
        item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 0) == 0:
        return item()
    return str(value)


def write(logdir, events, thread_names, start_ns) -> str:
    """Writes the run's file (atomically); returns its path."""
    if not logdir:
        raise ValueError("tf.profiler.experimental.stop(save=True) needs the logdir given "
                         "to start(); it was empty.")
    folder = run_folder(logdir)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{socket.gethostname()}.trace.json.gz")
    data = json.dumps(trace_events(events, thread_names, start_ns)).encode()

    def write_gzip(f):
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
            g.write(data)
    files.atomic_write(path, write_gzip)
    return path
