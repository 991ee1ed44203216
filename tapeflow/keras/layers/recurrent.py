"""Recurrent layers: SimpleRNN, GRU and LSTM (Keras 3 weights and gate order).

The input projection of every timestep is one matrix product (`(B*T, in) @ kernel`);
the recurrence then unrolls over the (known) number of timesteps, each step a
product with the recurrent kernel and the gate arithmetic, all differentiable
tapeflow ops.

    >>> import tapeflow as tf
    >>> lstm = tf.keras.layers.LSTM(4, return_sequences=True)
    >>> lstm(tf.ones([2, 5, 3])).shape
    TensorShape([2, 5, 4])
    >>> [w.shape.as_list() for w in lstm.weights]
    [[3, 16], [4, 16], [16]]
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.tensor import SymbolicTensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.keras import activations, initializers
from tapeflow.keras.layers.node import KERAS_GRAPH
from tapeflow.keras.layers.weight_args import set_weight_args, weight_config, weight_kwargs
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.ops import array_ops, math_ops


class _RNN(Layer):
    """Shared structure: weights in build, the unrolled loop in call."""

    _gates = 1
    # Padded steps output zeros instead of the carried output (set by Bidirectional, as Keras).
    zero_output_for_mask = False

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, dropout=0.0, recurrent_dropout=0.0,
                 **kwargs):
        for k in ("unroll", "time_major", "use_cudnn", "seed"):
            if kwargs.pop(k, False):
                raise NotImplementedError(f"{type(self).__name__}({k}=...) is not supported")
        if dropout or recurrent_dropout:
            raise NotImplementedError(f"{type(self).__name__}: dropout/recurrent_dropout are not "
                                      "supported; add a Dropout layer instead")
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{type(self).__name__}: `units` must be a positive integer, "
                             f"received {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        set_weight_args(self, locals(), "kernel", "recurrent", "bias")
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = bool(stateful)
        # Kept out of the weights (as Keras): the states carried from call to call.
        self.__dict__["_state_vars"] = None
        self.input_spec = InputSpec(ndim=3)

    def _bias_shape(self):
        return (self._gates * self.units,)

    def build(self, input_shape):
        n = self._gates * self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], n),
                                      **weight_kwargs(self, "kernel"))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, n),
                                                **weight_kwargs(self, "recurrent"))
        self.bias = self.add_weight("bias", self._bias_shape(), **{
            **weight_kwargs(self, "bias"), "initializer": self._bias_init()}) \
            if self.use_bias else None
        self.input_spec = InputSpec(ndim=3, axes={-1: input_shape[-1]})

    def _bias_init(self):
        return self.bias_initializer

    def _initial_states(self, inputs):
        batch = inputs.shape[0]
        shape = [batch, self.units] if batch is not None else array_ops.stack(
            [array_ops.shape(inputs)[0], self.units])
        return [array_ops.zeros(shape, dtype=inputs.dtype) for _ in range(self._n_states)]

    _n_states = 1

    def call(self, inputs, mask=None, initial_state=None):
        steps = inputs.shape[1]
        if steps is None:
            if getattr(inputs, "graph", None) is KERAS_GRAPH:
                return self._symbolic_outputs(inputs)
            raise ValueError(f'{type(self).__name__} layer "{self.name}" unrolls over the '
                             "timesteps and needs their number; received input shape "
                             f"{inputs.shape}. Give keras.Input a fixed sequence length.")
        dims = inputs.shape.as_list()
        # All timesteps' input projections in one matrix product.
        xw = math_ops.matmul(array_ops.reshape(inputs, (-1, dims[2])), self.kernel)
        xw = array_ops.reshape(xw, (-1, steps, self.kernel.shape[1]))
        if initial_state is not None:
            states = list(initial_state)
        elif self.stateful:
            states = [v.value() for v in self._carried_states(inputs)]
        else:
            states = self._initial_states(inputs)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        keep = None if mask is None else math_ops.cast(mask, inputs.dtype)
        outputs = []
        prev = None
        for t in order:
            h, new_states = self._step(xw[:, t], states)
            if keep is None:
                states = new_states
            else:
                # A padded step changes nothing: the states and the output carry over (as
                # Keras 3 does; a leading padded step outputs zeros).
                m = array_ops.expand_dims(keep[:, t], -1)
                states = [m * n + (1.0 - m) * o for n, o in zip(new_states, states)]
                if prev is None:
                    prev = array_ops.zeros_like(h)
                h = m * h + (1.0 - m) * prev
                prev = h
                if self.zero_output_for_mask:
                    h = m * h
            outputs.append(h)
        if self.stateful:
            for v, state in zip(self._carried_states(inputs), states):
                v.assign(state)
        if self.return_sequences:
            out = array_ops.stack(outputs, axis=1)
        else:
            out = outputs[-1]
        if self.return_state:
            return [out] + list(states)
        return out

    # -- stateful=True: the last states of one call start the next ------------------------
    @property
    def states(self):
        """The carried states (stateful layers, once called), else None."""
        return self._state_vars

    def _carried_states(self, inputs):
        batch = inputs.shape[0]
        if batch is None:
            raise ValueError(f'{type(self).__name__} layer "{self.name}" is stateful and needs '
                             f"a fixed batch size; received input shape {inputs.shape}. Give "
                             "keras.Input a batch_size (or batch_shape).")
        if self._state_vars is None:
            from tapeflow.framework.context import init_scope
            from tapeflow.framework.variables import Variable
            with init_scope():
                self.__dict__["_state_vars"] = [
                    Variable(np.zeros((batch, self.units), np.float32), trainable=False,
                             name=f"{self.name}/state_{i}") for i in range(self._n_states)]
        expected = self._state_vars[0].shape[0]
        if batch != expected:
            raise ValueError(f'{type(self).__name__} layer "{self.name}" is stateful: the batch '
                             f"size of its inputs must stay {expected} (that of its states); "
                             f"received input shape {inputs.shape}.")
        return self._state_vars

    def reset_states(self, states=None):
        """Sets the carried states to zeros (or to `states`, one array per state)."""
        if not self.stateful:
            raise AttributeError(f'Layer "{self.name}" is not stateful: only RNN layers made '
                                 "with stateful=True carry states to reset.")
        if self._state_vars is None:
            return
        values = states if states is not None else [None] * len(self._state_vars)
        if len(values) != len(self._state_vars):
            raise ValueError(f'reset_states: layer "{self.name}" has {len(self._state_vars)} '
                             f"states; received {len(values)} values.")
        for v, value in zip(self._state_vars, values):
            v.assign(np.zeros(v.shape.as_list(), np.float32) if value is None else value)

    reset_state = reset_states

    def _symbolic_outputs(self, inputs):
        """Outputs of the right shape for a functional model whose sequence length is left
        open (`keras.Input(shape=(None, ...))`): the model replays this layer on real
        tensors, whose length is known, so the loop is unrolled then."""
        batch = inputs.shape[0]
        seq = [batch, None, self.units] if self.return_sequences else [batch, self.units]
        shapes = [seq] + [[batch, self.units]] * (self._n_states if self.return_state else 0)
        outs = [SymbolicTensor(TensorShape(s), inputs.dtype, KERAS_GRAPH) for s in shapes]
        return outs if self.return_state else outs[0]

    def compute_mask(self, inputs, mask=None):
        return mask if (self.return_sequences and not self.return_state) else None

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_config(self, "kernel", "recurrent", "bias"),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful}


class SimpleRNN(_RNN):
    """h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""

    def _step(self, xw_t, states):
        z = xw_t + math_ops.matmul(states[0], self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h = self.activation(z)
        return h, [h]


class GRU(_RNN):
    """Gated recurrent unit, Keras 3's default form (reset_after=True, bias of shape (2, 3u))."""

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        if not reset_after:
            raise NotImplementedError("GRU(reset_after=False) is not supported")
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)

    def _bias_shape(self):
        return (2, 3 * self.units)

    def _step(self, xw_t, states):
        h_prev = states[0]
        u = self.units
        inner = math_ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            xw_t = xw_t + self.bias[0]
            inner = inner + self.bias[1]
        x_z, x_r, x_h = xw_t[:, :u], xw_t[:, u:2 * u], xw_t[:, 2 * u:]
        r_z, r_r, r_h = inner[:, :u], inner[:, u:2 * u], inner[:, 2 * u:]
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        hh = self.activation(x_h + r * r_h)
        h = z * h_prev + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": True}


class _UnitForgetBias(initializers.Initializer):
    """LSTM bias: the initializer's values, with ones for the forget gate (Keras's rule)."""

    def __init__(self, base, units):
        self.base, self.units = base, units

    def __call__(self, shape, dtype=None):
        u = self.units
        value = np.array(self.base((4 * u,), dtype=dtype)._value, copy=True)
        value[u:2 * u] = 1.0
        from tapeflow.framework.tensor import Tensor
        return Tensor(value)


class LSTM(_RNN):
    """Long short-term memory; gates in Keras's order (input, forget, cell, output)."""

    _gates = 4
    _n_states = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def _bias_init(self):
        if self.unit_forget_bias:
            return _UnitForgetBias(self.bias_initializer, self.units)
        return self.bias_initializer

    def _step(self, xw_t, states):
        h_prev, c_prev = states
        u = self.units
        z = xw_t + math_ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        c = f * c_prev + i * self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards, and merges their outputs.

    Args:
        layer: a SimpleRNN, GRU or LSTM (its configuration is copied for both directions).
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (a list of both).
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if isinstance(layer, dict):
            from tapeflow.keras.saving import deserialize_layer
            layer = deserialize_layer(layer)
        if not isinstance(layer, _RNN):
            raise ValueError(f"Bidirectional needs a recurrent layer (SimpleRNN, GRU, LSTM); "
                             f"received {layer!r}")
        if layer.return_state:
            raise NotImplementedError("Bidirectional(..., return_state=True) is not supported")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"Invalid merge mode {merge_mode!r}: expected one of 'concat', "
                             "'sum', 'mul', 'ave' or None")
        super().__init__(weights=weights, **kwargs)
        config = layer.get_config()
        self.forward_layer = type(layer).from_config(
            {**config, "name": f"forward_{layer.name}"})
        back = backward_layer.get_config() if backward_layer is not None else {
            **config, "go_backwards": not layer.go_backwards}
        self.backward_layer = type(layer).from_config({**back, "name": f"backward_{layer.name}"})
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        for inner in (self.forward_layer, self.backward_layer):
            inner.__dict__["zero_output_for_mask"] = self.return_sequences
        self._layer_config = {"class_name": type(layer).__name__, "config": config}

    def call(self, inputs, mask=None):
        # The input's mask reaches both directions through the tensor itself.
        y_f = self.forward_layer(inputs)
        y_b = self.backward_layer(inputs)
        if self.return_sequences:
            # The backward layer's sequence runs from the last step: put it in time order.
            y_b = array_ops.reverse(y_b, [1])
        if self.merge_mode == "concat":
            return array_ops.concat([y_f, y_b], axis=-1)
        if self.merge_mode == "sum":
            return y_f + y_b
        if self.merge_mode == "mul":
            return y_f * y_b
        if self.merge_mode == "ave":
            return (y_f + y_b) * 0.5
        return [y_f, y_b]

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self):
        return {**super().get_config(), "layer": self._layer_config,
                "merge_mode": self.merge_mode}


class TimeDistributed(Layer):
    """Applies `layer` to every timestep: (batch, steps, ...) -> (batch, steps, ...out).

    The steps are folded into the batch for one call of the wrapped layer.
    """

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            from tapeflow.keras.saving import deserialize_layer
            layer = deserialize_layer(layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed needs a keras Layer; received {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.input_spec = InputSpec(min_ndim=3)

    def call(self, inputs, training=None):
        dims = inputs.shape.as_list()
        if any(d is None for d in dims[1:]):
            raise ValueError(f'TimeDistributed layer "{self.name}" needs known timesteps and '
                             f"feature dimensions; received input shape {inputs.shape}")
        steps = dims[1]
        folded = array_ops.reshape(inputs, [-1] + dims[2:])
        out = self.layer(folded, training=training) if self.layer._call_has_training else \
            self.layer(folded)
        return array_ops.reshape(out, [-1, steps] + out.shape.as_list()[1:])

    def get_config(self):
        from tapeflow.keras.saving import serialize_layer
        return {**super().get_config(), "layer": serialize_layer(self.layer)}
