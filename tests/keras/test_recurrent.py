"""SimpleRNN, GRU, LSTM: values against TF Keras, options, gradients."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

L = keras.layers
X = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)


@pytest.mark.parametrize("name", ["SimpleRNN", "GRU", "LSTM"])
@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True},
                                    {"return_sequences": True, "go_backwards": True},
                                    {"return_state": True}])
def test_recurrent_layer_matches_tensorflow(real_tf, name, kwargs):
    ours = getattr(L, name)(4, **kwargs)
    theirs = getattr(real_tf.keras.layers, name)(4, **kwargs)
    ours(X), theirs(X)
    assert [w.shape.as_list() for w in ours.weights] == [list(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    for a, b in zip(tf.nest.flatten(ours(X)), real_tf.nest.flatten(theirs(X))):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_lstm_bias_starts_with_ones_for_the_forget_gate():
    lstm = L.LSTM(2)
    lstm(X)
    np.testing.assert_array_equal(lstm.bias.numpy(), [0, 0, 1, 1, 0, 0, 0, 0])


def test_recurrent_kernel_is_orthogonal():
    rnn = L.SimpleRNN(6)
    rnn(X)
    u = rnn.recurrent_kernel.numpy()
    np.testing.assert_allclose(u.T @ u, np.eye(6), atol=1e-5)


@pytest.mark.parametrize("make", [lambda: L.SimpleRNN(2), lambda: L.GRU(2),
                                  lambda: L.LSTM(2, return_sequences=True)])
def test_recurrent_gradients_numeric_vs_analytic(make):
    layer = make()
    x = np.random.default_rng(1).standard_normal((2, 3, 2))
    layer(x.astype(np.float32))
    names = ("kernel", "recurrent_kernel", "bias")

    def f(inp, *ws):
        saved = {n: getattr(layer, n) for n in names}
        layer.__dict__.update(zip(names, ws))
        try:
            return layer.call(inp)
        finally:
            layer.__dict__.update(saved)
    check_gradients(f, [x] + [getattr(layer, n).numpy().astype(np.float64) for n in names],
                    order=1)


def test_lstm_model_trains_and_round_trips(tmp_path):
    inp = keras.Input(shape=(5, 3))
    model = keras.Model(inp, L.Dense(1)(L.LSTM(4)(inp)))
    model.compile("adam", "mse")
    h = model.fit(X, np.ones((2, 1)), epochs=5, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    path = tmp_path / "lstm.keras"
    model.save(str(path))
    loaded = keras.models.load_model(str(path))
    np.testing.assert_array_equal(loaded(X).numpy(), model(X).numpy())


def test_unknown_sequence_length_in_a_traced_function_is_a_clear_error():
    lstm = L.LSTM(2)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.float32)])
    def run(x):
        return lstm(x)
    with pytest.raises(ValueError, match=r"needs their number.*\(None, None, 3\)"):
        run(X)


@pytest.mark.parametrize("kwargs, shapes", [
    ({}, [(None, 2)]),
    ({"return_sequences": True}, [(None, None, 2)]),
    ({"return_state": True}, [(None, 2), (None, 2), (None, 2)])])
def test_functional_model_with_open_sequence_length_has_the_keras_output_shapes(kwargs, shapes):
    outputs = L.LSTM(2, **kwargs)(keras.Input(shape=(None, 3)))
    assert [tuple(t.shape.as_list()) for t in tf.nest.flatten(outputs)] == shapes


@pytest.mark.parametrize("steps", [5, 2])
def test_functional_model_with_open_sequence_length_runs_any_length(steps):
    inputs = keras.Input(shape=(None, 3))
    layer = L.GRU(4, return_sequences=True)
    model = keras.Model(inputs, layer(inputs))
    x = X[:, :steps]
    np.testing.assert_allclose(model(x).numpy(), layer(x).numpy(), rtol=1e-6)
    assert model(x).shape == (2, steps, 4)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave"])
@pytest.mark.parametrize("sequences", [False, True])
def test_bidirectional_matches_tensorflow(real_tf, merge_mode, sequences):
    inner = L.GRU(3, return_sequences=sequences)
    ours = L.Bidirectional(inner, merge_mode=merge_mode)
    theirs = real_tf.keras.layers.Bidirectional(
        real_tf.keras.layers.GRU(3, return_sequences=sequences), merge_mode=merge_mode)
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(X).numpy(), theirs(X).numpy(), rtol=1e-5, atol=1e-6)
    assert ours.forward_layer.name == "forward_" + inner.name
    assert ours.backward_layer.name == "backward_" + inner.name


def test_time_distributed_matches_tensorflow(real_tf):
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 6, 1)).astype(np.float32)
    ours = L.TimeDistributed(L.Conv2D(3, 3))
    theirs = real_tf.keras.layers.TimeDistributed(real_tf.keras.layers.Conv2D(3, 3))
    ours(x), theirs(x)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-5, atol=1e-6)
    inp = keras.Input(shape=(4, 6, 6, 1))
    assert L.TimeDistributed(L.Flatten())(inp).shape.as_list() == [None, 4, 36]


def test_wrappers_round_trip_through_a_model_file(tmp_path):
    inp = keras.Input(shape=(5, 3))
    h = L.Bidirectional(L.LSTM(2, return_sequences=True))(inp)
    model = keras.Model(inp, L.TimeDistributed(L.Dense(1))(h))
    path = tmp_path / "wrappers.keras"
    model.save(str(path))
    loaded = keras.models.load_model(str(path))
    np.testing.assert_array_equal(loaded(X).numpy(), model(X).numpy())


@pytest.mark.parametrize("name", ["SimpleRNN", "GRU", "LSTM"])
@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True}, {"go_backwards": True}])
def test_masked_recurrent_layer_matches_tensorflow(real_tf, name, kwargs):
    ids = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    emb, temb = L.Embedding(6, 3, mask_zero=True), real_tf.keras.layers.Embedding(
        6, 3, mask_zero=True)
    rnn, trnn = getattr(L, name)(4, **kwargs), getattr(real_tf.keras.layers, name)(4, **kwargs)
    inp, tinp = keras.Input(shape=(5,)), real_tf.keras.Input(shape=(5,))
    model = keras.Model(inp, rnn(emb(inp)))
    theirs = real_tf.keras.Model(tinp, trnn(temb(tinp)))
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(model(ids).numpy(), theirs(ids).numpy(), rtol=1e-5, atol=1e-6)


def test_masked_average_pooling_matches_tensorflow(real_tf):
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    inp, tinp = keras.Input(shape=(4,)), real_tf.keras.Input(shape=(4,))
    model = keras.Model(inp, L.GlobalAveragePooling1D()(L.Dense(2)(
        L.Embedding(5, 3, mask_zero=True)(inp))))
    theirs = real_tf.keras.Model(tinp, real_tf.keras.layers.GlobalAveragePooling1D()(
        real_tf.keras.layers.Dense(2)(real_tf.keras.layers.Embedding(5, 3, mask_zero=True)(
            tinp))))
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(model(ids).numpy(), theirs(ids).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sequences", [False, True])
def test_masked_bidirectional_lstm_matches_tensorflow(real_tf, sequences):
    ids = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]])
    inp, tinp = keras.Input(shape=(5,)), real_tf.keras.Input(shape=(5,))
    model = keras.Model(inp, L.Bidirectional(L.LSTM(2, return_sequences=sequences))(
        L.Embedding(6, 3, mask_zero=True)(inp)))
    theirs = real_tf.keras.Model(tinp, real_tf.keras.layers.Bidirectional(
        real_tf.keras.layers.LSTM(2, return_sequences=sequences))(
        real_tf.keras.layers.Embedding(6, 3, mask_zero=True)(tinp)))
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(model(ids).numpy(), theirs(ids).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["SimpleRNN", "GRU", "LSTM"])
def test_stateful_layer_carries_its_states_across_calls_as_tensorflow(real_tf, name):
    ours = getattr(L, name)(4, stateful=True)
    theirs = getattr(real_tf.keras.layers, name)(4, stateful=True)
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    ours.reset_states(), theirs.reset_states()
    for _ in range(2):
        np.testing.assert_allclose(ours(X).numpy(), theirs(X).numpy(), rtol=1e-5, atol=1e-6)
    ours.reset_states(), theirs.reset_states()
    np.testing.assert_allclose(ours(X).numpy(), theirs(X).numpy(), rtol=1e-5, atol=1e-6)


def test_stateful_states_are_not_weights():
    lstm = L.LSTM(3, stateful=True)
    lstm(X)
    assert len(lstm.weights) == 3 and [s.shape.as_list() for s in lstm.states] == [[2, 3]] * 2


def test_stateful_layer_keeps_its_batch_size():
    gru = L.GRU(3, stateful=True)
    gru(X)
    with pytest.raises(ValueError, match="must stay 2"):
        gru(X[:1])


def test_reset_states_of_a_layer_that_is_not_stateful_is_an_error():
    with pytest.raises(AttributeError, match="not stateful"):
        L.GRU(3).reset_states()
