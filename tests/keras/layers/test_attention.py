"""MultiHeadAttention against Keras's (same weights): outputs, scores, masks, gradients."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 3, 6)).astype(np.float32)
V = RNG.standard_normal((2, 4, 5)).astype(np.float32)


def _pair(real_tf, **kwargs):
    ours = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    theirs = real_tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    ours(Q, V), theirs(Q, V)
    assert [w.shape.as_list() for w in ours.weights] == [list(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("kwargs", [{}, {"value_dim": 4, "output_shape": 7},
                                    {"use_bias": False}])
def test_outputs_and_scores_match_keras(real_tf, kwargs):
    ours, theirs = _pair(real_tf, **kwargs)
    o_out, o_scores = ours(Q, V, return_attention_scores=True)
    t_out, t_scores = theirs(Q, V, return_attention_scores=True)
    np.testing.assert_allclose(o_out.numpy(), t_out.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(o_scores.numpy(), t_scores.numpy(), rtol=1e-5, atol=1e-6)


def test_attention_mask_and_causal_mask_match_keras(real_tf):
    ours, theirs = _pair(real_tf)
    mask = RNG.random((2, 3, 4)) > 0.3
    mask[:, :, 0] = True
    np.testing.assert_allclose(ours(Q, V, attention_mask=mask).numpy(),
                               theirs(Q, V, attention_mask=mask).numpy(), rtol=1e-5, atol=1e-5)
    causal_value = Q[:, :, :5]      # self-attention lengths (3 by 3)
    np.testing.assert_allclose(ours(Q, causal_value, use_causal_mask=True).numpy(),
                               theirs(Q, causal_value, use_causal_mask=True).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_keras_masks_of_the_inputs_are_applied(real_tf):
    ours, theirs = _pair(real_tf)
    value_mask = np.array([[True, True, False, False], [True, True, True, False]])
    explicit = np.broadcast_to(value_mask[:, None, :], (2, 3, 4))
    v = tf.constant(V)
    v._keras_mask = tf.constant(value_mask)
    np.testing.assert_allclose(ours(Q, v).numpy(), theirs(Q, V, attention_mask=explicit).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_gradients_match_keras(real_tf):
    ours, theirs = _pair(real_tf)
    q_ours, q_theirs = tf.constant(Q), real_tf.constant(Q)
    with tf.GradientTape() as tape:
        tape.watch(q_ours)
        loss = tf.reduce_sum(tf.square(ours(q_ours, V)))
    g_ours = tape.gradient(loss, [q_ours] + ours.trainable_weights)
    with real_tf.GradientTape() as tape:
        tape.watch(q_theirs)
        loss = real_tf.reduce_sum(real_tf.square(theirs(q_theirs, V)))
    g_theirs = tape.gradient(loss, [q_theirs] + theirs.trainable_weights)
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-4, atol=1e-5)


def test_a_functional_transformer_block_trains():
    inputs = keras.Input(shape=(4, 6))
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)(inputs, inputs)
    x = keras.layers.LayerNormalization()(inputs + attended)
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    x_data = RNG.standard_normal((16, 4, 6)).astype(np.float32)
    history = model.fit(x_data, np.ones((16, 1)), epochs=3, verbose=0)
    assert len(model.trainable_weights) == 12
    assert history.history["loss"][-1] < history.history["loss"][0]
