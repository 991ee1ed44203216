"""`TFOpLambda`: a tapeflow function called on Keras tensors becomes a layer.

As in TensorFlow's Keras 2, `y = tf.nn.relu(keras.Input((4,)))` or
`inputs / 255.0` outside any layer is part of the functional model: the model
replays the call on real tensors and `summary()` lists it as
`tf.nn.relu (TFOpLambda)`.

How a call is recorded: each op it runs reaches `KerasGraph.record_call` (see
`KerasTensor`), which adds the op to the Keras graph and calls `note_op`. One
user-level call may run several ops (`tf.nn.softmax` on some inputs,
`tf.nn.moments`); they belong to one layer because they run under the same
Python frame: the outermost tapeflow frame on the stack, i.e. the public
function the user called. A new frame starts a new layer. The layer is named
after that function as TF names it ('tf.math.reduce_sum' for tf.reduce_sum);
`a + b` and `a / b` are 'tf.__operators__.add' and 'tf.math.truediv', told
from tf.add/tf.divide by the instruction the user's frame is running.

The layer replays its recorded graph nodes in order with `execute`: eagerly,
inside `tf.function` (a trace of the model) and under tapes (gradients) alike.
The layer's output is the last op's output; a tensor of an earlier op that the
model uses elsewhere (one of several results of the call) is replayed from its
own node by the functional model.

    >>> import tapeflow as tf
    >>> x = tf.keras.Input(shape=(2,))
    >>> model = tf.keras.Model(x, tf.concat([tf.nn.relu(x), x], axis=-1))
    >>> model(tf.constant([[-1., 2.]])).numpy()
    array([[ 0.,  2., -1.,  2.]], dtype=float32)
    >>> [type(layer).__name__ for layer in model.layers]
    ['InputLayer', 'TFOpLambda', 'TFOpLambda']
"""
from __future__ import annotations

import dis
import os
import sys
import threading

from tapeflow.framework.op import execute
from tapeflow.keras import backend
from tapeflow.keras.layers.base import KerasNode, KerasTensor, Layer

# Names that TensorFlow gives to functions reachable under several names, where its
# canonical name is not the first one found in `_NAMESPACES` order.
_CANONICAL = {"matmul": "linalg.matmul", "softmax": "nn.softmax",
              "log_softmax": "nn.log_softmax"}
# Searched in this order for a function's public name: TF's canonical names are
# mostly 'math.*' (tf.math.add for tf.add), then 'nn.*', then top level (tf.concat).
_NAMESPACES = ("math", "nn", "", "linalg", "random", "keras.activations")
# Python operators whose functions are not public (as TF names them).
_OPERATORS = {"_getitem": "__operators__.getitem", "_pow_op": "math.pow",
              "_eq": "math.equal", "_ne": "math.not_equal"}

# tapeflow's own source files, told apart by path: a doctest or an example program runs
# with a tapeflow module's name but is user code calling the API.
_LIBRARY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep
_EXAMPLES = _LIBRARY + "examples" + os.sep


def _is_library(filename):
    return filename.startswith(_LIBRARY) and not filename.startswith(_EXAMPLES)


_names = None           # code object -> [(function, public name)], built on first use


def _public_names():
    global _names
    if _names is None:
        import tapeflow
        from tapeflow.ops import math_ops
        names, seen = {}, set()

        def add(fn, label):
            code = getattr(fn, "__code__", None)
            if code is not None and id(fn) not in seen:
                seen.add(id(fn))
                names.setdefault(code, []).append((fn, label))
        for space in _NAMESPACES:
            module = tapeflow
            for part in filter(None, space.split(".")):
                module = getattr(module, part)
            for attr, fn in vars(module).items():
                if not attr.startswith("_"):
                    add(fn, _CANONICAL.get(attr, f"{space}.{attr}" if space else attr))
        for attr, label in _OPERATORS.items():
            add(getattr(math_ops, attr), label)
        _names = names
    return _names


def _name_of(frame, names):
    """The public name of the function running in `frame`, or None.

    Op families make many functions from one `def` (every unary op is the same
    code with another `op` in its closure): the closure tells them apart.
    """
    candidates = names.get(frame.f_code)
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0][1]
    free = frame.f_code.co_freevars
    local = frame.f_locals
    for fn, label in candidates:
        cells = fn.__closure__ or ()
        if all(var in local and local[var] is cell.cell_contents
               for var, cell in zip(free, cells)):
            return label
    return None


def _caller():
    """(the frame of the public call being recorded, its public name or None).

    Walks out of tapeflow's own frames: the outermost one (before user code)
    identifies the call; its name is that of the outermost frame that is a
    public function (an operator like `1 - x` runs a private lambda first).
    """
    names = _public_names()
    frame = sys._getframe(2)
    outer, name = None, None
    while frame is not None and _is_library(frame.f_code.co_filename):
        outer = frame
        name = _name_of(frame, names) or name
        frame = frame.f_back
    return outer, _operator_name(frame) or name


# TF names `a + b` and `a / b` apart from tf.add / tf.divide (the functions tapeflow's
# operators run); the other operators share their function's name (tf.math.multiply).
_BINARY_OPERATORS = {"+": "__operators__.add", "+=": "__operators__.add",
                     "/": "math.truediv", "/=": "math.truediv"}


def _operator_name(frame):
    """'__operators__.add' when the user's code at `frame` is running `+` (or '/')."""
    if frame is None:
        return None
    for ins in dis.get_instructions(frame.f_code):
        if ins.offset == frame.f_lasti:
            return _BINARY_OPERATORS.get(ins.argrepr) if ins.opname == "BINARY_OP" else None
    return None


class TFOpLambda(Layer):
    """One call of a tapeflow function on Keras tensors, replayed by the model.

    Made by the functional build, not by users; `symbol` is the function's
    public name ('nn.relu'), and the layer is named 'tf.<symbol>' (numbered
    after the first: 'tf.nn.relu_1').
    """

    _scoped_build = False

    def __init__(self, symbol, **kwargs):
        kwargs.setdefault("name", backend.unique_object_name(f"tf.{symbol}"))
        super().__init__(autocast=False, **kwargs)
        d = self.__dict__
        d["symbol"] = symbol
        d["built"] = True
        d["_graph_nodes"] = []        # the ops of the call, in the order they ran
        d["_sources"] = []            # Keras tensors the call reads from outside itself

    def _add(self, node):
        """Appends one recorded op; its outputs become the layer's outputs."""
        made = {id(t) for n in self._graph_nodes for t in n.outputs}
        for x in node.inputs:
            if isinstance(x, KerasTensor) and id(x) not in made and not any(
                    x is s for s in self._sources):
                self._sources.append(x)
        for n in self._graph_nodes:       # earlier results are no longer the layer's
            for t in n.outputs:
                t._keras_history = None
        self._graph_nodes.append(node)
        outputs = node.outputs[0] if node.op.num_outputs == 1 else node.outputs
        args = (self._sources[0],) if len(self._sources) == 1 else (list(self._sources),)
        self._inbound_nodes[:] = [KerasNode(self, args, {}, outputs)]
        for i, t in enumerate(node.outputs):
            t._keras_history = (self, 0, i)

    def call(self, inputs):
        values = {}
        sources = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        for s, v in zip(self._sources, sources):
            values[id(s)] = v
        out = None
        for node in self._graph_nodes:
            out = execute(node.op, [values.get(id(x), x) if x._is_symbolic else x
                                    for x in node.inputs], node.attrs)
            for t, v in zip(node.outputs, (out,) if node.op.num_outputs == 1 else out):
                values[id(t)] = v
        return out

    def get_config(self):
        raise NotImplementedError(
            f'Layer "{self.name}" (TFOpLambda) replays the call of tf.{self.symbol} on Keras '
            "tensors recorded while the model was built; it has no config to rebuild it from.")


class _OpenCall(threading.local):
    """Per thread (two threads build models at once): the frame of the call being
    recorded and its layer; one frame (and its locals) stays referenced until the
    next recorded call."""

    frame = layer = None


_open = _OpenCall()


def note_op(outs):
    """Adds the op that made `outs` (just recorded in the Keras graph) to the layer
    of the public call that ran it, starting a new layer for a new call."""
    node = (outs[0] if isinstance(outs, tuple) else outs).node
    frame, name = _caller()
    layer = _open.layer
    # The frame is kept referenced until the next call, so a later call can never
    # get a frame object at the same address and be mistaken for this one.
    if frame is None or frame is not _open.frame:
        layer = TFOpLambda(name or _snake(node.op.name))
        _open.frame, _open.layer = frame, layer
    layer._add(node)


def _snake(op_name):
    return backend.to_snake_case(op_name)
