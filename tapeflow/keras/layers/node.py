"""The functional graph: Keras tensors and the layer calls recorded between them.

`keras.Input` makes a `KerasTensor` in `KERAS_GRAPH`. Calling a layer on Keras
tensors runs its `call` with that graph current (every op yields a symbolic
tensor whose shape comes from the op's shape rule) and records a `KerasNode`;
each output carries `_keras_history = (layer, node_index, output_index)`, which
`Model(inputs, outputs)` walks back to replay the calls on real tensors.

A tapeflow function or operator applied to Keras tensors outside any layer
(`tf.nn.relu(x)`, `x / 255.0`) becomes a layer too: see `tf_op_layer.py`.

    >>> import tapeflow as tf
    >>> x = tf.keras.Input(shape=(3,))
    >>> y = tf.keras.layers.Dense(2)(x)
    >>> layer, node_index, _ = y._keras_history
    >>> layer._inbound_nodes[node_index].flat_inputs == [x]
    True
"""
from __future__ import annotations

from tapeflow.framework.api_export import NoValueError
from tapeflow.framework.graph import FuncGraph
from tapeflow.framework.tensor import SymbolicTensor
from tapeflow.utils import nest


class KerasTensor(SymbolicTensor):
    """A tensor of a functional build (from `keras.Input` and the layers called on it).

    It has no value until the model runs: an op that reads its value outside a
    layer's `call` raises `NoValueError`, which the public function the user
    called catches and hands to Keras (`tf_op_layer.py`): the call becomes a
    `TFOpLambda` layer. Python operators (`x / 255.0`) are bound by
    `tf_op_layer.py` on this class, so eager tensors never take that path.
    """

    __slots__ = ()

    @property
    def _value(self):
        raise NoValueError(
            f"{self!r} is a Keras tensor: it has no value until the model runs, and this call "
            "reads its value while the model is built, so it cannot be recorded as a layer of "
            "the model. Do the computation inside a layer (keras.layers.Lambda or a Layer "
            "subclass).")

    @_value.setter
    def _value(self, value):
        # SymbolicTensor.__init__ stores None; a Keras tensor never holds a value.
        pass


class KerasGraph(FuncGraph):
    """The graph Keras tensors live in; its ops make `KerasTensor`s.

    It keeps no list of its nodes, inputs or variables: each tensor references
    its producing node and the node its inputs, so a model's graph is freed
    with the model (one process-wide graph would otherwise keep every model
    ever built, and its weights, alive).
    """

    tensor_type = KerasTensor
    nodes = property(lambda self: [], lambda self, value: None)
    inputs = property(lambda self: [], lambda self, value: None)
    variables = property(lambda self: {}, lambda self, value: None)


KERAS_GRAPH = KerasGraph("keras_graph")


def is_keras_tensor(x) -> bool:
    """True for the symbolic tensors of a functional build (from `keras.Input`)."""
    return isinstance(x, SymbolicTensor) and x.graph is KERAS_GRAPH


class KerasNode:
    """One recorded call of a layer on Keras tensors: what went in, what came out."""

    __slots__ = ("__weakref__", "args", "flat_inputs", "kwargs", "layer", "outputs")

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.flat_inputs = [x for x in nest.flatten((args, kwargs)) if is_keras_tensor(x)]

    @property
    def output_shapes(self):
        return nest.map_structure(lambda t: t.shape, self.outputs)
