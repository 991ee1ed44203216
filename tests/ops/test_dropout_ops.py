"""Dropout (`ops/dropout_ops.py`): one op for tf.nn.dropout and keras.layers.Dropout."""
import numpy as np

import tapeflow as tf
from tapeflow.ops import dropout_ops


def test_the_layer_and_tf_nn_dropout_run_the_same_op():
    tf.random.set_seed(5)
    a = tf.nn.dropout(tf.ones((50, 40)), rate=0.3, seed=2)
    tf.random.set_seed(5)
    b = tf.keras.layers.Dropout(0.3, seed=2)(tf.ones((50, 40)), training=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_noise_shape_shares_the_mask_along_broadcast_axes_with_an_unknown_batch():
    @tf.function(input_signature=[tf.TensorSpec([None, 6, 4], tf.float32)])
    def drop(x):
        return tf.keras.layers.Dropout(0.5, noise_shape=(None, 1, 4))(x, training=True)

    out = drop(tf.ones((30, 6, 4))).numpy()
    assert out.shape == (30, 6, 4) and set(np.unique(out)) == {0.0, 2.0}
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1, :], out.shape))


def test_the_gradient_is_the_scaled_mask_and_differentiates_again():
    x = tf.Variable(np.full((20, 10), 3.0, np.float32))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = dropout_ops.dropout(x * x, rate=0.5)
        g = inner.gradient(y, x)
    mask = y.numpy() / 9.0
    np.testing.assert_allclose(g.numpy(), mask * 6.0)
    np.testing.assert_allclose(outer.gradient(g, x).numpy(), mask * 2.0)


def test_dropout_gradient_first_and_second_order(rng, monkeypatch):
    # One fixed draw for every call, so the numeric differences see one linear map
    # (the kernel draws a new mask per call otherwise).
    from tapeflow.testing import check_gradients
    draw = rng.uniform(size=(3, 5))
    monkeypatch.setattr(dropout_ops._philox, "uniform",
                        lambda key, counter, n, dtype: draw.astype(dtype).ravel())
    check_gradients(lambda x: tf.nn.dropout(x, rate=0.4) * x, [rng.normal(size=(3, 5))])


def _seeded_dropouts(fw):
    fw.random.set_seed(3)
    x = fw.reshape(fw.range(1, 25, dtype=fw.float32), [4, 6])
    return [fw.nn.dropout(x, 0.5), fw.nn.dropout(x, 0.3, seed=2), fw.nn.dropout(x, 0.3, seed=2),
            fw.nn.dropout(fw.cast(x, fw.float64), 0.25, noise_shape=[4, 1]),
            fw.random.uniform([3])]


def test_seeded_nn_dropout_masks_equal_tensorflow(real_tf):
    for got, want in zip(_seeded_dropouts(tf), _seeded_dropouts(real_tf)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
