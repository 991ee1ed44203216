"""check_numerics and enable_check_numerics: the first NaN/Inf names its op and the user's line."""
import inspect

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.framework import op as op_mod
from tapeflow.function import plan as plan_mod


@pytest.fixture
def checks():
    tf.debugging.enable_check_numerics()
    yield
    tf.debugging.disable_check_numerics()


def _line_of(text, fn):
    """The absolute line number of the first source line of `fn` containing `text`."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_check_numerics_passes_finite_tensors_through():
    x = tf.constant([1.0, 2.0])
    np.testing.assert_array_equal(tf.debugging.check_numerics(x, "ok").numpy(), [1.0, 2.0])


@pytest.mark.parametrize("values, kind", [([1.0, np.nan], "NaN"), ([np.inf, 1.0], "Inf"),
                                          ([np.nan, -np.inf], "Inf and NaN")])
def test_check_numerics_names_what_it_found(values, kind):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"boom : Tensor had {kind} values \[Op:CheckNumerics\]"):
        tf.debugging.check_numerics(tf.constant(values), "boom")


def test_check_numerics_rejects_integers():
    with pytest.raises(tf.errors.InvalidArgumentError, match="not in the list of allowed"):
        tf.debugging.check_numerics(tf.constant([1, 2]), "boom")


def test_check_numerics_checks_the_gradient_too():
    x = tf.Variable(0.0)
    with tf.GradientTape() as tape:
        y = tf.sqrt(tf.debugging.check_numerics(x, "sqrt"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="detected in gradient. sqrt"):
        tape.gradient(y, x)


def test_check_numerics_inside_function_raises_when_run():
    @tf.function
    def f(x):
        return tf.debugging.check_numerics(tf.math.log(x), "log")

    assert float(f(tf.constant(1.0))) == 0.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="log : Tensor had NaN"):
        f(tf.constant(-1.0))


def test_disabled_checks_install_no_hooks():
    tf.debugging.enable_check_numerics()
    tf.debugging.disable_check_numerics()
    assert op_mod.dispatch_hook is None and plan_mod.check_hook is None
    assert np.isnan(tf.math.log(tf.constant(-1.0)).numpy())


def test_eager_nan_names_op_line_and_bad_input(checks):
    def program():
        x = tf.constant([-1.0, 2.0])
        return tf.math.log(x)   # the line named

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        program()
    text = str(info.value)
    assert 'eagerly-executing op "Log"' in text
    assert f"{__file__}:{_line_of('tf.math.log', program)} in program" in text
    assert "input #0 has 1 value(s) below 0" in text


def test_inf_from_an_input_that_already_was_inf_says_where_it_came_from(checks):
    v = tf.Variable([np.inf, 1.0])
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"input #0 already held Inf values \(Variable 'Variable:0'\)"):
        v * 2.0


def test_traced_nan_names_the_line_noted_while_tracing(checks):
    @tf.function
    def f(a):
        b = a * 2.0
        return tf.math.sqrt(b)   # the line named

    assert float(f(tf.constant(2.0))) == 2.0
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        f(tf.constant(-2.0))
    text = str(info.value)
    assert 'graph op "Sqrt"' in text and 'Graph name: "f"' in text
    assert f"{__file__}:{_line_of('tf.math.sqrt', f.python_function)} in f" in text
    assert "1 negative value(s)" in text


def test_backward_inf_names_the_forward_op_and_its_line(checks):
    v = tf.Variable(0.0)

    def program():
        with tf.GradientTape() as tape:
            z = tf.sqrt(v)   # forward line
        return tape.gradient(z, v)   # backward line

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        program()
    text = str(info.value)
    assert 'op "SqrtGrad"' in text
    assert f"{__file__}:{_line_of('tape.gradient', program)} in program" in text
    assert (f"made by the gradient of Sqrt at {__file__}:"
            f"{_line_of('tf.sqrt(v)', program)} in program") in text


def test_backward_of_a_traced_function_names_the_forward_line(checks):
    v = tf.Variable(0.0)

    @tf.function
    def forward(x):
        return tf.sqrt(x) * 3.0   # forward line

    with tf.GradientTape() as tape:
        z = forward(v)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        tape.gradient(z, v)
    text = str(info.value)
    assert "SqrtGrad" in text
    assert (f"gradient of Sqrt at {__file__}:"
            f"{_line_of('tf.sqrt(x)', forward.python_function)} in forward") in text


def test_backward_inside_traced_function_names_the_forward_line(checks):
    @tf.function
    def step(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            z = tf.sqrt(v)   # forward line
        return tape.gradient(z, v)

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        step(tf.constant(0.0))
    assert (f"gradient of Sqrt at {__file__}:{_line_of('tf.sqrt(v)', step.python_function)}"
            in str(info.value))


def test_finite_program_runs_unchanged_with_checks(checks):
    @tf.function
    def f(x):
        return tf.reduce_sum(tf.exp(x) * 2.0)

    assert abs(float(f(tf.constant([0.0, 0.0]))) - 4.0) < 1e-6


def test_log_device_placement_logs_each_eager_op(capsys):
    tf.debugging.set_log_device_placement(True)
    try:
        tf.constant([1.0]) + 1.0
    finally:
        tf.debugging.set_log_device_placement(False)
    err = capsys.readouterr().err
    assert "Executing op AddV2 in device /job:localhost/replica:0/task:0/device:CPU:0" in err
    assert op_mod.dispatch_hook is None


def test_eager_error_matches_tensorflow_header(real_tf, checks):
    real_tf.debugging.enable_check_numerics()
    try:
        with pytest.raises(real_tf.errors.InvalidArgumentError) as theirs:
            real_tf.math.log(real_tf.constant([-1.0, 2.0]))
    finally:
        real_tf.debugging.disable_check_numerics()
    with pytest.raises(tf.errors.InvalidArgumentError) as ours:
        tf.math.log(tf.constant([-1.0, 2.0]))
    header = '!!! Detected Infinity or NaN in output 0 of eagerly-executing op "Log"'
    assert header in str(theirs.value) and header in str(ours.value)
    assert "Tensor had NaN values" in str(ours.value)



def test_keras_layer_is_named():
    model = tf.keras.Sequential([tf.keras.layers.Input((2,)), tf.keras.layers.Dense(3),
                                 tf.keras.layers.Dense(1, name="last")])
    model.layers[1].kernel.assign(np.full((3, 1), np.inf, np.float32))
    tf.debugging.enable_check_numerics()
    try:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            model(np.ones((1, 2), np.float32))
    finally:
        tf.debugging.disable_check_numerics()
    text = str(info.value)
    assert "In Keras layer 'last' (Dense)" in text
    assert "(Variable 'last/kernel:0')" in text


def test_keras_model_built_while_checks_are_on(checks):
    model = tf.keras.Sequential([tf.keras.layers.Input((2,)), tf.keras.layers.Dense(3)])
    assert model(np.ones((1, 2), np.float32)).shape == (1, 3)
