"""Keras 3 files (.keras zip, .weights.h5) and Keras 2 .h5 files, exchanged with TF 2.21."""
import json
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

h5py = pytest.importorskip("h5py")
L = keras.layers


def _seed_cnn(mod):
    k = mod.keras
    inputs = k.Input((28, 28, 1))
    x = k.layers.Conv2D(32, 3, activation="relu")(inputs)
    x = k.layers.Conv2D(64, 3, activation="relu")(x)
    x = k.layers.Flatten()(x)
    x = k.layers.Dense(128, activation="relu")(x)
    return k.Model(inputs, k.layers.Dense(10, activation="softmax")(x))


_SUBCLASSES = {}


def _seed_subclass(mod):
    """The seed's subclassed CNN, registered under the same name in both libraries."""
    if mod not in _SUBCLASSES:
        k = mod.keras
        saving = k.saving if mod is tf else pytest.importorskip("keras").saving

        @saving.register_keras_serializable(package="seed")
        class CustomModel(k.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.conv1 = k.layers.Conv2D(32, 3, activation="relu")
                self.conv2 = k.layers.Conv2D(64, 3, activation="relu")
                self.flatten = k.layers.Flatten()
                self.fc1 = k.layers.Dense(128, activation="relu")
                self.fc2 = k.layers.Dense(10, activation="softmax")

            def call(self, x):
                return self.fc2(self.fc1(self.flatten(self.conv2(self.conv1(x)))))
        _SUBCLASSES[mod] = CustomModel
    model = _SUBCLASSES[mod]()
    model(np.zeros((1, 28, 28, 1), np.float32))
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.random((4, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 4)


def _trained(mod, make):
    # Fixed initial weights: from an unlucky random start, a weight whose gradient is
    # almost 0 takes Adam steps of opposite sign in the two libraries (rounding).
    mod.keras.utils.set_random_seed(7)
    model = make(mod)
    model.compile(mod.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = _data()
    for _ in range(2):
        model.train_on_batch(x, y)
    return model


def _same_next_step(a, b):
    x, y = _data()
    la, lb = a.train_on_batch(x, y), b.train_on_batch(x, y)
    np.testing.assert_allclose(np.ravel(lb), np.ravel(la), rtol=1e-5)
    wa = [w.numpy() for w in a.trainable_weights]
    wb = [w.numpy() for w in b.trainable_weights]
    for p, q in zip(wa, wb):
        np.testing.assert_allclose(q, p, rtol=1e-4, atol=1e-6)


def test_tapeflow_keras_file_loads_in_tensorflow(tmp_path, real_tf):
    ours = _trained(tf, _seed_cnn)
    ours.save(str(tmp_path / "m.keras"))
    theirs = real_tf.keras.models.load_model(str(tmp_path / "m.keras"))
    assert int(theirs.optimizer.iterations.numpy()) == 2
    _same_next_step(ours, theirs)


def test_tensorflow_keras_file_loads_in_tapeflow(tmp_path, real_tf):
    theirs = _trained(real_tf, _seed_cnn)
    theirs.save(str(tmp_path / "m.keras"))
    ours = tf.keras.models.load_model(str(tmp_path / "m.keras"))
    assert int(ours.optimizer.iterations.numpy()) == 2
    _same_next_step(theirs, ours)


def test_weights_h5_from_tensorflow_loads_into_tapeflow_subclassed(tmp_path, real_tf):
    theirs = _trained(real_tf, _seed_subclass)
    theirs.save_weights(str(tmp_path / "w.weights.h5"))
    ours = _trained(tf, _seed_subclass)
    ours.load_weights(str(tmp_path / "w.weights.h5"))
    assert int(ours.optimizer.iterations.numpy()) == 2
    _same_next_step(theirs, ours)


def test_weights_h5_from_tapeflow_loads_into_tensorflow_subclassed(tmp_path, real_tf):
    ours = _trained(tf, _seed_subclass)
    ours.save_weights(str(tmp_path / "w.weights.h5"))
    theirs = _trained(real_tf, _seed_subclass)
    theirs.load_weights(str(tmp_path / "w.weights.h5"))
    _same_next_step(ours, theirs)


def test_registered_subclassed_keras_file_round_trips(tmp_path, real_tf):
    _seed_subclass(real_tf)                 # registers TensorFlow's class under the same name
    ours = _trained(tf, _seed_subclass)
    ours.save(str(tmp_path / "s.keras"))
    theirs = real_tf.keras.models.load_model(str(tmp_path / "s.keras"))
    x, _ = _data()
    np.testing.assert_allclose(theirs(x).numpy(), ours(x).numpy(), rtol=1e-5, atol=1e-7)
    back = tf.keras.models.load_model(str(tmp_path / "s.keras"))
    np.testing.assert_array_equal(back(x).numpy(), ours(x).numpy())


def test_weights_h5_layout_is_keras3s(tmp_path):
    model = keras.Sequential([keras.Input((3,)), L.Dense(2), L.Dense(2), L.Flatten()])
    model.compile("sgd", "mse")
    model.save_weights(str(tmp_path / "w.weights.h5"))
    names = []
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        f.visit(names.append)
        assert f["layers/dense_1/vars"].attrs["name"] == model.layers[1].name
    assert "layers/dense/vars/0" in names and "layers/dense_1/vars/1" in names
    assert "layers/flatten/vars" in names and "vars" in names


def test_save_weights_needs_the_keras3_suffix(tmp_path):
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        model.save_weights(str(tmp_path / "w.h5x"))


def _legacy_file(path, weights):
    """A Keras 2 model file in TensorFlow 2.2's layout (what the seed tutorials saved)."""
    layer = {"name": "dense", "trainable": True, "batch_input_shape": [None, 4],
             "dtype": "float32", "units": 3, "activation": "relu", "use_bias": True,
             "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
             "bias_initializer": {"class_name": "Zeros", "config": {}},
             "kernel_regularizer": None, "bias_regularizer": None,
             "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    out = dict(layer, name="dense_1", units=2, activation="softmax")
    del out["batch_input_shape"]
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "Dense", "config": layer}, {"class_name": "Dropout", "config": {
            "name": "dropout", "trainable": True, "dtype": "float32", "rate": 0.2,
            "noise_shape": None, "seed": None}}, {"class_name": "Dense", "config": out}]}}
    training = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                "optimizer_config": {"class_name": "Adam", "config": {
                    "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9,
                    "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.3.0-tf"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["training_config"] = json.dumps(training).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"dense", b"dropout", b"dense_1"]
        for name, arrays in [("dense", weights[:2]), ("dropout", []), ("dense_1", weights[2:])]:
            lg = g.create_group(name)
            wnames = [f"{name}/{w}:0".encode() for w in ("kernel", "bias")][:len(arrays)]
            lg.attrs["weight_names"] = wnames
            for wn, a in zip(wnames, arrays):
                lg.create_dataset(wn.decode(), data=a)


def test_legacy_keras2_h5_model_loads(tmp_path):
    rng = np.random.default_rng(3)
    weights = [rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (3,), (3, 2), (2,)]]
    _legacy_file(tmp_path / "old.h5", weights)
    model = keras.models.load_model(str(tmp_path / "old.h5"))
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    h = np.maximum(x @ weights[0] + weights[1], 0) @ weights[2] + weights[3]
    expect = np.exp(h) / np.exp(h).sum(-1, keepdims=True)
    np.testing.assert_allclose(model(x).numpy(), expect, rtol=1e-5)
    assert type(model.optimizer).__name__ == "Adam"
    fresh = keras.Sequential([keras.Input((4,)), L.Dense(3), L.Dropout(0.2), L.Dense(2)])
    fresh.load_weights(str(tmp_path / "old.h5"))
    for a, b in zip(fresh.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_legacy_h5_written_by_tensorflow_loads(tmp_path, real_tf):
    k = real_tf.keras
    theirs = k.Sequential([k.Input((4,)), k.layers.Dense(3, activation="relu"),
                           k.layers.BatchNormalization(), k.layers.Dense(2)])
    theirs.compile("adam", "mse")
    theirs.fit(np.ones((4, 4)), np.ones((4, 2)), verbose=0)
    theirs.save(str(tmp_path / "m.h5"))
    ours = keras.models.load_model(str(tmp_path / "m.h5"))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-5, atol=1e-6)


def test_lambda_needs_safe_mode_false(tmp_path):
    inp = keras.Input((3,))
    model = keras.Model(inp, L.Dense(2)(L.Lambda(lambda t: t * 2.0)(inp)))
    model.save(str(tmp_path / "lam.keras"))
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(str(tmp_path / "lam.keras"))
    loaded = keras.models.load_model(str(tmp_path / "lam.keras"), safe_mode=False)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_previous_tapeflow_zip_still_loads(tmp_path):
    from tapeflow.keras.saving import tapeflow_format
    model = keras.Sequential([L.Dense(2, input_shape=(3,))])
    tapeflow_format.save_model(model, str(tmp_path / "old.keras"))
    with zipfile.ZipFile(tmp_path / "old.keras") as z:
        assert "model.weights.npz" in z.namelist()
    with pytest.warns(DeprecationWarning, match="previous model format"):
        loaded = keras.models.load_model(str(tmp_path / "old.keras"))
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unknown_class_is_never_imported(tmp_path):
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    model.save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        config = json.loads(z.read("config.json"))
        members = {n: z.read(n) for n in z.namelist()}
    config["config"]["layers"][1].update(module="os", class_name="system",
                                         registered_name="os>system")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(ValueError, match=r"evil\.keras.*unknown class 'os>system'"):
        keras.models.load_model(str(tmp_path / "evil.keras"))


_STACKS = {
    "bidirectional-lstm": lambda L, h: L.Bidirectional(L.LSTM(3))(h),
    "gru": lambda L, h: L.GRU(3)(h),
    "simple-rnn": lambda L, h: L.SimpleRNN(3)(h),
    "conv1d-layernorm": lambda L, h: L.GlobalAveragePooling1D()(
        L.Conv1D(2, 2, activation="relu")(L.LayerNormalization()(h))),
}


def _text_model(mod, stack):
    k = mod.keras
    inp = k.Input((5,), dtype="int32")
    h = _STACKS[stack](k.layers, k.layers.Embedding(10, 4)(inp))
    return k.Model(inp, k.layers.Dense(1)(k.layers.Dropout(0.1)(h)))


@pytest.mark.parametrize("stack", sorted(_STACKS))
def test_layer_stacks_exchange_keras_files_with_tensorflow(tmp_path, real_tf, stack):
    x = np.array([[1, 2, 3, 4, 5], [5, 0, 9, 1, 1]], np.int32)
    theirs = _text_model(real_tf, stack)
    theirs.save(str(tmp_path / "theirs.keras"))
    ours = keras.models.load_model(str(tmp_path / "theirs.keras"))
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-5, atol=1e-6)
    mine = _text_model(tf, stack)
    mine.save(str(tmp_path / "ours.keras"))
    back = real_tf.keras.models.load_model(str(tmp_path / "ours.keras"))
    np.testing.assert_allclose(back(x).numpy(), mine(x).numpy(), rtol=1e-5, atol=1e-6)


def test_legacy_keras2_weights_only_h5_loads(tmp_path):
    rng = np.random.default_rng(4)
    weights = [rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (3,), (3, 2), (2,)]]
    with h5py.File(tmp_path / "w.h5", "w") as f:     # TF 2.2's save_weights('w.h5') layout
        f.attrs["layer_names"] = [b"dense", b"dropout", b"dense_1"]
        f.attrs["backend"] = b"tensorflow"
        for name, arrays in [("dense", weights[:2]), ("dropout", []),
                             ("dense_1", weights[2:])]:
            g = f.create_group(name)
            wnames = [f"{name}/{w}:0" for w in ("kernel", "bias")][:len(arrays)]
            g.attrs["weight_names"] = [w.encode() for w in wnames]
            for wn, a in zip(wnames, arrays):
                g.create_dataset(wn, data=a)
    model = keras.Sequential([keras.Input((4,)), L.Dense(3), L.Dropout(0.2), L.Dense(2)])
    model.load_weights(str(tmp_path / "w.h5"))
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_load_weights_reads_a_checkpoint_prefix(tmp_path):
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    path = tf.train.Checkpoint(model).write(str(tmp_path / "ckpt"))
    other = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def _branchy(k):
    a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
    ha = k.layers.Dense(4, name="da")(a)
    hb = k.layers.Dense(4, name="db2")(k.layers.Dense(4, name="db")(b))
    return k.Model([a, b], k.layers.Dense(1, name="out")(k.layers.Concatenate()([ha, hb])))


def test_branchy_model_follows_keras3s_layer_order(tmp_path, real_tf):
    """Weight groups are numbered by Keras 3's layer order (deepest first), which differs
    from the order the model was built in; same-shaped layers must not be swapped."""
    x = [np.ones((2, 4), np.float32), np.arange(8, dtype=np.float32).reshape(2, 4)]
    ours, theirs = _branchy(tf.keras), _branchy(real_tf.keras)
    ours.save(str(tmp_path / "ours.keras"))
    np.testing.assert_allclose(real_tf.keras.models.load_model(str(tmp_path / "ours.keras"))(
        x).numpy(), ours(x).numpy(), rtol=1e-6)
    theirs.save(str(tmp_path / "theirs.keras"))
    np.testing.assert_allclose(keras.models.load_model(str(tmp_path / "theirs.keras"))(
        x).numpy(), theirs(x).numpy(), rtol=1e-6)
    path = tf.train.Checkpoint(model=ours).write(str(tmp_path / "c"))
    real_tf.train.Checkpoint(model=theirs).read(path).assert_consumed()
    np.testing.assert_allclose(theirs(x).numpy(), ours(x).numpy(), rtol=1e-6)
