"""save_weights/load_weights and save/load_model: bit-exact round trips, safe failures."""
import json
import os
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()


def _sequential():
    return keras.Sequential([L.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
                             L.BatchNormalization(), L.MaxPool2D(), L.Flatten(),
                             L.Dropout(0.2), L.Dense(3, activation="softmax")])


def _functional():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(2,), name="b")
    h = L.Dense(5, activation="tanh")(L.Concatenate()([a, b]))
    h = L.LayerNormalization()(h)
    return keras.Model([a, b], [L.Dense(1, name="out1")(h), L.Dense(2, name="out2")(h)])


class Sub(keras.Model):
    def __init__(self):
        super().__init__()
        self.fc1 = L.Dense(4, activation="relu")
        self.fc2 = L.Dense(2)

    def call(self, x):
        return self.fc2(self.fc1(x))


def _subclassed():
    m = Sub()
    m(np.ones((1, 3)))
    return m


def _inputs(model):
    if isinstance(model, Sub):
        return np.random.default_rng(0).standard_normal((5, 3))
    if len(model.inputs) == 2:
        return [np.ones((5, 4)), np.ones((5, 2))]
    return np.random.default_rng(0).standard_normal((5, 6, 6, 1))


def _perturb(model):
    """Changes every weight so that a round trip is not trivially equal to init."""
    for w in model.weights:
        w.assign(w.numpy() + np.random.default_rng(1).standard_normal(w.shape.as_list()).astype(
            np.float32))


@pytest.mark.parametrize("suffix", [".weights.h5", ".weights.npz"])
@pytest.mark.parametrize("make", [_sequential, _functional, _subclassed])
def test_weights_round_trip_bit_exactly(tmp_path, make, suffix):
    model = make()
    _perturb(model)
    path = tmp_path / ("w" + suffix)
    model.save_weights(str(path))
    keras.backend.clear_session()
    other = make()
    other.load_weights(str(path))
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [_sequential, _functional])
def test_model_round_trips_architecture_and_weights(tmp_path, make):
    model = make()
    _perturb(model)
    model.compile("adam", "mse" if isinstance(model.outputs, list) and len(model.outputs) == 2
                  else "sparse_categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "m.keras"
    model.save(str(path))
    loaded = keras.models.load_model(str(path))
    assert type(loaded) is type(model)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert [w.name for w in loaded.weights] == [w.name for w in model.weights]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = _inputs(model)
    for a, b in zip(tf.nest.flatten(model(x)), tf.nest.flatten(loaded(x))):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert loaded._is_compiled and type(loaded.optimizer).__name__ == "Adam"


def test_subclassed_model_loads_with_custom_objects(tmp_path):
    model = _subclassed()
    path = tmp_path / "sub.keras"
    model.save(str(path))
    with pytest.raises(ValueError, match=r"unknown class 'Sub'.*custom_objects"):
        keras.models.load_model(str(path))
    loaded = keras.models.load_model(str(path), custom_objects={"Sub": Sub})
    x = _inputs(model)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())


def test_model_file_is_a_keras3_zip(tmp_path):
    path = tmp_path / "m.keras"
    _sequential().save(str(path))
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        config = json.loads(z.read("config.json"))
        metadata = json.loads(z.read("metadata.json"))
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    assert config["config"]["layers"][0]["class_name"] == "InputLayer"
    assert metadata["keras_version"].startswith("3.")


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = _sequential()
    path = tmp_path / "m.keras"
    model.save(str(path))
    before = path.read_bytes()
    from tapeflow.keras.saving import h5_weights

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(h5_weights, "write_h5", broken)
    _perturb(model)
    with pytest.raises(OSError, match="disk full"):
        model.save(str(path))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]       # no temporary file left behind


def test_loading_mismatched_weights_changes_nothing(tmp_path):
    path = tmp_path / "w.weights.npz"
    keras.Sequential([L.Dense(3, input_shape=(4,))]).save_weights(str(path))
    other = keras.Sequential([L.Dense(3, input_shape=(5,))])
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"shape \(5, 3\) in the model but \(4, 3\) in the "
                                         r"file"):
        other.load_weights(str(path))
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_file_loads_without_pickle(tmp_path):
    path = tmp_path / "w.weights.npz"
    _sequential().save_weights(str(path))
    with np.load(path, allow_pickle=False) as npz:
        assert "__names__" in npz.files and npz["0"].dtype == np.float32


def test_every_layer_type_round_trips_through_a_model_file(tmp_path):
    img = keras.Input(shape=(8, 8, 3), name="img")
    ids = keras.Input(shape=(4,), dtype="int32", name="ids")
    h = L.Rescaling(1 / 255.0)(img)
    h = L.Conv2D(4, 3, padding="same", activation="relu")(h)
    h = L.BatchNormalization()(h)
    h = L.MaxPooling2D()(h)
    h = L.AveragePooling2D()(h)
    g = L.GlobalAveragePooling2D()(h)
    f = L.Flatten()(L.Reshape((4, 4))(L.Flatten()(h)))
    e = L.Flatten()(L.Embedding(10, 2)(ids))
    merged = L.Concatenate()([g, f, e])
    merged = L.LayerNormalization()(L.Dropout(0.3)(L.Dense(6)(merged)))
    out = L.Activation("softmax")(L.Add()([L.Dense(3)(merged), L.Dense(3)(merged)]))
    model = keras.Model([img, ids], out)
    _perturb(model)
    path = tmp_path / "all.keras"
    model.save(str(path))
    loaded = keras.models.load_model(str(path))
    x = [np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)), np.array([[1, 2, 3, 9]] * 2)]
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in model.layers]


class Scale(L.Layer):
    """A custom layer written as the Keras guide shows."""

    def __init__(self, init=2.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer=keras.initializers.Constant(
            self.init), name="w")

    def call(self, x):
        return x * self.w

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def test_custom_layer_trains_saves_and_loads_with_custom_objects(tmp_path):
    inp = keras.Input(shape=(3,))
    model = keras.Model(inp, L.Dense(1)(Scale(3.0)(inp)))
    assert model.layers[1].w.name == "scale/w:0"
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 1)), verbose=0)
    path = tmp_path / "custom.keras"
    model.save(str(path))
    with pytest.raises(ValueError, match=r"unknown class 'Scale'.*custom_objects"):
        keras.models.load_model(str(path))
    loaded = keras.models.load_model(str(path), custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(loaded(np.ones((2, 3))).numpy(), model(np.ones((2, 3))).numpy())


def test_add_weight_accepts_keras2_and_keras3_argument_orders():
    layer = L.Layer()
    a = layer.add_weight("a", (2, 3))
    b = layer.add_weight((4,), "ones")
    assert a.shape == tf.TensorShape([2, 3]) and (b.numpy() == 1).all()


def test_to_json_and_model_from_json_rebuild_the_architecture():
    model = _functional()
    clone = keras.models.model_from_json(model.to_json())
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


def test_saved_model_file_gets_the_usual_permissions(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    path = tmp_path / "m.keras"
    umask = os.umask(0o022)
    try:
        model.save(path)
    finally:
        os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o644
