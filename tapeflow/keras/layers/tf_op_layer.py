"""`TFOpLambda`: a tapeflow function called on Keras tensors becomes a layer.

As in TensorFlow's Keras 2, `y = tf.nn.relu(keras.Input((4,)))` or
`inputs / 255.0` outside any layer is part of the functional model: the model
replays the call on real tensors and `summary()` lists it as
`tf.nn.relu (TFOpLambda)`.

How a call becomes a layer: every public function declares its TF names where
it is defined (`@tf_export("nn.relu")`, see `framework/api_export.py`). Called
on a Keras tensor, the first op that reads the tensor's value raises
`NoValueError`; the wrapper of the public function the user called catches it
and hands the whole call (function, arguments) to `_dispatch` below, which
makes ONE `TFOpLambda(symbol, fn)` and calls it on those arguments like any
layer. Python operators are bound on `KerasTensor` by the names
`framework/tensor.py` gives them (`a + b` is 'tf.__operators__.add', `a / b`
'tf.math.truediv'). The layer's `call` runs the function again: with the
Keras graph current while the model is built (shapes from the ops' shape
rules), on real tensors when the model runs.

    >>> import tapeflow as tf
    >>> x = tf.keras.Input(shape=(2,), name='x')
    >>> model = tf.keras.Model(x, tf.concat([tf.nn.relu(x), x], axis=-1))
    >>> model(tf.constant([[-1., 2.]])).numpy()
    array([[ 0.,  2., -1.,  2.]], dtype=float32)
    >>> [layer.name for layer in model.layers]
    ['x', 'tf.nn.relu', 'tf.concat']
"""
from __future__ import annotations

from tapeflow.framework import api_export, tensor
from tapeflow.framework.context import state
from tapeflow.keras import backend
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.node import KerasTensor
from tapeflow.utils import nest


class TFOpLambda(Layer):
    """One call of a tapeflow function on Keras tensors, replayed by the model.

    Made by the functional build, not by users. `symbol` is the function's
    canonical public name ('nn.relu'): the layer is named 'tf.<symbol>'
    (numbered after the first: 'tf.nn.relu_1'). Called as `layer(args, kwargs)`
    with the function's arguments, Keras tensors among them anywhere.
    """

    _scoped_build = False
    # The arguments are the function's own (axes, dtypes, lists of tensors): passed as given.
    _autocast_inputs = False

    def __init__(self, symbol, function, **kwargs):
        kwargs.setdefault("name", backend.unique_object_name(f"tf.{symbol}"))
        super().__init__(autocast=False, **kwargs)
        d = self.__dict__
        d["symbol"] = symbol
        d["function"] = function
        d["built"] = True

    def call(self, args, kwargs):
        return self.function(*args, **kwargs)

    def get_config(self):
        raise NotImplementedError(
            f'Layer "{self.name}" (TFOpLambda) replays the call of tf.{self.symbol} on Keras '
            "tensors recorded while the model was built; it has no config to rebuild it from.")


def _has_keras_tensor(structure) -> bool:
    return any(isinstance(x, KerasTensor) for x in nest.flatten(structure))


def _dispatch(symbol, fn, args, kwargs):
    """A public call that read a Keras tensor's value -> one TFOpLambda layer."""
    if state.graph is not None or not _has_keras_tensor((args, kwargs)):
        return NotImplemented
    return TFOpLambda(symbol, fn)(args, kwargs)


def _operator(name, fn, symbol):
    """`KerasTensor.<name>`: a layer named `symbol` when the user applies it; the
    plain operator inside a layer's `call` (its ops belong to that layer) and
    inside a public function (`tf.divide` computing `x / y`: the function's
    wrapper makes the call one layer, by the function's name)."""
    def method(*args):
        if state.graph is not None or api_export.in_public_call():
            return fn(*args)
        return TFOpLambda(symbol, fn)(args, {})
    method.__name__ = name
    return method


api_export.add_dispatcher(_dispatch)
for _name, _fn in tensor.operators.items():
    if _name in tensor.OPERATOR_NAMES:
        setattr(KerasTensor, _name, _operator(_name, _fn, tensor.OPERATOR_NAMES[_name]))
