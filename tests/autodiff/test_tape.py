"""tapeflow/autodiff/tape.py: GradientTape behaviour, as TensorFlow's."""
import numpy as np
import pytest

import tapeflow as tf


def test_sources_may_be_nested_lists_tuples_and_dicts():
    w = tf.Variable([[1.0, 2.0], [3.0, 4.0]], name="w")
    b = tf.Variable([0.5, -0.5], name="b")
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_sum(tf.matmul([[1.0, 1.0]], w) + b)
    g = tape.gradient(loss, {"layer": [w, (b,)], "b": b})
    assert set(g) == {"layer", "b"} and isinstance(g["layer"], list)
    assert isinstance(g["layer"][1], tuple)
    np.testing.assert_array_equal(g["layer"][0].numpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(g["b"].numpy(), [1.0, 1.0])


def test_non_scalar_and_multiple_targets_are_summed():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = 3.0 * x
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(tape.gradient([y, z], x).numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(tape.gradient({"a": y, "b": [z]}, x).numpy(), [5.0, 7.0])


def test_second_gradient_call_on_non_persistent_tape_is_a_clear_error():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent.*persistent=True"):
        tape.gradient(y, x)


def test_persistent_tape_gives_gradients_repeatedly():
    x = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * y
    assert float(tape.gradient(y, x)) == 4.0
    assert float(tape.gradient(z, x)) == 32.0
    assert float(tape.gradient(y, x)) == 4.0


def test_watch_of_unwatchable_values_is_a_clear_error():
    with tf.GradientTape() as tape:
        with pytest.raises(ValueError, match="expects a tf.Tensor or tf.Variable.*'a'.*str"):
            tape.watch(["a", "b"])
        good = tf.constant(1.0)
        with pytest.raises(ValueError, match="received 1.0 of type float"):
            tape.watch([good, 1.0])
        y = good * 2.0
    assert tape.gradient(y, good) is None   # nothing was watched by the failed call


def test_watch_of_nested_tensors():
    a, b = tf.constant(1.0), tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch({"a": a, "more": [b]})
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert (float(ga), float(gb)) == (2.0, 1.0)


def test_watch_accessed_variables_false_and_watched_variables():
    x0, x1 = tf.Variable(0.0, name="x0"), tf.Variable(10.0, name="x1")
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x1)
        y = tf.math.sin(x0) + tf.nn.softplus(x1)
    g = tape.gradient(y, {"x0": x0, "x1": x1})
    assert g["x0"] is None
    np.testing.assert_allclose(g["x1"].numpy(), 0.9999546, rtol=1e-6)
    assert [v.name for v in tape.watched_variables()] == ["x1:0"]


def test_untrainable_variables_and_plain_tensors_get_none():
    x0 = tf.Variable(3.0, name="x0")
    x1 = tf.Variable(3.0, name="x1", trainable=False)
    x2 = tf.Variable(2.0, name="x2") + 1.0
    x3 = tf.constant(3.0)
    with tf.GradientTape() as tape:
        y = x0 ** 2 + x1 ** 2 + x2 ** 2 + x3
    grads = tape.gradient(y, [x0, x1, x2, x3])
    assert float(grads[0]) == 6.0 and grads[1:] == [None, None, None]
    assert [v.name for v in tape.watched_variables()] == ["x0:0"]


def test_stop_recording_excludes_ops():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * x
        with tape.stop_recording():
            z = y * x          # not recorded: no path from z's use below
        w = y + z
    assert float(tape.gradient(w, x)) == 6.0


def test_reset_clears_what_was_recorded():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * x
        tape.reset()
        z = 5.0 * x
    assert tape.gradient(y, x) is None
    tape2 = tf.GradientTape()
    with tape2:
        z = 5.0 * x
    assert float(tape2.gradient(z, x)) == 5.0


def test_unconnected_gradients_none_and_zero():
    x, y = tf.Variable([1.0, 2.0]), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        z = x * 2.0
    assert tape.gradient(z, y) is None
    g = tape.gradient(z, [x, y], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert float(g[1]) == 0.0 and g[1].dtype == tf.float32
    g = tape.gradient(z, y, unconnected_gradients="zero")
    assert g.shape == () and float(g) == 0.0
    with pytest.raises(ValueError):
        tape.gradient(z, y, unconnected_gradients="sometimes")


def test_output_gradients_weight_the_targets():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x, output_gradients=tf.constant([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, 0.0, -6.0])


def test_gradient_inside_the_with_block():
    x = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x ** 3
        g = tape.gradient(y, x)   # the tape does not record its own backward pass
        z = y * 2.0
    assert float(g) == 12.0
    assert float(tape.gradient(z, x)) == 24.0


def test_nested_tapes_give_second_and_third_derivatives():
    x = tf.Variable(1.5)
    with tf.GradientTape() as t3:
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                y = x ** 4 + tf.sin(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    v = 1.5
    np.testing.assert_allclose(float(d1), 4 * v ** 3 + np.cos(v), rtol=1e-6)
    np.testing.assert_allclose(float(d2), 12 * v ** 2 - np.sin(v), rtol=1e-6)
    np.testing.assert_allclose(float(d3), 24 * v - np.cos(v), rtol=1e-6)


def test_integer_sources_and_targets_give_none():
    i = tf.constant(3)
    x = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(i)
        j = i * i
        y = tf.cast(j, tf.float32) * x
        k = tf.cast(x, tf.int32)
    assert tape.gradient(j, i) is None
    assert tape.gradient(y, i) is None
    assert tape.gradient(k, x) is None
    assert float(tape.gradient(y, x)) == 9.0


def test_sources_must_be_tensors_or_variables():
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = x * 2.0
    with pytest.raises(TypeError, match="sources must be tensors or Variables.*str"):
        tape.gradient(y, ["x"])


def test_variable_reads_and_assignments_under_tape():
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        a = v * 3.0
        v.assign_add(1.0)
        b = v * 4.0   # reads the new value
    assert float(a) == 6.0 and float(b) == 12.0
    assert float(tape.gradient([a, b], v)) == 7.0


def test_gradient_uses_the_value_a_variable_had_when_it_was_read():
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = v * v
        v.assign(5.0)
        z = v * v
    # TF: dy/dv at the read value 2 (4.0) plus dz/dv at 5 (10.0).
    assert float(tape.gradient([y, z], v)) == 14.0
    assert float(v) == 5.0


def test_gradient_does_not_alias_variable_storage():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.identity(v)
    g = tape.gradient(y, v)
    snapshot = y.numpy().copy()
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(y.numpy(), snapshot)
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])


def test_the_same_tensor_used_many_times_accumulates():
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x * x + x
    assert float(tape.gradient(y, x)) == 13.0


def test_tape_recording_twice_is_an_error():
    tape = tf.GradientTape()
    with tape:
        with pytest.raises(ValueError, match="already recording"):
            tape.__enter__()


def test_targets_must_be_tensors():
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = x * 2.0
    with pytest.raises(TypeError, match="target must be a tensor.*float"):
        tape.gradient([y, 3.0], x)
