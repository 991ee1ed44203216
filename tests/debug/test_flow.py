"""tapeflow.debug.gradient_flow and GradientFlowRecorder: per-layer statistics and charts."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import debug

PNG = b"\x89PNG\r\n\x1a\n"


def _model():
    return tf.keras.Sequential([tf.keras.layers.Input((3,)),
                                tf.keras.layers.Dense(4, activation="relu"),
                                tf.keras.layers.Dense(2)])


def test_statistics_per_layer_match_numpy(rng):
    model = _model()
    x = rng.normal(size=(8, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    flow = debug.gradient_flow(model, grads)
    assert [s.name for s in flow.layers] == [layer.name for layer in model.layers]
    for layer, stats in zip(model.layers, flow.layers):
        arrays = [g.numpy() for g, v in zip(grads, model.trainable_variables)
                  if v.name.startswith(layer.name + "/")]
        flat = np.concatenate([a.ravel() for a in arrays])
        assert stats.norm == pytest.approx(np.linalg.norm(flat), rel=1e-5)
        assert stats.mean == pytest.approx(np.abs(flat).mean(), rel=1e-5)
        assert stats.max == pytest.approx(np.abs(flat).max(), rel=1e-6)
        assert stats.size == flat.size


def test_dead_units_are_columns_with_zero_gradient():
    kernel = tf.Variable(np.ones((3, 4), np.float32), name="layer/kernel")
    grad = np.ones((3, 4), np.float32)
    grad[:, 1] = 0.0
    grad[:, 3] = 0.0
    (stats,) = debug.gradient_flow([kernel], [grad]).layers
    assert stats.dead_fraction == 0.5


def test_dead_relu_units_show_up():
    dense = tf.keras.layers.Dense(4, activation="relu", name="dead_relu")
    model = tf.keras.Sequential([tf.keras.layers.Input((2,)), dense])
    dense.kernel.assign(np.ones((2, 4), np.float32))
    dense.bias.assign([-100.0, -100.0, 0.0, 0.0])   # two units never fire
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(np.ones((5, 2), np.float32)))
    flow = debug.gradient_flow(model, tape.gradient(loss, model.trainable_variables))
    assert flow["dead_relu"].dead_fraction == 0.5


def test_missing_gradients_count_as_a_dead_layer():
    v = tf.Variable(1.0, name="unused/w")
    (stats,) = debug.gradient_flow([v], [None]).layers
    assert stats.norm == 0.0 and stats.dead_fraction == 1.0


def test_gradient_count_must_match():
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        debug.gradient_flow([tf.Variable(1.0)], [None, None])


def test_plot_writes_a_png(tmp_path, rng):
    pytest.importorskip("matplotlib")
    model = _model()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(rng.normal(size=(4, 3)).astype(np.float32)))
    path = tmp_path / "flow.png"
    debug.gradient_flow(model, tape.gradient(loss, model.trainable_variables)).plot(str(path))
    assert path.read_bytes()[:8] == PNG


def test_repr_is_a_table():
    v = tf.Variable([1.0], name="dense/kernel")
    text = repr(debug.gradient_flow([v], [np.array([2.0])]))
    assert text.splitlines()[0].split() == ["layer", "norm", "mean", "max", "dead"]
    assert text.splitlines()[1].split()[:2] == ["dense", "2"]


def test_recorder_samples_every_n_steps_inside_a_function(rng, tmp_path):
    pytest.importorskip("matplotlib")
    model = _model()
    opt = tf.keras.optimizers.SGD(0.01)
    recorder = debug.GradientFlowRecorder(model, every_n_batches=3)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        recorder.record(grads)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return grads

    x = rng.normal(size=(4, 3)).astype(np.float32)
    last = None
    for _ in range(7):
        last = step(x)
    assert [s for s, _ in recorder.history] == [1, 4, 7]
    np.testing.assert_allclose(recorder.history[-1][1].layers[-1].norm,
                               np.sqrt(sum(float(np.sum(g.numpy() ** 2)) for g in last[2:])),
                               rtol=1e-5)
    path = tmp_path / "over_time.png"
    recorder.plot(str(path))
    assert path.read_bytes()[:8] == PNG


def test_recorder_needs_a_positive_period():
    with pytest.raises(ValueError, match="at least 1"):
        debug.GradientFlowRecorder([], every_n_batches=0)
