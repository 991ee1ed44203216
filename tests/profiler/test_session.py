"""tapeflow/profiler/_session.py: what a profiling run records, and TF's errors."""
import glob
import gzip
import json
import os
import threading

import pytest

import tapeflow as tf
from tapeflow.framework import op as op_mod
from tapeflow.function import concrete


@pytest.fixture(autouse=True)
def no_profiler_left_running():
    yield
    try:
        tf.profiler.experimental.stop(save=False)
    except tf.errors.UnavailableError:
        pass


def _events(logdir):
    files = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.trace.json.gz"))
    assert len(files) == 1, files
    with gzip.open(files[0]) as f:
        return json.load(f)["traceEvents"]


def _complete(events, category=None):
    return [e for e in events if e["ph"] == "X" and (category is None or e["cat"] == category)]


def test_eager_ops_are_recorded_with_their_durations(tmp_path):
    tf.profiler.experimental.start(str(tmp_path))
    x = tf.ones([8, 8])
    tf.matmul(x, x)
    tf.reduce_sum(x)
    tf.profiler.experimental.stop()
    ops = _complete(_events(str(tmp_path)), "Op")
    names = [e["name"] for e in ops]
    assert names.index("MatMul") < names.index("Sum")
    matmul = ops[names.index("MatMul")]
    assert matmul["dur"] > 0 and matmul["args"]["shapes"] == "([8, 8], [8, 8])"


def test_function_calls_are_one_event_each(tmp_path):
    f = tf.function(lambda x: tf.nn.relu(x @ x))
    x = tf.ones([4, 4])
    f(x)                                   # traced before the run: the calls are what count
    tf.profiler.experimental.start(str(tmp_path))
    f(x)
    f(x)
    tf.profiler.experimental.stop()
    calls = _complete(_events(str(tmp_path)), "tf.function")
    assert [e["name"] for e in calls] == ["<lambda>", "<lambda>"]
    assert calls[0]["ts"] + calls[0]["dur"] <= calls[1]["ts"]


def test_trace_blocks_carry_their_metadata_and_contain_their_ops(tmp_path):
    tf.profiler.experimental.start(str(tmp_path))
    with tf.profiler.experimental.Trace("train", step_num=3, _r=1) as trace:
        tf.add(tf.ones([2]), 1.0)
        trace.set_metadata(loss=0.5)
    tf.profiler.experimental.stop()
    events = _events(str(tmp_path))
    (block,) = _complete(events, "Trace")
    assert block["name"] == "train" and block["args"] == {"step_num": 3, "_r": 1, "loss": 0.5}
    (add,) = [e for e in _complete(events, "Op") if e["name"] == "AddV2"]
    assert block["ts"] <= add["ts"] and add["ts"] + add["dur"] <= block["ts"] + block["dur"]


def test_each_thread_gets_its_own_named_track(tmp_path):
    tf.profiler.experimental.start(str(tmp_path))
    tf.add(tf.ones([2]), 1.0)
    worker = threading.Thread(target=lambda: tf.multiply(tf.ones([2]), 2.0), name="worker")
    worker.start()
    worker.join()
    tf.profiler.experimental.stop()
    events = _events(str(tmp_path))
    tracks = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    by_op = {e["name"]: tracks[e["tid"]] for e in _complete(events, "Op")}
    assert by_op["AddV2"].startswith("MainThread") and by_op["Mul"].startswith("worker")


def test_ops_after_stop_are_not_recorded_and_the_hooks_are_removed(tmp_path):
    before = op_mod.dispatch_hook
    tf.profiler.experimental.start(str(tmp_path))
    tf.add(tf.ones([2]), 1.0)
    tf.profiler.experimental.stop()
    tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]))
    assert op_mod.start_hook is None and concrete.call_hook is None
    assert op_mod.dispatch_hook is before
    assert "MatMul" not in [e["name"] for e in _complete(_events(str(tmp_path)))]


def test_profiling_keeps_check_numerics_working(tmp_path):
    tf.debugging.enable_check_numerics()
    try:
        tf.profiler.experimental.start(str(tmp_path))
        with pytest.raises(tf.errors.InvalidArgumentError, match="Inf"):
            tf.math.log(tf.zeros([2]))
        tf.profiler.experimental.stop()
    finally:
        tf.debugging.disable_check_numerics()
    assert "Log" in [e["name"] for e in _complete(_events(str(tmp_path)))]


def test_host_tracer_level_one_records_functions_but_not_ops(tmp_path):
    f = tf.function(lambda x: x * 2.0)
    f(tf.ones([2]))
    options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=1)
    tf.profiler.experimental.start(str(tmp_path), options=options)
    tf.add(tf.ones([2]), 1.0)
    f(tf.ones([2]))
    tf.profiler.experimental.stop()
    assert {e["cat"] for e in _complete(_events(str(tmp_path)))} == {"tf.function"}


def test_python_tracer_records_python_calls(tmp_path):
    def user_step():
        return tf.add(tf.ones([2]), 1.0)
    options = tf.profiler.experimental.ProfilerOptions(python_tracer_level=1)
    tf.profiler.experimental.start(str(tmp_path), options=options)
    user_step()
    tf.profiler.experimental.stop()
    python = [e for e in _complete(_events(str(tmp_path)), "python")]
    assert any(e["name"].endswith("user_step") for e in python)


def test_profile_context_manager_writes_a_run(tmp_path):
    with tf.profiler.experimental.Profile(str(tmp_path)):
        tf.reduce_max(tf.ones([3]))
    assert "Max" in [e["name"] for e in _complete(_events(str(tmp_path)))]


def test_stop_without_saving_writes_nothing(tmp_path):
    tf.profiler.experimental.start(str(tmp_path))
    tf.add(tf.ones([2]), 1.0)
    tf.profiler.experimental.stop(save=False)
    assert not os.path.exists(tmp_path / "plugins")


def _errors(fw, logdir):
    fw.profiler.experimental.start(logdir)
    try:
        fw.profiler.experimental.start(logdir)
    except Exception as e:  # noqa: BLE001 (the class is what is compared)
        twice = (type(e).__name__, str(e))
    fw.profiler.experimental.stop(save=False)
    try:
        fw.profiler.experimental.stop()
    except Exception as e:  # noqa: BLE001
        unstarted = (type(e).__name__, str(e))
    return twice, unstarted


def test_errors_match_tensorflow(real_tf, tmp_path):
    ours = _errors(tf, str(tmp_path / "a"))
    assert ours == _errors(real_tf, str(tmp_path / "b"))
    assert ours[0] == ("AlreadyExistsError", "Another profiler is running.")


def test_options_must_be_profiler_options(tmp_path):
    with pytest.raises(TypeError, match="ProfilerOptions"):
        tf.profiler.experimental.start(str(tmp_path), options={"host_tracer_level": 2})
    tf.profiler.experimental.start(str(tmp_path))   # the failed start left nothing running


def test_profiler_options_defaults_match_tensorflow(real_tf):
    assert tuple(tf.profiler.experimental.ProfilerOptions()) == \
        tuple(real_tf.profiler.experimental.ProfilerOptions())


def test_summary_trace_on_with_profiler_profiles_until_export(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "events"))
    tf.summary.trace_on(graph=True, profiler=True, profiler_outdir=str(tmp_path / "prof"))
    f = tf.function(lambda x: x + 1.0)
    f(tf.ones([2]))
    with writer.as_default():
        tf.summary.trace_export(name="f", step=0, profiler_outdir=str(tmp_path / "ignored"))
    with pytest.raises(tf.errors.UnavailableError):
        tf.profiler.experimental.stop()
    assert _complete(_events(str(tmp_path / "prof")), "tf.function")
    assert not os.path.exists(tmp_path / "ignored")


def test_eager_keras_conv_shows_the_fused_op_it_runs(tmp_path):
    layer = tf.keras.layers.Conv2D(4, 3, activation="relu")
    x = tf.ones([2, 6, 6, 3])
    layer(x)
    tf.profiler.experimental.start(str(tmp_path))
    tf.reduce_sum(x)               # the profiler's per-op hook is installed by now
    layer(x)
    tf.profiler.experimental.stop()
    names = [e["name"] for e in _complete(_events(str(tmp_path)), "Op")]
    assert "_FusedConv2D" in names and "Conv2D" not in names


def test_with_check_numerics_the_profiled_conv_layer_runs_its_separate_ops(tmp_path):
    layer = tf.keras.layers.Conv2D(4, 3, activation="relu")
    x = tf.ones([2, 6, 6, 3])
    layer(x)
    tf.debugging.enable_check_numerics()
    try:
        tf.profiler.experimental.start(str(tmp_path))
        tf.reduce_sum(x)
        layer(x)
        tf.profiler.experimental.stop()
    finally:
        tf.debugging.disable_check_numerics()
    names = [e["name"] for e in _complete(_events(str(tmp_path)), "Op")]
    assert {"Conv2D", "AddV2", "Relu"} <= set(names) and "_FusedConv2D" not in names
