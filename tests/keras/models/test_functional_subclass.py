"""A keras.Model subclass built from inputs and outputs is a functional model that keeps
the subclass's methods (the pattern of overriding train_step / test_step)."""
import numpy as np

from tapeflow import keras


def _graph(units=1):
    inputs = keras.Input(shape=(3,))
    return inputs, keras.layers.Dense(units)(inputs)


_STEPS = []


class _CountingModel(keras.Model):
    """Counts its train_step calls and trains with the compiled loss."""

    def train_step(self, data):
        _STEPS.append(1)
        return super().train_step(data)


def test_subclass_called_with_inputs_and_outputs_is_a_functional_instance_of_the_subclass():
    inputs, outputs = _graph()
    model = _CountingModel(inputs, outputs)
    assert isinstance(model, _CountingModel)
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert model(np.ones((2, 3), np.float32)).shape == (2, 1)


def test_fit_runs_the_subclass_train_step():
    _STEPS.clear()
    model = _CountingModel(*_graph())
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)     # one call per batch
    model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=4, epochs=1, verbose=0)
    assert len(_STEPS) == 2


def test_subclass_init_receives_inputs_and_outputs_and_may_add_state():
    class WithTracker(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.tracker = keras.metrics.Mean(name="loss")

    model = WithTracker(*_graph(2))
    assert model.tracker.name == "loss"
    assert model.output_shape == (None, 2)


def test_the_same_subclass_gives_one_functional_class_for_every_model():
    first, second = _CountingModel(*_graph()), _CountingModel(*_graph())
    assert type(first) is type(second)


def test_model_from_config_accepts_custom_objects_for_functional_configs():
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2.0 * x

    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, Doubler()(inputs))
    copy = keras.Model.from_config(model.get_config(), custom_objects={"Doubler": Doubler})
    np.testing.assert_allclose(copy(np.ones((1, 2), np.float32)).numpy(), [[2.0, 2.0]])


def test_a_subclass_with_its_own_positional_arguments_stays_a_subclassed_model():
    class Block(keras.Model):
        def __init__(self, units, scale):
            super().__init__(name="")
            self.dense, self.scale = keras.layers.Dense(units), scale

        def call(self, x):
            return self.scale * self.dense(x)

    block = Block(2, 3.0)
    assert block(np.ones((1, 4), np.float32)).shape == (1, 2)
    assert not hasattr(block, "_plan")
