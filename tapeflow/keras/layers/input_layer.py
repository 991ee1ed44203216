"""`keras.Input` / `InputLayer`: the symbolic entry point of a functional model.

    >>> import tapeflow as tf
    >>> x = tf.keras.Input(shape=(28, 28, 1))
    >>> x.shape
    TensorShape([None, 28, 28, 1])
"""
from __future__ import annotations

from tapeflow.framework import dtypes
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.keras import backend
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.node import KERAS_GRAPH, KerasNode, KerasTensor


class InputLayer(Layer):
    """Holds the placeholder a functional model starts from (no weights)."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None,
                 sparse=None, name=None, ragged=None, batch_input_shape=None, batch_shape=None,
                 **kwargs):
        if name is None:
            name = f"input_{backend.get_uid('input')}"
        if batch_shape is not None:
            batch_input_shape = batch_shape
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("InputLayer needs a shape: pass `shape=` (without the batch "
                                 "dimension) or `batch_shape=`; received neither.")
            batch_input_shape = (batch_size,) + tuple(input_shape)
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_input_shape, **kwargs)
        self.__dict__["built"] = True
        tensor = KerasTensor(TensorShape(batch_input_shape), dtypes.as_dtype(self._dtype),
                             KERAS_GRAPH)
        node = KerasNode(self, (), {}, tensor)
        self._inbound_nodes.append(node)
        tensor._keras_history = (self, 0, 0)
        self.__dict__["_tensor"] = tensor

    @property
    def output_shape(self):
        # Keras 2 prints an InputLayer's shape as a one-element list: [(None, 28, 28, 1)].
        return [tuple(self._tensor.shape.as_list())]

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "sparse": False, "ragged": False, "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, tensor=None,
          ragged=None, batch_shape=None, **kwargs):
    """A symbolic tensor to build a functional model from.

    Args:
        shape: the shape of one example, without the batch dimension, e.g. (28, 28, 1).
        batch_size: a fixed batch size (default: any).
        name: the input layer's name (default 'input_<n>').
        dtype: the input dtype (default float32).
        batch_shape: the full shape including the batch dimension, instead of `shape`.
    """
    if shape is None and batch_shape is None:
        raise ValueError("keras.Input needs `shape` (the shape of one example, e.g. "
                         "shape=(28, 28, 1)) or `batch_shape`; received neither.")
    if shape is not None and not isinstance(shape, (list, tuple, TensorShape)):
        if isinstance(shape, int):
            shape = (shape,)
        else:
            raise TypeError(f"keras.Input: `shape` must be a tuple of dimensions, received "
                            f"{shape!r} of type {type(shape).__name__}")
    layer = InputLayer(input_shape=None if shape is None else tuple(shape),
                       batch_size=batch_size, name=name, dtype=dtype, batch_shape=batch_shape)
    return layer._tensor
