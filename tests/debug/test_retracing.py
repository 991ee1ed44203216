"""tapeflow.debug.explain_retracing: every trace and the change that caused it."""
import pytest

import tapeflow as tf
from tapeflow import debug


def test_lists_every_trace_with_its_cause():
    @tf.function
    def f(x, scale):
        return x * scale

    f(tf.constant([1.0]), 2.0)
    f(tf.constant([1.0]), 2.0)             # cached: no trace
    f(tf.constant([1.0, 2.0]), 2.0)
    f(tf.constant([1.0, 2.0]), 3.0)
    f(tf.constant([1, 2]), 3.0)
    lines = debug.explain_retracing(f)
    assert len(lines) == 4 == f.experimental_get_tracing_count()
    assert lines[0].startswith("trace 1: first call (x: a float32 tensor of shape (1,)")
    assert lines[1] == "trace 2: argument 'x': shape (1,) -> (2,)"
    assert lines[2] == "trace 3: argument 'scale': float 2.0 -> float 3.0"
    assert lines[3] == "trace 4: argument 'x': dtype float32 -> int32"


def test_input_signature_traces_once():
    f = tf.function(lambda x: x + 1, input_signature=[tf.TensorSpec([None], tf.float32)])
    f(tf.constant([1.0]))
    f(tf.constant([1.0, 2.0]))
    (line,) = debug.explain_retracing(f)
    assert line.startswith("trace 1: input_signature")


def test_rejects_plain_functions():
    with pytest.raises(TypeError, match="expects a tf.function"):
        debug.explain_retracing(lambda x: x)
