"""tapeflow/config.py: the older names TF 2 guides still call."""
import tapeflow as tf


def test_experimental_run_functions_eagerly_switches_tracing_off_and_on():
    traces = []

    @tf.function
    def f(x):
        traces.append(1)
        return x + 1

    try:
        tf.config.experimental_run_functions_eagerly(True)
        assert tf.config.functions_run_eagerly()
        f(tf.constant(1.0))
        f(tf.constant(2.0))
        assert len(traces) == 2     # each call ran the Python body
    finally:
        tf.config.experimental_run_functions_eagerly(False)
    assert not tf.config.functions_run_eagerly()
    f(tf.constant(3.0))
    f(tf.constant(4.0))
    assert len(traces) == 3         # one trace, then reused
