"""Seeds 000 and 004: their train_step/test_step under tf.function give the eager results.

The steps are the seeds' code verbatim (GradientTape, model call, loss, apply_gradients,
metric updates); the data is a small synthetic stand-in with a short last batch, so the
retracing rules are exercised too.
"""
import numpy as np
import pytest

import tapeflow as tf


def _seed000_model():
    input_ = tf.keras.layers.Input(shape=(28, 28, 1))
    x = tf.keras.layers.Conv2D(32, 3, activation='relu')(input_)
    x = tf.keras.layers.Conv2D(64, 3, activation='relu')(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(128, activation='relu')(x)
    output_ = tf.keras.layers.Dense(10, activation='softmax')(x)
    return tf.keras.models.Model(input_, output_)


def _seed004_model():
    return tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28, 1)),
                                tf.keras.layers.Dense(32, activation='relu'),
                                tf.keras.layers.Dense(10, activation='softmax')])


def _run_seed_loop(make_model, wrap, n_train, n_test, epochs=1):
    """The seeds' STEP 2-5 and epoch loop; `wrap` is tf.function (with options) or identity."""
    rng = np.random.default_rng(0)
    x_train = rng.random((n_train, 28, 28, 1)).astype(np.float32)
    y_train = rng.integers(0, 10, n_train).astype(np.uint8)
    x_test = rng.random((n_test, 28, 28, 1)).astype(np.float32)
    y_test = rng.integers(0, 10, n_test).astype(np.uint8)
    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)

    tf.random.set_seed(7)
    model = make_model()
    loss_function = tf.keras.losses.SparseCategoricalCrossentropy()
    optimizer = tf.keras.optimizers.Adam()
    train_loss = tf.keras.metrics.Mean()
    train_acc = tf.keras.metrics.SparseCategoricalAccuracy()
    test_loss = tf.keras.metrics.Mean()
    test_acc = tf.keras.metrics.SparseCategoricalAccuracy()

    @wrap
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            predictions = model(images)
            loss = loss_function(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        train_loss(loss)
        train_acc(labels, predictions)

    @wrap
    def test_step(images, labels):
        predictions = model(images)
        loss = loss_function(labels, predictions)
        test_loss(loss)
        test_acc(labels, predictions)

    history = []
    for _ in range(epochs):
        for images, labels in train_ds:
            train_step(images, labels)
        for test_images, test_labels in test_ds:
            test_step(test_images, test_labels)
        history.append([float(m.result()) for m in (train_loss, train_acc, test_loss, test_acc)])
    weights = [w.numpy() for w in model.weights]
    return history, weights, train_step, test_step


def _identity(f):
    return f


def _assert_same_run(a, b):
    (hist_a, w_a), (hist_b, w_b) = a[:2], b[:2]
    np.testing.assert_allclose(hist_a, hist_b, rtol=1e-5, atol=1e-7)
    for x, y in zip(w_a, w_b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_seed000_steps_as_function_match_eager():
    eager = _run_seed_loop(_seed000_model, _identity, n_train=64, n_test=48)
    traced = _run_seed_loop(_seed000_model, tf.function, n_train=64, n_test=48)
    _assert_same_run(eager, traced)
    train_step, test_step = traced[2], traced[3]
    assert train_step.experimental_get_tracing_count() == 1       # batches 32, 32
    assert test_step.experimental_get_tracing_count() == 2        # batches 32, 16


def test_seed004_steps_match_eager_and_relaxed_shapes_stop_retracing():
    eager = _run_seed_loop(_seed004_model, _identity, n_train=88, n_test=40, epochs=2)
    relaxed = tf.function(experimental_relax_shapes=True)
    traced = _run_seed_loop(_seed004_model, relaxed, n_train=88, n_test=40, epochs=2)
    _assert_same_run(eager, traced)
    train_step, test_step = traced[2], traced[3]
    # Batches 32, 32, 24: one trace for 32, one relaxed trace ([None, 28, 28, 1]) for the rest.
    assert train_step.experimental_get_tracing_count() == 2
    assert test_step.experimental_get_tracing_count() == 2
    assert [s.shape.as_list() for s in
            train_step.get_concrete_function(tf.zeros([5, 28, 28, 1]),
                                             tf.zeros([5], tf.uint8)).inputs] == \
        [[None, 28, 28, 1], [None]]
    assert train_step.experimental_get_tracing_count() == 2


@pytest.mark.parametrize("relax", [False, True])
def test_seed004_retraces_once_per_distinct_signature(relax):
    wrap = tf.function(reduce_retracing=relax)
    # Three batch sizes (32, 16, 8): one trace each, or one exact plus one relaxed trace.
    _, _, train_step, _ = _run_seed_loop(_seed004_model, wrap, n_train=32, n_test=8)
    model_fn = train_step
    for n in (16, 8, 16, 8):
        model_fn(tf.zeros([n, 28, 28, 1]), tf.zeros([n], tf.uint8))
    assert model_fn.experimental_get_tracing_count() == (2 if relax else 3)
