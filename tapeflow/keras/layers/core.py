"""Core layers: Dense, Activation, Flatten, Reshape, Dropout, Embedding.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Flatten()(tf.ones([2, 3, 4])).shape
    TensorShape([2, 12])
"""
from __future__ import annotations

import numpy as np

from tapeflow.keras import activations, initializers, regularizers
from tapeflow.keras.layers.weight_args import set_weight_args, weight_config, weight_kwargs
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.ops import array_ops, dropout_ops, math_ops, nn_ops, reduce_ops


def _ser_init(init):
    return initializers.serialize(init) if isinstance(init, initializers.Initializer) else init


class Dense(Layer):
    """`activation(inputs @ kernel + bias)` over the last axis of the inputs.

    Args:
        units: the size of the output's last axis.
        activation: a name ('relu', 'softmax', ...) or a function; None for linear.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: Keras's defaults, 'glorot_uniform' and 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to
            `layer.losses`.
        kernel_constraint, bias_constraint: projections applied after each update.

    Example:
        >>> import tapeflow as tf
        >>> tf.keras.layers.Dense(4)(tf.ones([2, 3])).shape
        TensorShape([2, 4])
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.__dict__["supports_masking"] = True
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: `units` must be a positive integer, received {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        set_weight_args(self, locals(), "kernel", "bias")
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        last = input_shape[-1]
        if last is None:
            raise ValueError(f'Dense layer "{self.name}": the last dimension of the inputs must '
                             f"be known; received input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (last, self.units),
                                      **weight_kwargs(self, "kernel"))
        self.bias = (self.add_weight("bias", (self.units,), **weight_kwargs(self, "bias"))
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last})

    def call(self, inputs):
        if inputs.ndim == 2:
            y = math_ops.matmul(inputs, self.kernel)
        else:
            # (..., in) -> (N, in) @ kernel -> (..., units): one BLAS call, any leading dims.
            dims = inputs.shape.as_list()
            y = math_ops.matmul(array_ops.reshape(inputs, (-1, dims[-1])), self.kernel)
            if all(d is not None for d in dims[1:-1]):
                y = array_ops.reshape(y, [-1] + dims[1:-1] + [self.units])
            else:
                lead = array_ops.shape(inputs)[:-1]
                y = array_ops.reshape(y, array_ops.concat([lead, [self.units]], 0))
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_config(self, "kernel", "bias")}


class Activation(Layer):
    """Applies an activation function by name or callable."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Layer):
    def call(self, inputs):
        return nn_ops.relu(inputs)


class LeakyReLU(Layer):
    """max(x, 0) + negative_slope * min(x, 0) (Keras's default slope is 0.3).

    Example:
        >>> import tapeflow as tf
        >>> tf.keras.layers.LeakyReLU()(tf.constant([-1., 2.])).numpy()
        array([-0.3,  2. ], dtype=float32)
    """

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        slope = negative_slope if alpha is None else alpha   # Keras 2 named it alpha
        if slope is None or slope < 0:
            raise ValueError(f"LeakyReLU's negative_slope must be a number >= 0, received "
                             f"{slope!r}")
        self.negative_slope = float(slope)

    def call(self, inputs):
        return nn_ops.leaky_relu(inputs, alpha=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return activations.softmax(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Flatten(Layer):
    """Flattens every dimension but the batch: (N, 24, 24, 64) -> (N, 36864)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten supports data_format='channels_last' only, received "
                             f"{data_format!r}")
        self.data_format = data_format
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        dims = inputs.shape.as_list()
        rest = dims[1:]
        if all(d is not None for d in rest):
            n = int(np.prod(rest)) if rest else 1
            return array_ops.reshape(inputs, (-1, n))
        return array_ops.reshape(inputs, array_ops.stack(
            [array_ops.shape(inputs)[0], -1]))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each example to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs):
        return array_ops.reshape(inputs, (-1,) + self.target_shape if -1 not in self.target_shape
                                 else self._resolved(inputs))

    def _resolved(self, inputs):
        rest = inputs.shape.as_list()[1:]
        if any(d is None for d in rest):
            raise ValueError(f'Reshape layer "{self.name}": cannot infer the -1 entry of '
                             f"target_shape={self.target_shape} from input shape {inputs.shape}")
        n = int(np.prod(rest))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if known == 0 or n % known:
            raise ValueError(f'Reshape layer "{self.name}": an input with {n} values per example '
                             f"cannot be reshaped to {self.target_shape}")
        return (-1,) + tuple(n // known if d == -1 else d for d in self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """During training, zeroes inputs with probability `rate` and scales the rest by
    1/(1-rate); at inference passes inputs through."""

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) <= 1:
            raise ValueError(f"Dropout: `rate` must be a float in [0, 1], received {rate!r}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return inputs * 0.0
        return dropout_ops.apply_dropout(inputs, self.rate, self.noise_shape, self.seed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class Embedding(Layer):
    """Maps integer ids to rows of a (input_dim, output_dim) table."""

    _autocast_kinds = ""        # the ids stay integers

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, mask_zero=False, input_length=None, **kwargs):
        super().__init__(**kwargs)
        self.__dict__["_makes_mask"] = bool(mask_zero)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = mask_zero
        self.input_length = input_length

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer)

    def call(self, inputs):
        if not inputs.dtype.is_integer:
            inputs = math_ops.cast(inputs, "int32")
        return array_ops.gather(self.embeddings, inputs)

    def compute_mask(self, inputs, mask=None):
        """With mask_zero, the steps whose id is 0 are padding."""
        return math_ops.not_equal(inputs, 0) if self.mask_zero else None

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": _ser_init(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "mask_zero": self.mask_zero, "input_length": self.input_length}


class Identity(Layer):
    """Returns its input unchanged (a placeholder in a model, e.g. an optional block)."""

    supports_masking = True

    def call(self, inputs):
        return inputs


class Masking(Layer):
    """Marks as padding the timesteps whose features all equal `mask_value`, and zeroes them.

        >>> import tapeflow as tf
        >>> out = tf.keras.layers.Masking()(tf.constant([[[1.], [0.]]]))
        >>> out._keras_mask.numpy()
        array([[ True, False]])
    """

    supports_masking = True
    _makes_mask = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return reduce_ops.reduce_any(math_ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = self.compute_mask(inputs)
        return inputs * math_ops.cast(array_ops.expand_dims(keep, -1), inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Rescaling(Layer):
    """inputs * scale + offset (e.g. Rescaling(1. / 255) for 8-bit images)."""

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, inputs):
        out = inputs * self.scale
        return out + self.offset if self.offset else out

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Lambda(Layer):
    """Wraps a function of tensors as a layer (not serializable to a config)."""

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}

    def call(self, inputs):
        return self.function(inputs, **self.arguments)
