"""Several outputs: losses, weights and targets given by output name."""
import numpy as np
import pytest

from tapeflow import keras


def _two_output_model():
    a, b = keras.Input(shape=(None,), name="words"), keras.Input(shape=(2,), name="tags")
    feats = keras.layers.concatenate([
        keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(10, 3)(a)), b])
    return keras.Model([a, b], [keras.layers.Dense(1, name="score")(feats),
                                keras.layers.Dense(3, name="kind")(feats)])


def test_dict_targets_are_matched_to_outputs_by_name_not_by_key_order():
    model = _two_output_model()
    model.compile(optimizer="sgd", loss={"score": "mse", "kind": "mse"},
                  loss_weights={"score": 1.0, "kind": 0.0})
    x = {"words": np.ones((4, 5), np.int32), "tags": np.ones((4, 2), np.float32)}
    # Sorted keys would give "kind" (width 3) to the "score" output (width 1).
    y = {"score": np.zeros((4, 1), np.float32), "kind": np.zeros((4, 3), np.float32)}
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert logs["loss"] == pytest.approx(float(np.mean(pred[0] ** 2)), rel=1e-5)


def test_dict_targets_missing_an_output_name_the_output():
    model = _two_output_model()
    model.compile(optimizer="sgd", loss="mse")
    x = {"words": np.ones((2, 5), np.int32), "tags": np.ones((2, 2), np.float32)}
    with pytest.raises(ValueError, match=r"\['kind'\]"):
        model.evaluate(x, {"score": np.zeros((2, 1))}, verbose=0)


def test_metrics_given_by_string_are_logged_under_that_string_as_keras(real_tf):
    x, y = np.ones((4, 3), np.float32), np.ones((4, 1), np.float32)
    spec = dict(metrics=["mae", "acc", "mse", keras.metrics.MeanSquaredError()],
                weighted_metrics=["mae"])
    ours_in = keras.Input((3,))
    ours = keras.Model(ours_in, keras.layers.Dense(1)(ours_in))
    ours.compile("sgd", "mse", **spec)
    theirs_in = real_tf.keras.Input((3,))
    theirs = real_tf.keras.Model(theirs_in, real_tf.keras.layers.Dense(1)(theirs_in))
    theirs.compile("sgd", "mse", metrics=["mae", "acc", "mse",
                                          real_tf.keras.metrics.MeanSquaredError()],
                   weighted_metrics=["mae"])
    keys = set(ours.fit(x, y, verbose=0).history)
    assert keys == set(theirs.fit(x, y, verbose=0).history)
    assert {"mae", "mse", "acc", "weighted_mae", "mean_squared_error"} <= keys
