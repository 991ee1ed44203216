"""Losses and metrics: values against TF/Keras, aliases, clear errors for bad labels."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

rng = np.random.default_rng(7)
PROBS = rng.dirichlet(np.ones(4), size=6).astype(np.float32)
PROBS[0] = [1.0, 0.0, 0.0, 0.0]           # exercises the [eps, 1 - eps] clipping
LOGITS = rng.standard_normal((6, 4)).astype(np.float32)
LABELS = np.array([0, 1, 3, 2, 1, 0])
ONEHOT = np.eye(4, dtype=np.float32)[LABELS]
BIN_TRUE = rng.integers(0, 2, (6, 3)).astype(np.float32)
BIN_PRED = rng.uniform(0.01, 0.99, (6, 3)).astype(np.float32)
REG_TRUE = rng.standard_normal((6, 3)).astype(np.float32)
REG_PRED = (REG_TRUE * 1.5 + rng.standard_normal((6, 3))).astype(np.float32)

LOSS_CASES = [
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS[:, None].astype(np.float32), PROBS),
    ("CategoricalCrossentropy", {}, ONEHOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONEHOT, LOGITS),
    ("BinaryCrossentropy", {}, BIN_TRUE, BIN_PRED),
    ("BinaryCrossentropy", {"from_logits": True}, BIN_TRUE, LOGITS[:, :3]),
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED),
    ("Huber", {"delta": 0.7}, REG_TRUE, REG_PRED),
]


@pytest.mark.parametrize("name,kwargs,y_true,y_pred", LOSS_CASES)
def test_loss_matches_keras(real_tf, name, kwargs, y_true, y_pred):
    ours = getattr(keras.losses, name)(**kwargs)(y_true, y_pred)
    theirs = getattr(real_tf.keras.losses, name)(**kwargs)(y_true, y_pred)
    assert ours.dtype == tf.float32 and ours.shape == tf.TensorShape([])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["sum", "none", "sum_over_batch_size"])
def test_reductions_and_sample_weight_match_keras(real_tf, reduction):
    sw = np.linspace(0.0, 1.0, 6).astype(np.float32)
    ours = keras.losses.MeanSquaredError(reduction=reduction)(REG_TRUE, REG_PRED, sw)
    theirs = real_tf.keras.losses.MeanSquaredError(reduction=reduction)(REG_TRUE, REG_PRED, sw)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)


@pytest.mark.parametrize("alias,cls", [
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"),
    ("categorical_crossentropy", "CategoricalCrossentropy"),
    ("binary_crossentropy", "BinaryCrossentropy"), ("mse", "MeanSquaredError"),
    ("mae", "MeanAbsoluteError"), ("huber", "Huber")])
def test_string_aliases(alias, cls):
    assert type(keras.losses.get(alias)).__name__ == cls


def test_unknown_loss_alias_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown loss function: 'sparse_crossentropy'.*"
                                         r"Expected one of"):
        keras.losses.get("sparse_crossentropy")


def test_unknown_metric_and_optimizer_aliases_are_clear_errors():
    with pytest.raises(ValueError, match=r"Unknown metric function: 'acuracy'"):
        keras.metrics.get("acuracy")
    with pytest.raises(ValueError, match=r"Unknown optimizer: 'adamm'"):
        keras.optimizers.get("adamm")


def test_sparse_loss_with_labels_of_the_wrong_shape_names_both_shapes():
    loss = keras.losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match=r"of shape \(6,\) or \(6, 1\).*y_pred of shape "
                                         r"\(6, 4\); received y_true of shape \(6, 4\)"):
        loss(ONEHOT, PROBS)


def test_regression_loss_with_mismatched_shapes_names_both_shapes():
    with pytest.raises(ValueError, match=r"y_true of shape \(6, 3\) and y_pred of shape "
                                         r"\(6, 2\)"):
        keras.losses.MeanSquaredError()(REG_TRUE, REG_PRED[:, :2])


def test_sparse_label_out_of_range_is_reported():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of 7"):
        keras.losses.SparseCategoricalCrossentropy()([7, 0], PROBS[:2])


def test_loss_gradients_numeric_vs_analytic():
    p = PROBS[1:].astype(np.float64)
    check_gradients(lambda q: keras.losses.sparse_categorical_crossentropy(LABELS[1:], q), [p])
    check_gradients(lambda z: keras.losses.categorical_crossentropy(ONEHOT, z, from_logits=True),
                    [LOGITS.astype(np.float64)])
    check_gradients(lambda q: keras.losses.binary_crossentropy(BIN_TRUE, q),
                    [BIN_PRED.astype(np.float64)])
    check_gradients(lambda q: keras.losses.huber(REG_TRUE, q, 0.7),
                    [REG_PRED.astype(np.float64)], order=1)


# -- metrics --------------------------------------------------------------------------------

METRIC_CASES = [
    ("SparseCategoricalAccuracy", {}, LABELS, PROBS),
    ("SparseCategoricalAccuracy", {}, LABELS[:, None].astype(np.float32), PROBS),
    ("CategoricalAccuracy", {}, ONEHOT, PROBS),
    ("BinaryAccuracy", {}, BIN_TRUE, BIN_PRED),
    ("Accuracy", {}, np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, LABELS, PROBS),
]


@pytest.mark.parametrize("name,kwargs,y_true,y_pred", METRIC_CASES)
def test_metric_matches_keras_over_two_updates(real_tf, name, kwargs, y_true, y_pred):
    ours, theirs = getattr(keras.metrics, name)(**kwargs), getattr(real_tf.keras.metrics,
                                                                   name)(**kwargs)
    for part in (slice(0, 3), slice(3, None)):
        ours.update_state(y_true[part], y_pred[part])
        theirs.update_state(y_true[part], y_pred[part])
    np.testing.assert_allclose(ours.result().numpy(), theirs.result().numpy(), rtol=1e-6)
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_mean_metric_is_callable_and_formats_like_tf():
    m = keras.metrics.Mean()
    m(tf.constant(1.0))
    out = m(np.array([2.0, 3.0]))
    assert out.dtype == tf.float32 and out.shape == tf.TensorShape([])
    assert f"{m.result():.5f}" == "2.00000"
    assert f"{m.result() * 100:.2f}%" == "200.00%"


def test_metric_state_lives_in_variables_updated_in_place():
    m = keras.metrics.SparseCategoricalAccuracy()
    total = m.variables[0]
    m.update_state(LABELS, PROBS)
    assert m.variables[0] is total and float(total) > 0


def test_compile_accuracy_picks_the_accuracy_for_the_loss():
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,))])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    acc = model.compiled_metrics.metrics[0]
    acc.update_state(np.array([1, 2]), np.array([[0, 1, 0, 0], [0, 0, 0, 1.0]]))
    assert acc.name == "accuracy" and float(acc.result()) == 0.5


def test_crossentropy_of_a_softmax_output_uses_its_logits_as_keras(real_tf):
    logits = np.array([[30.0, 0.0, -5.0], [0.0, 1.0, 2.0]], np.float32)   # p ~ 1e-13
    ours_p = keras.layers.Activation("softmax")(logits)
    theirs_p = real_tf.keras.layers.Activation("softmax")(logits)
    for name, y in (("SparseCategoricalCrossentropy", np.array([1, 2])),
                    ("CategoricalCrossentropy", np.eye(3, dtype=np.float32)[[1, 2]])):
        ours = getattr(keras.losses, name)()(y, ours_p)
        theirs = getattr(real_tf.keras.losses, name)()(y, theirs_p)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)
        assert float(ours) > 15       # unclipped: -log(1e-13) / 2, not the clipped 16.1 / 2
    sig = keras.layers.Dense(2, activation="sigmoid")
    x = np.array([[40.0, -3.0]], np.float32)
    out = sig(x)
    expected = keras.losses.BinaryCrossentropy(from_logits=True)(
        np.array([[0.0, 1.0]]), x @ sig.kernel.numpy() + sig.bias.numpy())
    np.testing.assert_allclose(keras.losses.BinaryCrossentropy()(np.array([[0.0, 1.0]]),
                                                                 out).numpy(),
                               expected.numpy(), rtol=1e-6)


def test_gradient_through_softmax_output_and_loss_is_softmax_minus_onehot():
    logits = tf.constant(LOGITS)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = keras.losses.SparseCategoricalCrossentropy(reduction="sum")(
            LABELS, keras.activations.softmax(logits))
    g = tape.gradient(loss, logits).numpy()
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
    np.testing.assert_allclose(g, p - ONEHOT, rtol=1e-5, atol=1e-6)
