"""Models: functional (multi-input/output), Sequential, subclassed; summary; bad input."""
import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers
SEEDS = Path("/work/shared/seeds")


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def _summary_text(model):
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.summary()
    return buf.getvalue()


def _seed_000_summary():
    text = (SEEDS / "000_53540ddaeb34bf4e.txt").read_text(encoding="utf-8")
    match = re.search(r'<pre>(Model: "model".*?)</pre>', text, re.DOTALL)
    return match.group(1)


def _seed_cnn():
    input_ = tf.keras.layers.Input(shape=(28, 28, 1))
    x = tf.keras.layers.Conv2D(32, 3, activation='relu')(input_)
    x = tf.keras.layers.Conv2D(64, 3, activation='relu')(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(128, activation='relu')(x)
    output_ = tf.keras.layers.Dense(10, activation='softmax')(x)
    return tf.keras.models.Model(input_, output_)


@pytest.mark.skipif(not SEEDS.exists(), reason="seed programs not available")
def test_summary_of_seed_000_functional_cnn_matches_the_seed_text_exactly():
    # The seed's notebook had made 4 Conv2D, 4 Flatten and 8 Dense layers before this model.
    for _ in range(4):
        L.Conv2D(1, 1), L.Flatten(), L.Dense(1), L.Dense(1)
    model = _seed_cnn()
    assert _summary_text(model) == _seed_000_summary()


def test_sequential_summary_has_no_input_row_and_counts_non_trainable():
    model = keras.Sequential([L.Dense(4, input_shape=(3,)), L.BatchNormalization(), L.Dense(1)])
    text = _summary_text(model)
    assert "InputLayer" not in text
    assert "dense (Dense)                (None, 4)                 16        " in text
    assert "Total params: 37\nTrainable params: 29\nNon-trainable params: 8\n" in text
    assert text.startswith('Model: "sequential"\n' + "_" * 65 + "\n")


def test_subclassed_summary_shows_multiple_for_output_shapes():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.fc = L.Dense(3)

        def call(self, x):
            return self.fc(x)

    net = Net()
    net(np.ones((2, 5)))
    text = _summary_text(net)
    assert 'Model: "net"' in text
    assert "dense (Dense)                multiple                  18        " in text


def test_multi_input_summary_lists_connections():
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(3,), name="b")
    out = L.Dense(1)(L.Concatenate()([a, b]))
    text = _summary_text(keras.Model([a, b], out))
    assert "Connected to" in text and "a[0][0]" in text and "b[0][0]" in text
    assert "_" * 98 in text


def test_seed_cnn_forward_and_weight_order():
    model = _seed_cnn()
    out = model(np.random.rand(2, 28, 28, 1))
    assert out.shape == tf.TensorShape([2, 10]) and out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert [w.name for w in model.trainable_variables][:2] == ["conv2d/kernel:0",
                                                               "conv2d/bias:0"]
    assert model.count_params() == 4738826


def test_functional_multi_input_multi_output():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(2,))
    h = L.Dense(3, activation="relu")(L.Concatenate()([a, b]))
    out1, out2 = L.Dense(1, name="score")(h), L.Dense(2, name="cls")(h)
    model = keras.Model(inputs=[a, b], outputs=[out1, out2])
    r1, r2 = model([np.ones((5, 4)), np.ones((5, 2))])
    assert r1.shape == tf.TensorShape([5, 1]) and r2.shape == tf.TensorShape([5, 2])
    assert model.output_names == ["score", "cls"]
    model.compile("sgd", loss=["mse", "mse"], loss_weights=[1.0, 0.5])
    logs = model.train_on_batch([np.ones((5, 4)), np.ones((5, 2))],
                                [np.zeros((5, 1)), np.zeros((5, 2))], return_dict=True)
    assert set(logs) == {"loss", "score_loss", "cls_loss"}
    assert logs["loss"] == pytest.approx(logs["score_loss"] + 0.5 * logs["cls_loss"], rel=1e-5)


def test_lambda_layer_in_a_functional_model():
    inp = keras.Input(shape=(3,))
    out = L.Dense(2)(L.Lambda(lambda t: t * 2.0 + 1.0)(inp))
    model = keras.Model(inp, out)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = (x * 2 + 1) @ model.layers[2].kernel.numpy() + model.layers[2].bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6)


def test_functional_replays_python_operators_on_keras_tensors():
    inp = keras.Input(shape=(3,))
    out = L.Dense(2)(inp / 255.0 * 2.0 + 1.0)
    model = keras.Model(inp, out[:, :1] - out[:, 1:])
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    # The operators are layers of the model too (TFOpLambda, as in TF's Keras 2).
    dense = next(layer for layer in model.layers if isinstance(layer, L.Dense))
    h = (x / 255.0 * 2 + 1) @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), h[:, :1] - h[:, 1:], rtol=1e-5)


def test_shared_layer_is_called_twice_with_one_set_of_weights():
    inp = keras.Input(shape=(3,))
    shared = L.Dense(3)
    model = keras.Model(inp, shared(shared(inp)))
    assert len(model.trainable_weights) == 2
    x = np.ones((1, 3), np.float32)
    k, b = shared.kernel.numpy(), shared.bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), (x @ k + b) @ k + b, rtol=1e-6)


def test_nested_functional_model_as_a_layer():
    inner_in = keras.Input(shape=(3,))
    inner = keras.Model(inner_in, L.Dense(2)(inner_in))
    outer_in = keras.Input(shape=(3,))
    outer = keras.Model(outer_in, L.Dense(1)(inner(outer_in)))
    assert outer(np.ones((4, 3))).shape == tf.TensorShape([4, 1])
    assert len(outer.trainable_weights) == 4


def test_sequential_builds_on_first_call_and_supports_add():
    model = keras.Sequential()
    model.add(L.Dense(4))
    model.add(L.Dense(2))
    assert not model.built
    assert model(np.ones((3, 5))).shape == tf.TensorShape([3, 2])
    assert model.built and model.layers[0].kernel.shape == tf.TensorShape([5, 4])
    assert model.input_shape == (None, 5)


def test_subclassed_model_tracks_layers_in_lists_and_attributes():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [L.Dense(4), L.Dense(4)]
            self.head = L.Dense(1)

        def call(self, x, training=None):
            for b in self.blocks:
                x = b(x)
            return self.head(x)

    net = Net()
    net(np.ones((2, 3)))
    assert len(net.trainable_variables) == 6


def test_model_called_on_wrong_input_shape_names_expected_and_received():
    model = _seed_cnn()
    # (A missing unit axis, (32, 28, 28), is added as Keras does; three channels are not.)
    with pytest.raises(ValueError, match=r'layer "model" is incompatible.*expected shape='
                                         r"\(None, 28, 28, 1\), found shape=\(32, 28, 28, 3\)"):
        model(np.ones((32, 28, 28, 3)))


def test_sequential_called_on_wrong_input_shape_after_build():
    model = keras.Sequential([L.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"expected shape=\(None, 3\), found shape=\(4, 5\)"):
        model(np.ones((4, 5)))


def test_model_needs_keras_tensors():
    with pytest.raises(TypeError, match=r"must be Keras tensors.*ndarray"):
        keras.Model(np.ones(3), np.ones(3))


def test_disconnected_graph_is_reported():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(2,))
    out = L.Add()([a, b])
    with pytest.raises(ValueError, match=r"Graph disconnected"):
        keras.Model(a, out)


def test_inputs_and_losses_by_name():
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(3,), name="b")
    h = L.Concatenate()([a, b])
    model = keras.Model([a, b], [L.Dense(1, name="reg")(h), L.Dense(3, activation="softmax",
                                                                    name="cls")(h)])
    xa, xb = np.ones((6, 2)), np.ones((6, 3))
    np.testing.assert_array_equal(model({"a": xa, "b": xb})[0].numpy(), model([xa, xb])[0].numpy())
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  metrics={"cls": ["accuracy"]})
    h = model.fit({"a": xa, "b": xb}, [np.zeros((6, 1)), np.zeros(6)], epochs=1, verbose=0)
    assert set(h.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    with pytest.raises(ValueError, match=r"lacks \['b'\]"):
        model({"a": xa})


def test_subclassed_model_with_its_own_build_and_weights():
    class Affine(keras.Model):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1], 2))
            self.b = self.add_weight("b", (2,), initializer="ones")

        def call(self, x):
            return tf.matmul(x, self.w) + self.b

    m = Affine()
    out = m(np.zeros((3, 4)))
    np.testing.assert_array_equal(out.numpy(), np.ones((3, 2)))
    assert [v.shape.as_list() for v in m.trainable_variables] == [[4, 2], [2]]


def test_summary_of_an_unbuilt_model_lists_its_layers_as_unbuilt():
    model = keras.Sequential([keras.layers.Dense(2, name="first"),
                              keras.layers.Dense(1, name="second")])
    lines = []
    model.summary(print_fn=lines.append)
    rows = [line.split() for line in lines if line.startswith(("first", "second"))]
    assert rows == [["first", "(Dense)", "?", "unbuilt"], ["second", "(Dense)", "?", "unbuilt"]]
    assert "Total params: 0" in lines
