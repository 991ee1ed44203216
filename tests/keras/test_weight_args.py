"""Weight arguments (`keras/layers/weight_args.py`) shared by the layers that have weights."""
import pytest

from tapeflow import keras

L = keras.layers

LAYERS = [
    (lambda **kw: L.Dense(3, **kw), ("kernel", "bias"), (2, 4)),
    (lambda **kw: L.Conv2D(2, 3, **kw), ("kernel", "bias"), (1, 5, 5, 2)),
    (lambda **kw: L.BatchNormalization(**kw), ("beta", "gamma"), (2, 4)),
    (lambda **kw: L.LayerNormalization(**kw), ("beta", "gamma"), (2, 4)),
]


@pytest.mark.parametrize("make,weights,shape", LAYERS)
def test_regularizers_and_constraints_reach_the_weights_and_the_config(make, weights, shape):
    args = {f"{w}_{kind}": value for w in weights
            for kind, value in (("regularizer", "l2"), ("constraint", "non_neg"))}
    layer = make(**args)
    layer.build(keras.Input(shape[1:]).shape)
    config = layer.get_config()
    for w in weights:
        assert config[f"{w}_regularizer"]["class_name"] == "L2"
        assert config[f"{w}_constraint"]["class_name"] == "NonNeg"
        assert f"{w}_initializer" in config
    assert len(layer.losses) == len(weights)
    again = type(layer).from_config(config)
    assert again.get_config() == config


def test_recurrent_layers_take_the_recurrent_kernel_arguments():
    lstm = L.LSTM(2, recurrent_initializer="zeros", recurrent_regularizer="l1")
    lstm.build(keras.Input((3, 4)).shape)
    assert not lstm.recurrent_kernel.numpy().any()
    assert lstm.get_config()["recurrent_regularizer"]["class_name"] == "L1"
    assert len(lstm.losses) == 1
