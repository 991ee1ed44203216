"""Keras optimizer updates traced and saved by tapeflow update the same in TensorFlow.
"""
import numpy as np
import pytest

import tapeflow as tf


class _OptimizerStep(tf.Module):
    def __init__(self, optimizer):
        self.w = tf.Variable([[1.0, -2.0], [0.5, 3.0]])
        self.optimizer = optimizer

    @tf.function(input_signature=[tf.TensorSpec([None, 2])])
    def step(self, x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.matmul(x, self.w) - 1.0))
        self.optimizer.apply_gradients([(tape.gradient(loss, self.w), self.w)])
        return loss


def _optimizers():
    from tapeflow import keras
    opt = keras.optimizers
    return {"sgd": lambda: opt.SGD(0.1),
            "nesterov": lambda: opt.SGD(0.1, momentum=0.9, nesterov=True),
            "adam": lambda: opt.Adam(0.01), "amsgrad": lambda: opt.Adam(0.01, amsgrad=True),
            "rmsprop": lambda: opt.RMSprop(0.01, momentum=0.5, centered=True),
            "adagrad": lambda: opt.Adagrad(0.1), "adamw": lambda: opt.AdamW(0.01, weight_decay=0.1)}


@pytest.mark.parametrize("kind", sorted(_optimizers()))
def test_keras_optimizer_steps_update_the_same_in_tensorflow(save_load, tmp_path, kind):
    trainer = _OptimizerStep(_optimizers()[kind]())
    x = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    trainer.step(x)                                  # slots exist once a step is traced
    loaded = save_load(trainer, tmp_path / kind)
    for _ in range(3):
        np.testing.assert_allclose(loaded.step(x).numpy(), trainer.step(x).numpy(), rtol=1e-5)
    np.testing.assert_allclose(loaded.w.numpy(), trainer.w.numpy(), rtol=1e-5, atol=1e-6)
    assert loaded.optimizer._iterations.numpy() == trainer.optimizer.iterations.numpy()
