"""tapeflow.debug.explain_gradients: each reason a gradient can be None, named with its line."""
import inspect
import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import debug


def _line(text, fn):
    lines, start = inspect.getsourcelines(fn)
    return f"{__file__}:{start + next(i for i, s in enumerate(lines) if text in s)}"


@pytest.fixture
def explaining():
    debug.explain_none_gradients(True)
    yield
    debug.explain_none_gradients(False)


def _explain(program):
    tape, target, sources = program()
    return debug.explain_gradients(tape, target, sources)


def test_connected_source_has_no_reason():
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = v * v
    assert debug.explain_gradients(tape, y, [v]) == [None]


def test_variable_never_read_while_recording():
    v, w = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = w * 2.0
    reasons = debug.explain_gradients(tape, y, {"v": v, "w": w})
    assert reasons["w"] is None
    assert "never read while the tape recorded" in reasons["v"]


def test_variable_read_before_the_with_block_names_the_line(explaining):
    v = tf.Variable(2.0)

    def program():
        early = v * 2.0   # read here
        with tf.GradientTape() as tape:
            y = early * 3.0
        return tape, y, [v]

    (reason,) = _explain(program)
    assert "before the `with` block" in reason
    assert f"Mul at {_line('read here', program)}" in reason


def test_unwatched_tensor():
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        y = x * x
    (reason,) = debug.explain_gradients(tape, y, [x])
    assert "never watched" in reason and "tape.watch(x)" in reason


@pytest.mark.parametrize("op_name, fn", [("Round", tf.round), ("Floor", tf.floor),
                                         ("Ceil", tf.math.ceil)])
def test_path_through_an_op_without_gradient_names_op_and_line(op_name, fn):
    v = tf.Variable([1.0, 2.5])

    def program():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(fn(v * 2.0)) * 3.0   # the break
        return tape, y, [v]

    (reason,) = _explain(program)
    assert f"{op_name}, an op with no gradient" in reason
    assert f"{op_name} at {_line('the break', program)}" in reason


def test_argmax_names_op_and_line():
    v = tf.Variable([1.0, 2.5])

    def program():
        with tf.GradientTape() as tape:
            k = tf.argmax(v * 2.0)   # the break
            y = tf.cast(k, tf.float32) * 3.0
        return tape, y, [v]

    (reason,) = _explain(program)
    assert f"ArgMax, an op with no gradient: ArgMax at {_line('the break', program)}" in reason


def test_cast_to_integer_names_the_cast(explaining):
    v = tf.Variable(2.0)

    def program():
        with tf.GradientTape() as tape:
            y = tf.cast(tf.cast(v * 1.5, tf.int32), tf.float32)   # the cast
        return tape, y, [v]

    (reason,) = _explain(program)
    assert "integer dtype int32" in reason
    assert f"Cast at {_line('the cast', program)}" in reason


def test_numpy_round_trip_names_both_lines(explaining):
    v = tf.Variable(2.0)

    def program():
        with tf.GradientTape() as tape:
            h = v * 3.0   # leaves here
            y = tf.constant(h.numpy()) * 2.0   # comes back
        return tape, y, [v]

    (reason,) = _explain(program)
    assert "left tapeflow" in reason
    assert f"Mul at {_line('leaves here', program)}" in reason
    assert f"Mul at {_line('comes back', program)}" in reason


def test_numpy_round_trip_without_origins_says_the_target_was_not_recorded():
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.constant((v * 3.0).numpy()) * 2.0
    (reason,) = debug.explain_gradients(tape, y, [v])
    assert "not computed by any op this tape recorded" in reason and ".numpy()" in reason


def test_stop_gradient_names_the_line():
    v = tf.Variable(2.0)

    def program():
        with tf.GradientTape() as tape:
            y = tf.stop_gradient(v * 3.0) * 2.0   # stopped
        return tape, y, [v]

    (reason,) = _explain(program)
    assert f"tf.stop_gradient blocks the path to the target: StopGradient at " \
           f"{_line('stopped', program)}" in reason


def test_stop_recording_names_the_pause():
    v = tf.Variable(2.0)

    def program():
        with tf.GradientTape() as tape:
            with tape.stop_recording():   # paused
                h = v * 3.0
            y = h * 2.0
        return tape, y, [v]

    (reason,) = _explain(program)
    assert f"stopped recording at {_line('paused', program)}" in reason


def test_value_written_with_assign_names_the_assign():
    v, u = tf.Variable(2.0), tf.Variable(0.0, name="u")

    def program():
        with tf.GradientTape() as tape:
            u.assign(v * 3.0)   # assigned
            y = u * 2.0
        return tape, y, [v]

    (reason,) = _explain(program)
    assert "assign into Variable 'u:0'" in reason
    assert f"AssignVariableOp at {_line('assigned', program)}" in reason


def test_variable_rebound_by_python_assignment(explaining):
    def program():
        w = tf.Variable(1.0, name="w")
        w = w - 0.1   # rebound
        with tf.GradientTape() as tape:
            y = w * 2.0
        return tape, y, [w]

    (reason,) = _explain(program)
    assert "not a Variable" in reason and "from Variable 'w:0'" in reason
    assert f"Sub at {_line('rebound', program)}" in reason and "assign_sub" in reason


def test_integer_source():
    x = tf.constant(3)
    with tf.GradientTape() as tape:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tape.watch(x)
        y = x * 2
    (reason,) = debug.explain_gradients(tape, y, [x])
    assert "integer dtype int32" in reason


def test_not_trainable_variable():
    v = tf.Variable(1.0, trainable=False)
    with tf.GradientTape() as tape:
        y = v * 2.0
    (reason,) = debug.explain_gradients(tape, y, [v])
    assert "not trainable" in reason


def test_explain_none_gradients_warns_at_the_gradient_call(explaining):
    v = tf.Variable(1.0)
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        y = x * 2.0
    with pytest.warns(UserWarning, match="is None: it was never read") as record:
        tape.gradient(y, v)
    assert record[0].filename == __file__


def test_no_warning_when_explanations_are_off():
    v, w = tf.Variable(1.0), tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = w * 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tape.gradient(y, [v, w])[0] is None


def test_explanations_survive_a_used_non_persistent_tape():
    v = tf.Variable(1.0)
    early = v * 2.0
    with tf.GradientTape() as tape:
        y = early * 3.0
    assert tape.gradient(y, [v]) == [None]
    (reason,) = debug.explain_gradients(tape, y, [v])
    assert "never read" in reason


def test_optimizer_error_includes_the_reason():
    v = tf.Variable(1.0, name="weights")
    early = v * 2.0
    with tf.GradientTape() as tape:
        loss = early * 3.0
    grads = tape.gradient(loss, [v])
    with pytest.raises(ValueError, match=r"No gradients provided(.|\n)*weights:0: it was never"):
        tf.keras.optimizers.SGD(0.1).apply_gradients(zip(grads, [v]))


def test_recording_of_ops_without_gradient_keeps_results_unchanged():
    v = tf.Variable([1.0, 3.0])
    with tf.GradientTape() as tape:
        k = tf.argmax(v)
        y = tf.reduce_sum(v * tf.cast(k, tf.float32))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [1.0, 1.0])


def test_fit_error_names_the_op_without_gradient_in_the_loss():
    def argmax_loss(y_true, y_pred):
        return tf.reduce_mean(tf.cast(tf.argmax(y_pred, axis=1), tf.float32) - y_true)

    model = tf.keras.Sequential([tf.keras.layers.Input((2,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", loss=argmax_loss)
    with pytest.raises(ValueError, match=r"No gradients provided(.|\n)*ArgMax at "
                                         rf"{__file__}:\d+ in argmax_loss"):
        model.fit(np.ones((4, 2), np.float32), np.ones((4, 1), np.float32), verbose=0)
