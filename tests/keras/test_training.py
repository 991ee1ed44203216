"""compile/fit/evaluate/predict, callbacks and the progress bar."""
import csv
import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    tf.random.set_seed(0)


def _data(n=64, d=5, classes=3, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, d))                   # float64, as NumPy data usually is
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y.astype(np.uint8) % classes


def _mlp():
    return keras.Sequential([L.Dense(8, activation="relu", input_shape=(5,)),
                             L.Dense(3, activation="softmax")])


def test_fit_gives_the_same_weights_as_a_hand_written_tape_loop():
    x, y = _data()
    a = _mlp()
    b = keras.models.clone_model(a)
    b.set_weights(a.get_weights())
    a.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    opt = keras.optimizers.Adam(0.01)
    for _ in range(2):
        for i in range(0, 64, 16):
            with tf.GradientTape() as tape:
                loss = loss_fn(y[i:i + 16], b(x[i:i + 16], training=True))
            grads = tape.gradient(loss, b.trainable_variables)
            opt.apply_gradients(zip(grads, b.trainable_variables))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_fit_matches_keras_on_the_same_initial_weights(real_tf):
    x, y = _data()
    ours = _mlp()
    theirs = real_tf.keras.Sequential([real_tf.keras.Input((5,)),
                                       real_tf.keras.layers.Dense(8, activation="relu"),
                                       real_tf.keras.layers.Dense(3, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h1 = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1.history["accuracy"], h2.history["accuracy"])
    for wa, wb in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)
    ev1 = ours.evaluate(x, y, verbose=0)
    ev2 = theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ev1, ev2, rtol=1e-4)


def test_fit_accepts_a_tapeflow_dataset_and_learns():
    x, y = _data(256)
    ds = tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y)).shuffle(256).batch(32)
    model = _mlp()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(ds, epochs=6, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.8
    _, acc = model.evaluate(ds, verbose=0)
    assert acc > 0.8


def test_validation_split_and_validation_data_add_val_logs():
    x, y = _data(80)
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    h = model.fit(x, y, epochs=1, validation_data=(x[:10], y[:10]), verbose=0)
    assert len(h.history["val_loss"]) == 1


def test_evaluate_verbose_2_prints_one_keras_line():
    x, y = _data(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    buf = io.StringIO()
    with redirect_stdout(buf):
        result = model.evaluate(x, y, batch_size=10, verbose=2)
    assert re.fullmatch(r"4/4 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n", buf.getvalue())
    assert isinstance(result, list) and len(result) == 2


def test_fit_verbose_1_prints_epochs_and_the_final_bar():
    x, y = _data(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.fit(x, y, batch_size=10, epochs=2)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.fullmatch(r"4/4 \[={30}\] - \d+s \d+[mu]?s/step - loss: \d\.\d{4} - accuracy: "
                        r"\d\.\d{4}", lines[1])


def test_fit_verbose_2_prints_one_line_per_epoch():
    x, y = _data(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.fit(x, y, batch_size=10, epochs=2, verbose=2)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 4 and re.fullmatch(r"4/4 - \d+s - loss: \d\.\d{4}", lines[3])


def test_progbar_draws_keras_bar():
    bar = keras.utils.Progbar(10, verbose=1)
    assert bar._bar(5) == " 5/10 [==============>...............]"     # "%2d" of the target
    assert bar._bar(10) == "10/10 [==============================]"


def test_predict_is_batched_and_returns_numpy():
    x, _ = _data(70)
    model = _mlp()
    out = model.predict(x, batch_size=32)
    assert isinstance(out, np.ndarray) and out.shape == (70, 3)
    np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-6)


def test_fit_before_compile_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"must compile your model before training"):
        _mlp().fit(*_data(), verbose=0)


def test_fit_with_labels_of_the_wrong_shape_says_expected_and_received():
    x, y = _data()
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"y_true .*of shape \(32,\) or \(32, 1\).*received "
                                         r"y_true of shape \(32, 3\)"):
        model.fit(x, np.eye(3)[y], verbose=0)


def test_mismatched_sample_counts_are_reported():
    x, y = _data()
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Data cardinality is ambiguous.*\(64, 5\).*\(60,\)"):
        model.fit(x, y[:60], verbose=0)


# -- callbacks --------------------------------------------------------------------------------

def test_early_stopping_stops_and_restores_best_weights():
    x, y = _data()
    model = _mlp()
    model.compile(keras.optimizers.SGD(10.0), "sparse_categorical_crossentropy")   # diverges
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    h = model.fit(x, y, epochs=20, verbose=0, callbacks=[stop])
    assert len(h.history["loss"]) < 20 and stop.stopped_epoch > 0


def test_model_checkpoint_saves_best_only(tmp_path):
    x, y = _data()
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    path = tmp_path / "best.weights.npz"
    cb = keras.callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True,
                                         save_weights_only=True)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert path.exists()
    fresh = _mlp()
    fresh.load_weights(str(path))
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_scheduler_and_csv_logger(tmp_path):
    x, y = _data()
    model = _mlp()
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    log = tmp_path / "log.csv"
    sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[sched, keras.callbacks.CSVLogger(str(log))])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 * 0.5 ** 3)
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert float(rows[2]["learning_rate"]) == pytest.approx(0.0125)


def test_custom_train_step_override_is_used_by_fit():
    calls = []

    class Counting(keras.Model):
        def __init__(self):
            super().__init__()
            self.fc = L.Dense(1)

        def call(self, x):
            return self.fc(x)

        def train_step(self, data):
            calls.append(1)
            return super().train_step(data)

    model = Counting()
    model.compile("sgd", "mse", run_eagerly=True)
    model.fit(np.ones((20, 2)), np.ones((20, 1)), batch_size=10, epochs=2, verbose=0)
    assert len(calls) == 4
    # By default the step is traced once by tf.function: Python runs at trace time only.
    calls.clear()
    model.compile("sgd", "mse")
    model.fit(np.ones((20, 2)), np.ones((20, 1)), batch_size=10, epochs=2, verbose=0)
    assert len(calls) == 1 and int(model.optimizer.iterations) == 4


def test_traced_and_eager_fit_give_identical_weights():
    x, y = _data()
    weights = []
    for eager in (True, False):
        tf.random.set_seed(0)
        model = _mlp()
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"], run_eagerly=eager)
        model.fit(x, y, batch_size=24, epochs=2, verbose=0)    # a partial last batch
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_traced_fit_with_dropout_batchnorm_and_a_partial_batch_traces_twice():
    x, y = np.random.default_rng(0).random((70, 6, 6, 1)), np.arange(70) % 3
    model = keras.Sequential([L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(),
                              L.MaxPool2D(), L.Flatten(), L.Dropout(0.5),
                              L.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_split=0.2)
    assert all(np.isfinite(h.history["val_loss"]))
    assert model.train_function.experimental_get_tracing_count() == 2    # 32, then any size


def test_class_weight_matches_keras(real_tf):
    x, y = _data()
    ours = _mlp()
    theirs = real_tf.keras.Sequential([real_tf.keras.Input((5,)),
                                       real_tf.keras.layers.Dense(8, activation="relu"),
                                       real_tf.keras.layers.Dense(3, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    weights = {0: 0.5, 1: 2.0, 2: 1.0}
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    h1 = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, class_weight=weights)
    h2 = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                    class_weight=weights)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    with pytest.raises(ValueError, match=r"no entry for class\(es\) \[2\]"):
        ours.fit(x, y, verbose=0, class_weight={0: 1.0, 1: 1.0})


def test_kernel_regularizer_adds_to_the_training_loss_as_keras(real_tf):
    x, y = _data()
    ours = keras.Sequential([L.Dense(3, input_shape=(5,), kernel_regularizer="l2",
                                     activation="softmax")])
    theirs = real_tf.keras.Sequential([real_tf.keras.Input((5,)), real_tf.keras.layers.Dense(
        3, kernel_regularizer="l2", activation="softmax")])
    theirs.set_weights(ours.get_weights())
    assert float(ours.losses[0]) == pytest.approx(float(theirs.losses[0]), rel=1e-6)
    for m in (ours, theirs):
        m.compile("sgd", "sparse_categorical_crossentropy")
    h1 = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)


def test_epoch_loss_weights_a_partial_last_batch_by_its_size_as_keras(real_tf):
    x, y = _data(70)
    ours = _mlp()
    theirs = real_tf.keras.Sequential([real_tf.keras.Input((5,)),
                                       real_tf.keras.layers.Dense(8, activation="relu"),
                                       real_tf.keras.layers.Dense(3, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    for m in (ours, theirs):
        m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_allclose(ours.evaluate(x, y, batch_size=32, verbose=0),
                               theirs.evaluate(x, y, batch_size=32, verbose=0), rtol=1e-5)
    h1 = ours.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)


def test_predict_runs_a_huge_batch_in_chunks_with_the_same_result(monkeypatch):
    from tapeflow.keras.models import training
    monkeypatch.setattr(training, "PREDICT_CHUNK", 16)
    x, _ = _data(70)
    model = _mlp()
    whole = model(x).numpy()
    np.testing.assert_allclose(model.predict(x, batch_size=70), whole, rtol=1e-6)


def test_infinite_dataset_needs_steps_per_epoch():
    x, y = _data()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat()
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"dataset is infinite.*steps_per_epoch"):
        model.fit(ds, epochs=1, verbose=0)
    h = model.fit(ds, epochs=2, steps_per_epoch=3, verbose=0)
    assert int(model.optimizer.iterations) == 6 and len(h.history["loss"]) == 2


def test_reduce_lr_on_plateau_and_terminate_on_nan():
    x, y = _data()
    model = _mlp()
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")   # no progress
    cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=0.0)
    model.optimizer.learning_rate = 1e-9
    model.fit(x, y, epochs=4, verbose=0, callbacks=[cb])
    assert float(model.optimizer.learning_rate) < 1e-9
    model.compile(keras.optimizers.SGD(1e30), "mse")
    with np.errstate(over="ignore", invalid="ignore"):
        h = model.fit(x, np.ones((64, 3)) * 1e30, epochs=5, verbose=0,
                      callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(h.history["loss"]) == 1


def test_progbar_redraws_in_place_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    out = Terminal()
    monkeypatch.setattr("sys.stdout", out)
    bar = keras.utils.Progbar(3, interval=0.0)
    for i in range(1, 4):
        bar.update(i, [("loss", 1.0 / i)])
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    final = text.split("\r")[-1]
    assert re.fullmatch(r"3/3 \[={30}\] - \d+s \d+u?m?s/step - loss: 0\.6111\n", final)


def test_fit_without_targets_is_a_clear_error():
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"The data has no targets"):
        model.fit(_data()[0], verbose=0)


def test_metrics_ignore_sample_weight_and_weighted_metrics_use_it_as_keras(real_tf):
    x, y = _data(32)
    sw = np.linspace(0, 1, 32)
    ours = _mlp()
    theirs = real_tf.keras.Sequential([real_tf.keras.Input((5,)),
                                       real_tf.keras.layers.Dense(8, activation="relu"),
                                       real_tf.keras.layers.Dense(3, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    for m in (ours, theirs):
        m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    a = ours.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    b = theirs.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert set(a) == set(b)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-5), k


def test_kernel_constraint_is_applied_after_each_update():
    model = keras.Sequential([L.Dense(3, input_shape=(5,), kernel_constraint="non_neg")])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    model.fit(np.ones((8, 5)), np.full((8, 3), -10.0), verbose=0)
    assert (model.layers[0].kernel.numpy() >= 0).all()
    assert keras.constraints.MaxNorm(1.0)(tf.constant([[3.0], [4.0]])).numpy() == \
        pytest.approx(np.array([[0.6], [0.8]]), rel=1e-5)


def test_traced_fit_of_a_conv_autoencoder_with_a_partial_batch():
    x = np.random.default_rng(0).random((40, 8, 8, 1)).astype(np.float32)
    model = keras.Sequential([L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                              L.Conv2DTranspose(4, 3, strides=2, padding="same",
                                                activation="relu"),
                              L.Conv2D(1, 3, padding="same")])
    model.compile("adam", "mse")
    h = model.fit(x, x, batch_size=16, epochs=4, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.predict(x[:5]).shape == (5, 8, 8, 1)


def test_model_trained_on_its_add_loss_only():
    class Shrink(keras.Model):
        def __init__(self):
            super().__init__()
            self.fc = L.Dense(2)

        def call(self, x):
            y = self.fc(x)
            self.add_loss(tf.reduce_mean(tf.square(y)))
            return y

    model = Shrink()
    model.compile(keras.optimizers.SGD(0.1))
    h = model.fit(np.ones((32, 3)), epochs=5, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_evaluate_runs_a_huge_batch_in_chunks_with_the_same_result(monkeypatch):
    x, y = _data(70)
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    whole = model.evaluate(x, y, batch_size=70, verbose=0)
    from tapeflow.keras.models import training
    monkeypatch.setattr(training, "PREDICT_CHUNK", 16)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=70, verbose=0), whole, rtol=1e-6)


def test_unsupported_input_types_are_named():
    model = _mlp()
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match=r"`x` must be a NumPy array.*received 'abc' of type str"):
        model.fit("abc", np.ones(3), verbose=0)
