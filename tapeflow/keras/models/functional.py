"""Functional models: `Model(inputs, outputs)` over Keras tensors.

Building walks back from the outputs through each tensor's `_keras_history`
(the layer call that made it) to the inputs, giving a plan in topological
order. Each step is a recorded layer call (tapeflow functions applied to Keras
tensors, `x * 2`, `tf.concat(...)`, are `TFOpLambda` layers). Calling the model
runs the plan on real tensors.

    >>> import tapeflow as tf
    >>> inputs = tf.keras.Input(shape=(3,))
    >>> outputs = tf.keras.layers.Dense(2)(inputs)
    >>> model = tf.keras.Model(inputs, outputs)
    >>> model(tf.ones([4, 3])).shape
    TensorShape([4, 2])
"""
from __future__ import annotations

from tapeflow.framework.tensor import SymbolicTensor, Tensor
from tapeflow.keras import backend
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.input_layer import InputLayer
from tapeflow.keras.layers.node import is_keras_tensor
from tapeflow.keras.models.model import Model
from tapeflow.ops import array_ops
from tapeflow.utils import nest


def build_plan(flat_inputs, flat_outputs):
    """The recorded layer calls (KerasNodes) from the inputs to the outputs, in order."""
    input_ids = {id(t) for t in flat_inputs}
    plan, done = [], set()

    def visit(t, path):
        if id(t) in input_ids:
            return
        hist = t._keras_history
        if hist is None:
            raise ValueError(f"Graph disconnected: the tensor {t!r} was not made by a Keras "
                             "layer or op from the model's inputs.")
        layer, node_index, _ = hist
        node = layer._inbound_nodes[node_index]
        if isinstance(layer, InputLayer):
            raise ValueError(
                f"Graph disconnected: cannot obtain value for tensor {t!r} at layer "
                f'"{layer.name}": it is not among the model\'s inputs '
                f"{[x._keras_history[0].name for x in flat_inputs]}.")
        key, deps = id(node), node.flat_inputs
        if key in done:
            return
        if key in path:
            raise ValueError("The functional graph has a cycle")
        path.add(key)
        for d in deps:
            visit(d, path)
        path.discard(key)
        done.add(key)
        plan.append(node)

    for out in flat_outputs:
        visit(out, set())
    return plan


class Functional(Model):
    """A model defined by its input and output Keras tensors."""

    _scoped_build = False

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"Model(inputs, outputs): unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        if name is None:
            # Keras 2 names functional models 'model', 'model_1', ...; subclasses by class.
            base = "model" if type(self) in (Functional, Model) else backend.to_snake_case(
                type(self).__name__)
            name = backend.unique_object_name(base)
        Layer.__init__(self, name=name, trainable=trainable)
        self._init_trainer()
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        flat_in, flat_out = nest.flatten(inputs), nest.flatten(outputs)
        for what, flat in (("inputs", flat_in), ("outputs", flat_out)):
            for t in flat:
                if not is_keras_tensor(t):
                    raise TypeError(f"Model {what} must be Keras tensors (from keras.Input and "
                                    f"layers called on them); received {t!r} of type "
                                    f"{type(t).__name__}")
        for t in flat_in:
            if not isinstance(t._keras_history[0], InputLayer):
                raise ValueError(f"Model inputs must come from keras.Input; {t!r} was produced "
                                 f'by layer "{t._keras_history[0].name}"')
        d = self.__dict__
        d["_nested_inputs"] = inputs
        d["_nested_outputs"] = outputs
        d["_flat_inputs"] = flat_in
        d["_flat_outputs"] = flat_out
        plan = build_plan(flat_in, flat_out)
        d["_plan"] = plan
        d["_steps"] = None
        layers = [t._keras_history[0] for t in flat_in]
        for node in plan:
            if not any(node.layer is x for x in layers):
                layers.append(node.layer)
        d["_layers"] = layers
        d["input_spec"] = [InputSpec(shape=t.shape.as_list()) for t in flat_in]
        d["built"] = True
        d["_build_input_shape"] = nest.map_structure(lambda t: t.shape, inputs)
        # Replay data: where each step reads its inputs from, computed once.
        d["_input_ids"] = [id(t) for t in flat_in]
        d["_output_ids"] = [id(t) for t in flat_out]

    # -- properties -------------------------------------------------------------
    @property
    def inputs(self):
        return list(self._flat_inputs)

    @property
    def outputs(self):
        return list(self._flat_outputs)

    @property
    def input_names(self):
        return [t._keras_history[0].name for t in self._flat_inputs]

    @property
    def output_names(self):
        return self._output_names()

    def _output_names(self):
        if "_flat_outputs" not in self.__dict__:       # a Sequential not built yet
            layers = self.__dict__.get("_seq_layers") or []
            return [layers[-1].name if layers else "output_1"]
        return [t._keras_history[0].name for t in self._flat_outputs]

    @property
    def input_shape(self):
        shapes = [tuple(t.shape.as_list()) for t in self._flat_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [tuple(t.shape.as_list()) for t in self._flat_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _summary_layers(self):
        return list(self._layers)

    # -- running ------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # Inputs given by name ({"title": ..., "body": ...}) to a model whose inputs are a
        # list: put them in the inputs' order before the input specs are checked.
        nested = self.__dict__.get("_nested_inputs")
        if args and isinstance(args[0], dict) and nested is not None and \
                not isinstance(nested, dict):
            args = (self._flatten_call_inputs(args[0]),) + args[1:]
        if args:
            args = (self._adjust_input_ranks(args[0]),) + args[1:]
        return super().__call__(*args, **kwargs)

    def _adjust_input_ranks(self, inputs):
        """Adds or drops a trailing axis of size 1 where an input is one rank off its
        `keras.Input` (a batch of strings for `Input(shape=(1,))`), as Keras does."""
        refs = self.__dict__.get("_flat_inputs")     # None: a Sequential not built yet
        flat = nest.flatten(inputs)
        if refs is None or len(flat) != len(refs):
            return inputs
        out, changed = [], False
        for x, ref in zip(flat, refs):
            want = ref.shape.rank
            have = len(getattr(x, "shape", ())) if hasattr(x, "shape") else None
            if have is not None and want is not None and not is_keras_tensor(x):
                if have == want - 1 and ref.shape[-1] == 1:
                    x, changed = array_ops.expand_dims(x, -1), True
                elif have == want + 1 and have > 1 and x.shape[-1] == 1:
                    x, changed = array_ops.squeeze(x, -1), True
            out.append(x)
        return nest.pack_sequence_as(inputs, out) if changed else inputs

    def _flatten_call_inputs(self, inputs):
        if isinstance(inputs, dict) and not isinstance(self._nested_inputs, dict):
            names = self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f'Model "{self.name}" expects inputs named {names}; the input '
                                 f"dictionary lacks {missing}")
            return [inputs[n] for n in names]
        flat = nest.flatten(inputs)
        if len(flat) != len(self._flat_inputs):
            raise ValueError(f'Model "{self.name}" expects {len(self._flat_inputs)} input(s), '
                             f"but it received {len(flat)} input tensors.")
        return flat

    def _compiled_steps(self):
        """The plan as tuples the replay loop reads without re-inspecting nodes.

        (0, layer, input_id, output_id) for the common one-tensor-in, one-out call;
        (1, node) for other layer calls.
        """
        steps = []
        for node in self._plan:
            args, outs = node.args, node.outputs
            if len(args) == 1 and not node.kwargs and isinstance(args[0], SymbolicTensor) \
                    and isinstance(outs, SymbolicTensor):
                steps.append((0, node.layer, id(args[0]), id(outs)))
            else:
                steps.append((1, node))
        return steps

    def call(self, inputs, training=None, mask=None):
        if type(inputs) is Tensor and len(self._input_ids) == 1:
            values = {self._input_ids[0]: inputs}
        else:
            values = dict(zip(self._input_ids, self._flatten_call_inputs(inputs)))
        steps = self.__dict__.get("_steps")
        if steps is None:
            steps = self.__dict__["_steps"] = self._compiled_steps()
        for step in steps:
            kind = step[0]
            if kind == 0:
                values[step[3]] = step[1](values[step[2]])
            else:
                node = step[1]

                def sub(x):
                    return values[id(x)] if is_keras_tensor(x) else x
                out = node.layer(*nest.map_structure(sub, node.args),
                                 **nest.map_structure(sub, node.kwargs))
                for sym, val in zip(nest.flatten(node.outputs), nest.flatten(out)):
                    values[id(sym)] = val
        if len(self._output_ids) == 1 and isinstance(self._nested_outputs, SymbolicTensor):
            return values[self._output_ids[0]]
        flat = [values[i] for i in self._output_ids]
        return nest.pack_sequence_as(self._nested_outputs, flat)

    def get_config(self):
        from tapeflow.keras import saving
        return saving.functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from tapeflow.keras import saving
        return saving.functional_from_config(config, custom_objects)
