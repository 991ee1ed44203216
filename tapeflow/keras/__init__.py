"""`tapeflow.keras` (also `tf.keras`): layers, models, losses, optimizers, metrics,
callbacks, training loops, saving and dataset loaders, with Keras's API.

    >>> import tapeflow as tf
    >>> from tapeflow import keras
    >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer='sgd', loss='mse')
    >>> model.predict(tf.ones([3, 2])).shape
    (3, 1)
"""
from tapeflow.keras import (  # noqa: F401
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    utils,
)
from tapeflow.keras.layers import Input, Layer  # noqa: F401
from tapeflow.keras.models import Model, Sequential  # noqa: F401
from tapeflow.keras.saving import load_model  # noqa: F401

__version__ = "2.21.0"
