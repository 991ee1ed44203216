"""A traced training step (gradient ops) saved by tapeflow trains the same in TensorFlow.
"""
import numpy as np

import tapeflow as tf


class _Trainer(tf.Module):
    def __init__(self):
        self.w = tf.Variable(tf.random.normal([3, 2], seed=3))
        self.b = tf.Variable(tf.zeros([2]))
        self.emb = tf.Variable(tf.random.normal([5, 3], seed=4))
        self.filters = tf.Variable(tf.random.normal([2, 2, 1, 2], seed=5))

    @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None, 2]),
                                  tf.TensorSpec([None], tf.int32)])
    def train(self, x, y, ids):
        weights = [self.w, self.b, self.emb, self.filters]
        with tf.GradientTape() as tape:
            x = x + tf.gather(self.emb, ids)
            p = tf.nn.relu(tf.matmul(x, self.w) + self.b)
            images = tf.reshape(tf.concat([p] * 8, 1), [-1, 4, 4, 1])
            c = tf.nn.conv2d(images, self.filters, 1, "SAME")
            c = tf.nn.max_pool2d(c, 2, 2, "VALID") + tf.nn.avg_pool2d(c, 2, 2, "VALID")
            loss = (tf.reduce_mean(tf.square(tf.nn.softmax(p) - y))
                    + tf.reduce_sum(tf.sigmoid(p)) + tf.reduce_mean(tf.tanh(p[:, 0]))
                    + tf.reduce_mean(tf.sqrt(tf.nn.softplus(p) + 1.0))
                    + tf.reduce_sum(tf.sin(p) * tf.cos(p), axis=1)[0]
                    + tf.reduce_mean(c, axis=[1, 2])[0, 1]
                    + tf.reduce_mean(tf.math.rsqrt(p + 1.0), 0, keepdims=True)[0, 0])
        for v, g in zip(weights, tape.gradient(loss, weights)):
            v.assign_sub(0.1 * g)
        return loss


def test_training_step_with_gradients_trains_the_same_in_tensorflow(save_load, tmp_path):
    trainer = _Trainer()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = rng.normal(size=(4, 2)).astype(np.float32)
    ids = np.array([0, 2, 2, 4], np.int32)
    loaded = save_load(trainer, tmp_path / "train")
    for _ in range(3):
        np.testing.assert_allclose(loaded.train(x, y, ids).numpy(),
                                   trainer.train(x, y, ids).numpy(), rtol=1e-5)
    for name in ("w", "b", "emb", "filters"):
        np.testing.assert_allclose(getattr(loaded, name).numpy(),
                                   getattr(trainer, name).numpy(), rtol=1e-5, atol=1e-6)
