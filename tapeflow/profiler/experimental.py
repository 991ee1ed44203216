"""`tf.profiler.experimental`: start / stop a profiling run, `Profile`, `Trace`.

See `_session.py` for what is recorded and `_trace_file.py` for the file written.
"""
from tapeflow import _api
from tapeflow.profiler._session import Profile, ProfilerOptions, Trace  # noqa: F401

globals().update(_api.namespace("profiler.experimental"))
