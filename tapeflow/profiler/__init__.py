"""`tf.profiler`: records ops, tf.function calls and `Trace` blocks with their wall times
and writes them as a trace file TensorBoard's profile plugin (and chrome://tracing,
Perfetto) opens. The API is `tf.profiler.experimental`."""
from tapeflow.profiler import experimental  # noqa: F401
