"""`keras.Sequential`: a linear stack of layers, built on its first input shape.

With an input shape known (an `Input`/`InputLayer` first, or `input_shape=`
on the first layer) the model is built as each layer is added; otherwise on
the first call, `build(input_shape)` or `fit`. Building runs the layers on a
Keras tensor of that shape (batch dimension free), so `summary()` shows each
layer's output shape.

    >>> import tapeflow as tf
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])
    >>> model(tf.ones([2, 3])).shape
    TensorShape([2, 1])
"""
from __future__ import annotations

from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.keras import backend
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.node import is_keras_tensor
from tapeflow.keras.layers.input_layer import Input, InputLayer
from tapeflow.keras.models.functional import Functional


class Sequential(Functional):
    """Layers applied one after another."""

    def __init__(self, layers=None, name=None, trainable=True):
        Layer.__init__(self, name=name or backend.unique_object_name("sequential"),
                       trainable=trainable)
        self._init_trainer()
        d = self.__dict__
        d["_seq_layers"] = []
        d["_input_tensor"] = None
        d["_plan"] = []
        if layers is not None:
            for layer in layers if isinstance(layers, (list, tuple)) else [layers]:
                self.add(layer)

    @property
    def layers(self):
        return list(self._seq_layers)

    def _summary_layers(self):
        return list(self._seq_layers)

    def add(self, layer):
        """Appends a layer (or starts the model from a keras.Input / InputLayer)."""
        if is_keras_tensor(layer) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            if self._seq_layers or self._input_tensor is not None:
                raise ValueError("An InputLayer can only be the first layer of a Sequential "
                                 "model")
            self.__dict__["_input_tensor"] = layer._tensor
            self._rebuild()
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of keras.layers.Layer; "
                            f"received {layer!r} of type {type(layer).__name__}")
        if any(layer is x for x in self._seq_layers):
            raise ValueError(f'Layer "{layer.name}" is already in this Sequential model')
        self._seq_layers.append(layer)
        self.__dict__["_layers"] = list(self._seq_layers)
        if self._input_tensor is None and len(self._seq_layers) == 1 and \
                layer._batch_input_shape is not None:
            self.__dict__["_input_tensor"] = Input(batch_shape=layer._batch_input_shape,
                                                   dtype=layer.dtype,
                                                   name=f"{layer.name}_input")
        self._rebuild()

    def pop(self):
        if not self._seq_layers:
            raise TypeError("There are no layers in the model.")
        self._seq_layers.pop()
        self.__dict__["_layers"] = list(self._seq_layers)
        self._rebuild()

    def _rebuild(self):
        """Re-runs the layers on the input Keras tensor (when there is one)."""
        x = self._input_tensor
        if x is None or not self._seq_layers:
            self.__dict__["built"] = False
            return
        inputs = x
        for layer in self._seq_layers:
            x = layer(x)
        self._init_graph(inputs, x)
        self.__dict__["_layers"] = list(self._seq_layers)

    def build(self, input_shape=None):
        if input_shape is None:
            if self._input_tensor is None:
                raise ValueError("You must provide an `input_shape` argument to build a "
                                 "Sequential model that has no Input.")
            return
        if not self._seq_layers:
            raise ValueError(f'Sequential model "{self.name}" has no layers to build')
        shape = TensorShape(input_shape).as_list()
        # The batch dimension stays free, so one model serves every batch size.
        self.__dict__["_input_tensor"] = Input(batch_shape=[None] + shape[1:],
                                               name=f"{self._seq_layers[0].name}_input")
        self._rebuild()

    def _maybe_build_shape(self, shapes):
        if self.built:
            return
        self.build(shapes)

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._seq_layers:
            x = layer(x)
        return x

    def get_config(self):
        from tapeflow.keras import saving
        return saving.sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from tapeflow.keras import saving
        return saving.sequential_from_config(config, custom_objects)

