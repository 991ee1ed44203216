"""ModelCheckpoint and BackupAndRestore."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((32, 4)).astype(np.float32), rng.integers(0, 3, 32)


def _model(seed=1):
    tf.random.set_seed(seed)
    model = keras.Sequential([keras.Input((4,)), L.Dense(8, activation="relu"),
                              L.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_model_checkpoint_creates_folders_and_formats_epoch(tmp_path):
    x, y = _data()
    model = _model()
    pattern = str(tmp_path / "a" / "b" / "m-{epoch:02d}-{loss:.2f}.keras")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(pattern, monitor="loss")])
    names = sorted(os.listdir(tmp_path / "a" / "b"))
    assert [n[:5] for n in names] == ["m-01-", "m-02-"]
    loaded = keras.models.load_model(str(tmp_path / "a" / "b" / names[-1]))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_checkpoint_integer_save_freq_counts_batches(tmp_path):
    x, y = _data()
    model = _model()
    pattern = str(tmp_path / "w-{epoch}-{batch}.weights.h5")
    cb = keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True, save_freq=3)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False, callbacks=[cb])
    # 4 batches per epoch, a save every 3 batches: after batches 3, 6 (epoch 2 batch 2)
    assert sorted(os.listdir(tmp_path)) == ["w-1-3.weights.h5", "w-2-2.weights.h5"]


def test_model_checkpoint_save_best_only_weights(tmp_path):
    x, y = _data()
    model = _model()
    path = tmp_path / "best.weights.h5"
    cb = keras.callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True,
                                         save_weights_only=True)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[cb])
    fresh = _model(seed=5)
    fresh.load_weights(str(path))
    assert cb.best < np.inf
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_checks_the_suffix_and_save_freq(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "w.h5"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"\.keras"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq="batch")


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("interrupted")


def test_backup_and_restore_resumes_to_the_uninterrupted_weights(tmp_path):
    x, y = _data()
    straight = _model()
    straight.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)

    backup = str(tmp_path / "backup")
    model = _model()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), _Interrupt(2)])
    with open(os.path.join(backup, "training_metadata.json")) as f:
        assert json.load(f)["epoch"] == 2
    resumed = _model(seed=9)                       # a new process: other initial weights
    history = resumed.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                          callbacks=[keras.callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2, 3]
    assert int(resumed.optimizer.iterations.numpy()) == 16
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not os.path.exists(os.path.join(backup, "latest.weights.h5"))  # deleted at the end


def test_backup_and_restore_with_batch_save_freq_resumes_at_the_saved_epoch(tmp_path):
    """Saves within an epoch record that epoch: a restart runs it again (as Keras 3)."""
    x, y = _data()
    backup = str(tmp_path / "backup")
    model = _model()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=2),
                             _Interrupt(1)])
    with open(os.path.join(backup, "training_metadata.json")) as f:
        assert json.load(f) == {"epoch": 0, "batch": 3}     # after batch 4 of 4 in epoch 1
    resumed = _model(seed=3)
    history = resumed.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                          callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=2)])
    assert history.epoch == [0, 1, 2]
    assert int(resumed.optimizer.iterations.numpy()) == 4 + 12
