"""keras.callbacks.TensorBoard and GradientFlowCallback, read back with TensorBoard's loader."""
import os

import numpy as np
import pytest

import tapeflow as tf

ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
tensor_util = pytest.importorskip("tensorboard.util.tensor_util")


def _model():
    model = tf.keras.Sequential([tf.keras.layers.Input((4,)),
                                 tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(rng):
    x = rng.normal(size=(64, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int32)


def _load(path):
    acc = ea.EventAccumulator(str(path), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    return acc


def _fit(tmp_path, rng, **kwargs):
    x, y = _data(rng)
    model = _model()
    cb = tf.keras.callbacks.TensorBoard(str(tmp_path), **kwargs)
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, callbacks=[cb],
                        verbose=0)
    return model, history


def test_epoch_scalars_match_the_history(tmp_path, rng):
    _, history = _fit(tmp_path, rng)
    train, val = _load(tmp_path / "train"), _load(tmp_path / "validation")
    got = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in train.Tensors("epoch_loss")]
    np.testing.assert_allclose(got, history.history["loss"], rtol=1e-6)
    got = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in val.Tensors("epoch_loss")]
    np.testing.assert_allclose(got, history.history["val_loss"], rtol=1e-6)
    assert [e.step for e in train.Tensors("epoch_accuracy")] == [0, 1]


def test_batch_scalars_every_update_freq_batches(tmp_path, rng):
    _fit(tmp_path, rng, update_freq=2)
    steps = [e.step for e in _load(tmp_path / "train").Tensors("batch_loss")]
    assert steps == [2, 4, 6]        # 3 batches per epoch, 2 epochs


def test_weight_and_gradient_histograms(tmp_path, rng):
    model, _ = _fit(tmp_path, rng, histogram_freq=1)
    acc = _load(tmp_path / "train")
    tags = acc.Tags()["tensors"]
    for w in model.trainable_variables:
        path = w.name.split(":")[0]
        assert f"{path}/histogram" in tags and f"{path}/gradient" in tags
    first = model.layers[0].name
    kernel = tensor_util.make_ndarray(acc.Tensors(f"{first}/kernel/histogram")[-1].tensor_proto)
    assert kernel.shape == (30, 3) and kernel[:, 2].sum() == 4 * 8
    grad = tensor_util.make_ndarray(acc.Tensors(f"{first}/kernel/gradient")[0].tensor_proto)
    assert grad[:, 2].sum() == 4 * 8 and np.ptp(grad[:, :2]) > 0


def test_gradient_tap_is_removed_after_training(tmp_path, rng):
    model, _ = _fit(tmp_path, rng, histogram_freq=1)
    assert "apply_gradients" not in model.optimizer.__dict__


def test_graph_and_model_config(tmp_path, rng):
    _fit(tmp_path, rng)
    acc = _load(tmp_path / "train")
    ops = {n.op for n in acc.Graph().node}
    assert {"MatMul", "Relu", "Softmax"} <= ops
    assert "keras" in acc.Tags()["tensors"]


def test_weight_images(tmp_path, rng):
    model, _ = _fit(tmp_path, rng, histogram_freq=1, write_images=True)
    tag = f"{model.layers[0].name}/kernel/image"
    assert tag in _load(tmp_path / "train").Tags()["tensors"]


def test_bad_update_freq():
    with pytest.raises(ValueError, match="update_freq"):
        tf.keras.callbacks.TensorBoard(update_freq="sometimes")


def test_gradient_flow_callback_records_and_draws(tmp_path, rng):
    pytest.importorskip("matplotlib")
    x, y = _data(rng)
    model = _model()
    path = tmp_path / "flow.png"
    cb = tf.keras.callbacks.GradientFlowCallback(str(path), every_n_batches=2)
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[cb], verbose=0)
    history = cb.recorder.history
    assert [step for step, _ in history] == [1, 3, 5, 7]
    assert [s.name for s in history[0][1].layers] == [layer.name for layer in model.layers]
    assert all(s.norm > 0 for _, flow in history for s in flow.layers)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 5000
