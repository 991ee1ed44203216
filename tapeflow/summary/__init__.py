"""`tf.summary`: TensorBoard event files written with the `tensorboard` package's protos.

    >>> import tempfile
    >>> import tapeflow as tf
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default():
    ...     for step in range(3):
    ...         _ = tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
"""
import types as _types

from tapeflow.summary.graph_def import trace_export, trace_off, trace_on  # noqa: F401
from tapeflow.summary.ops import histogram, image, scalar, text, write  # noqa: F401
from tapeflow.summary.writer import (  # noqa: F401
    SummaryWriter,
    create_file_writer,
    create_noop_writer,
    flush,
    get_step,
    record_if,
    set_step,
    should_record_summaries,
)

experimental = _types.SimpleNamespace(set_step=set_step, get_step=get_step)
