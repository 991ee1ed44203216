"""What fit/evaluate hand to train_step and test_step, as Keras packs it: (x, y),
(x, y, sample_weight), or x alone; and training a model with no weights."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


class _Recorder(keras.Model):
    """Records the structure of each batch it is given, then trains as usual."""

    seen = []

    def train_step(self, data):
        type(self).seen.append(len(data) if isinstance(data, tuple) else "x")
        return super().train_step(data)

    def test_step(self, data):
        type(self).seen.append(len(data) if isinstance(data, tuple) else "x")
        return super().test_step(data)


def _model():
    inputs = keras.Input(shape=(2,))
    model = _Recorder(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    return model


@pytest.mark.parametrize("with_weights, expected", [(False, 2), (True, 3)])
def test_train_step_gets_a_pair_or_a_triple(with_weights, expected):
    _Recorder.seen = []
    x, y = np.ones((4, 2)), np.ones((4, 1))
    sw = np.ones((4,)) if with_weights else None
    _model().fit(x, y, sample_weight=sw, batch_size=4, verbose=0)
    assert _Recorder.seen == [expected]


def test_test_step_gets_a_pair_when_evaluating_arrays():
    _Recorder.seen = []
    _model().evaluate(np.ones((4, 2)), np.ones((4, 1)), batch_size=4, verbose=0)
    assert _Recorder.seen == [2]


def test_a_model_without_targets_gets_x_alone():
    seen = []

    class OwnLoss(keras.Model):
        def train_step(self, data):
            seen.append(isinstance(data, tuple) or tuple(data.shape))
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(data)))
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(grads, self.trainable_variables)
            return {"loss": loss}

    inputs = keras.Input(shape=(2,))
    model = OwnLoss(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", run_eagerly=True)
    model.fit(np.ones((4, 2), np.float32), batch_size=4, verbose=0)
    assert seen == [(4, 2)]


def test_fit_trains_a_model_whose_only_loss_is_added_in_call():
    class Penalty(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(tf.reduce_mean(inputs))
            return inputs

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, Penalty()(inputs))
    model.compile(optimizer="adam")
    history = model.fit(np.full((2, 3), 0.5), verbose=0)
    assert history.history["loss"] == [pytest.approx(0.5)]
