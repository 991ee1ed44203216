"""Optimizers: Keras 3 update math against TF, defaults, clipping, schedules, bad input."""
import logging

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

rng = np.random.default_rng(3)
W0 = rng.standard_normal((4, 3)).astype(np.float32)
B0 = rng.standard_normal(3).astype(np.float32)
GRADS = [(rng.standard_normal((4, 3)).astype(np.float32),
          rng.standard_normal(3).astype(np.float32)) for _ in range(4)]

OPT_CASES = [
    ("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {}), ("Adam", {"amsgrad": True, "learning_rate": 0.01}), ("AdamW", {}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.5, "centered": True}), ("Adagrad", {}),
    ("Adam", {"clipnorm": 0.5}), ("SGD", {"clipvalue": 0.1}), ("Adam", {"global_clipnorm": 1.0}),
]


def _run(tf_module, name, kwargs):
    opt = getattr(tf_module.keras.optimizers, name)(**kwargs)
    w, b = tf_module.Variable(W0.copy()), tf_module.Variable(B0.copy())
    for gw, gb in GRADS:
        opt.apply_gradients([(tf_module.constant(gw), w), (tf_module.constant(gb), b)])
    return w.numpy(), b.numpy(), int(opt.iterations.numpy())


@pytest.mark.parametrize("name,kwargs", OPT_CASES)
def test_updates_match_keras(real_tf, name, kwargs):
    ours, theirs = _run(tf, name, kwargs), _run(real_tf, name, kwargs)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=2e-5, atol=1e-6)
    assert ours[2] == theirs[2] == len(GRADS)


def test_keras3_default_hyperparameters():
    adam = keras.optimizers.Adam()
    assert (float(adam.learning_rate), adam.beta_1, adam.beta_2, adam.epsilon) == pytest.approx(
        (0.001, 0.9, 0.999, 1e-7))
    assert float(keras.optimizers.SGD().learning_rate) == pytest.approx(0.01)
    assert keras.optimizers.AdamW().weight_decay == 0.004
    assert float(keras.optimizers.get("rmsprop").learning_rate) == pytest.approx(0.001)


def test_exponential_decay_schedule_matches_keras(real_tf):
    args = {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}
    ours_opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(**args))
    theirs_opt = real_tf.keras.optimizers.SGD(
        real_tf.keras.optimizers.schedules.ExponentialDecay(**args))
    w, tw = tf.Variable(W0.copy()), real_tf.Variable(W0.copy())
    for gw, _ in GRADS:
        ours_opt.apply_gradients([(tf.constant(gw), w)])
        theirs_opt.apply_gradients([(real_tf.constant(gw), tw)])
    np.testing.assert_allclose(w.numpy(), tw.numpy(), rtol=1e-5)
    assert float(ours_opt.learning_rate) == pytest.approx(0.1 * 0.5 ** 2)


def test_learning_rate_can_be_set():
    opt = keras.optimizers.SGD(0.5)
    opt.learning_rate = 0.25
    v = tf.Variable([1.0])
    opt.apply_gradients([(tf.constant([1.0]), v)])
    np.testing.assert_allclose(v.numpy(), [0.75])


def test_none_gradients_are_skipped_with_a_warning_naming_the_variable(caplog):
    a, b = tf.Variable([1.0], name="a"), tf.Variable([1.0], name="b")
    opt = keras.optimizers.SGD(0.1)
    with caplog.at_level(logging.WARNING, logger="tapeflow"):
        opt.apply_gradients([(None, a), (tf.constant([1.0]), b)])
    assert "a:0" in caplog.text and "b:0" not in caplog.text
    assert a.numpy()[0] == 1.0 and b.numpy()[0] == pytest.approx(0.9)


def test_all_none_gradients_is_an_error():
    with pytest.raises(ValueError, match=r"No gradients provided for any variable"):
        keras.optimizers.Adam().apply_gradients([(None, tf.Variable(1.0))])


def test_bad_gradient_shape_leaves_every_variable_unchanged():
    a, b = tf.Variable(np.ones(3, np.float32), name="a"), tf.Variable(np.ones(2, np.float32),
                                                                        name="b")
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match=r"'b:0' has shape \(3,\); expected the variable's "
                                         r"shape \(2,\)"):
        opt.apply_gradients([(tf.ones([3]), a), (tf.ones([3]), b)])
    assert (a.numpy() == 1).all() and (b.numpy() == 1).all()
    assert int(opt.iterations) == 0


def test_bad_gradient_dtype_is_reported_before_any_update():
    a = tf.Variable(np.ones(2, np.float32), name="a")
    with pytest.raises(ValueError, match=r"'a:0' \(dtype float32\) has dtype float64"):
        keras.optimizers.SGD().apply_gradients([(tf.constant(np.ones(2)), a)])
    assert (a.numpy() == 1).all()


def test_slots_are_created_once_and_named_after_variables():
    v = tf.Variable(np.ones((2, 2), np.float32), name="dense/kernel")
    opt = keras.optimizers.Adam()
    opt.apply_gradients([(tf.ones([2, 2]), v)])
    slots = list(opt.variables)
    opt.apply_gradients([(tf.ones([2, 2]), v)])
    assert [s.name for s in opt.variables] == [s.name for s in slots]
    assert "adam/dense_kernel_momentum:0" in [s.name for s in slots]


def test_minimize_with_a_callable_loss():
    v = tf.Variable(3.0)
    opt = keras.optimizers.SGD(0.1)
    for _ in range(50):
        opt.minimize(lambda: (v - 1.0) ** 2, [v])
    assert float(v) == pytest.approx(1.0, abs=1e-3)


def test_apply_takes_gradients_and_variables_as_two_lists():
    v = tf.Variable([1.0, 2.0])
    opt = keras.optimizers.SGD(learning_rate=0.5)
    opt.apply([tf.constant([2.0, 2.0])], [v])
    np.testing.assert_allclose(v.numpy(), [0.0, 1.0])
    opt.apply([tf.constant([2.0, 2.0])])       # the variables it was built for
    np.testing.assert_allclose(v.numpy(), [-1.0, 0.0])


def test_apply_rejects_unequal_numbers_of_gradients_and_variables():
    v = tf.Variable([1.0])
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        keras.optimizers.SGD().apply([tf.constant([1.0]), tf.constant([1.0])], [v])
    np.testing.assert_array_equal(v.numpy(), [1.0])


def test_apply_before_build_needs_the_variables():
    with pytest.raises(ValueError, match="trainable_variables"):
        keras.optimizers.Adam().apply([tf.constant([1.0])])
