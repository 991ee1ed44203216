"""Convolution and pooling layers (NHWC, as Keras's default 'channels_last').

    >>> import tapeflow as tf
    >>> tf.keras.layers.Conv2D(32, 3)(tf.ones([1, 28, 28, 1])).shape
    TensorShape([1, 26, 26, 32])
    >>> tf.keras.layers.MaxPool2D((2, 2))(tf.ones([1, 26, 26, 32])).shape
    TensorShape([1, 13, 13, 32])
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.op import execute
from tapeflow.keras import activations
from tapeflow.keras.layers.weight_args import set_weight_args, weight_config, weight_kwargs
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.ops import array_ops, conv_ops, math_ops, reduce_ops

# Activations the eager fused op applies itself (conv_ops.fused_conv2d).
_FUSED_ACTIVATIONS = {activations.get("relu"): "Relu", activations.get("linear"): ""}


def _tuple2(value, name):
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"The `{name}` argument must be a tuple of 2 integers, received "
                         f"{value!r}")
    return value


def _padding(padding):
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', received {padding!r}")
    return p


def _channels_last(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"tapeflow supports data_format='channels_last' (NHWC) only, received "
                         f"{data_format!r}")
    return "channels_last"


class Conv2D(Layer):
    """2-D convolution of NHWC inputs: `activation(conv(inputs, kernel) + bias)`.

    Args:
        filters: the number of output channels.
        kernel_size: an int or (height, width) of the window.
        strides: an int or (sh, sw).
        padding: 'valid' (no padding) or 'same' (output size = ceil(input / stride)).
        dilation_rate: an int or (dh, dw).
        activation: a name ('relu', 'softmax', ...) or a function; None for linear.
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer: Keras's defaults, 'glorot_uniform' and 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to
            `layer.losses`.
        kernel_constraint, bias_constraint: projections applied after each update.

    Example:
        >>> import tapeflow as tf
        >>> conv = tf.keras.layers.Conv2D(8, 3, strides=2, padding='same')
        >>> conv(tf.ones([2, 9, 9, 3])).shape, conv.kernel.shape
        (TensorShape([2, 5, 5, 8]), TensorShape([3, 3, 3, 8]))
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"Conv2D: `filters` must be a positive integer, received {filters!r}")
        if groups != 1:
            raise ValueError(f"Conv2D: only groups=1 is supported, received groups={groups}")
        self.filters = int(filters)
        self.kernel_size = _tuple2(kernel_size, "kernel_size")
        self.strides = _tuple2(strides, "strides")
        self.padding = _padding(padding)
        self.data_format = _channels_last(data_format)
        self.dilation_rate = _tuple2(dilation_rate, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        set_weight_args(self, locals(), "kernel", "bias")
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f'Conv2D layer "{self.name}": the channel dimension of the inputs '
                             f"must be known; received input shape {input_shape}")
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, self.filters),
                                      **weight_kwargs(self, "kernel"))
        self.bias = (self.add_weight("bias", (self.filters,), **weight_kwargs(self, "bias"))
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        fused = _FUSED_ACTIVATIONS.get(self.activation)
        if fused is not None and self.bias is not None and conv_ops.fusing_eagerly():
            # Eagerly, one op (the same values; ops/conv_ops.py); traced, the plan fuses.
            return conv_ops.fused_conv2d(inputs, self.kernel, self.bias, self.strides,
                                         self.padding.upper(), self.dilation_rate, fused)
        y = conv_ops.conv2d(inputs, self.kernel, strides=self.strides,
                            padding=self.padding.upper(), dilations=self.dilation_rate)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_config(self, "kernel", "bias")}


Convolution2D = Conv2D


class _Pooling2D(Layer):
    _op = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _tuple2(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _tuple2(strides, "strides")
        self.padding = _padding(padding)
        self.data_format = _channels_last(data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return type(self)._op(inputs, self.pool_size, self.strides, self.padding.upper())

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """Max over pool_size windows moved by strides (default: pool_size)."""

    _op = staticmethod(conv_ops.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Mean over pool_size windows moved by strides (default: pool_size)."""

    _op = staticmethod(conv_ops.avg_pool2d)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class _GlobalPooling2D(Layer):
    _reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _channels_last(data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return type(self)._reduce(inputs, axis=[1, 2], keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    _reduce = staticmethod(reduce_ops.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    _reduce = staticmethod(reduce_ops.reduce_max)


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D


# -- 1-D versions: (batch, steps, channels) run as 2-D ops on (batch, 1, steps, channels) ------

def _int1(value, name):
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = tuple(int(v) for v in value)
    if len(value) != 1:
        raise ValueError(f"The `{name}` argument must be an int or a tuple of 1 int, received "
                         f"{value!r}")
    return value[0]


class Conv1D(Conv2D):
    """1-D convolution over (batch, steps, channels); kernel (kernel_size, in, filters).

    Example:
        >>> import tapeflow as tf
        >>> tf.keras.layers.Conv1D(8, 3)(tf.ones([2, 10, 4])).shape
        TensorShape([2, 8, 8])
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, **kwargs):
        if str(padding).lower() == "causal":
            raise NotImplementedError("Conv1D(padding='causal') is not supported")
        super().__init__(filters, (1, _int1(kernel_size, "kernel_size")),
                         strides=(1, _int1(strides, "strides")), padding=padding,
                         data_format=data_format,
                         dilation_rate=(1, _int1(dilation_rate, "dilation_rate")), **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f'Conv1D layer "{self.name}": the channel dimension of the inputs '
                             f"must be known; received input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (self.kernel_size[1], channels, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=3, axes={-1: channels})

    def call(self, inputs):
        x = array_ops.expand_dims(inputs, 1)
        w = array_ops.expand_dims(self.kernel, 0)
        y = conv_ops.conv2d(x, w, strides=self.strides, padding=self.padding.upper(),
                            dilations=self.dilation_rate)
        y = array_ops.squeeze(y, [1])
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=[self.kernel_size[1]], strides=[self.strides[1]],
                      dilation_rate=[self.dilation_rate[1]])
        return config


class _Pooling1D(Layer):
    _op = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _int1(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _int1(strides, "strides")
        self.padding = _padding(padding)
        self.data_format = _channels_last(data_format)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        y = type(self)._op(array_ops.expand_dims(inputs, 1), (1, self.pool_size),
                           (1, self.strides), self.padding.upper())
        return array_ops.squeeze(y, [1])

    def get_config(self):
        return {**super().get_config(), "pool_size": [self.pool_size],
                "strides": [self.strides], "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    _op = staticmethod(conv_ops.max_pool2d)


class AveragePooling1D(_Pooling1D):
    _op = staticmethod(conv_ops.avg_pool2d)


class _GlobalPooling1D(Layer):
    _reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _channels_last(data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return type(self)._reduce(inputs, axis=1, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over the steps; with a mask (Embedding(mask_zero=True)), over the real ones."""

    _reduce = staticmethod(reduce_ops.reduce_mean)

    def call(self, inputs, mask=None):
        if mask is None:
            return reduce_ops.reduce_mean(inputs, axis=1, keepdims=self.keepdims)
        m = array_ops.expand_dims(math_ops.cast(mask, inputs.dtype), -1)
        total = reduce_ops.reduce_sum(inputs * m, axis=1, keepdims=self.keepdims)
        return total / reduce_ops.reduce_sum(m, axis=1, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling1D):
    _reduce = staticmethod(reduce_ops.reduce_max)


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D


# -- transposed convolution, upsampling, padding ----------------------------------------------

class Conv2DTranspose(Conv2D):
    """The gradient of a convolution with respect to its input, used to upsample.

    The kernel has shape (kh, kw, filters, input channels), as in Keras; the output is
    (H - 1) * stride + kh high with 'valid' padding, H * stride with 'same'.

    Example:
        >>> import tapeflow as tf
        >>> tf.keras.layers.Conv2DTranspose(4, 3, strides=2, padding='same')(
        ...     tf.ones([1, 7, 7, 8])).shape
        TensorShape([1, 14, 14, 4])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), **kwargs):
        if output_padding is not None:
            raise NotImplementedError("Conv2DTranspose(output_padding=...) is not supported")
        if _tuple2(dilation_rate, "dilation_rate") != (1, 1):
            raise NotImplementedError("Conv2DTranspose with dilation_rate != 1 is not supported")
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f'Conv2DTranspose layer "{self.name}": the channel dimension of '
                             f"the inputs must be known; received input shape {input_shape}")
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def _out_size(self, size, k, s):
        if size is None:
            return None
        return size * s if self.padding == "same" else (size - 1) * s + k

    def call(self, inputs):
        n, h, w, _ = inputs.shape.as_list()
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        oh, ow = self._out_size(h, kh, sh), self._out_size(w, kw, sw)
        if n is None or oh is None or ow is None:
            dyn = array_ops.shape(inputs)
            dims = [dyn[0] if n is None else n,
                    dyn[1] * sh + (0 if self.padding == "same" else kh - sh) if oh is None
                    else oh,
                    dyn[2] * sw + (0 if self.padding == "same" else kw - sw) if ow is None
                    else ow, self.filters]
            shape = array_ops.stack([array_ops.cast_int(d) if hasattr(d, "dtype") else d
                                     for d in dims])
        else:
            shape = [n, oh, ow, self.filters]
        # Only the shape of this stand-in for the forward convolution's input is used.
        like = array_ops.zeros(shape, dtype=inputs.dtype)
        attrs = {"strides": self.strides, "padding": self.padding.upper(),
                 "dilations": (1, 1)}
        y = execute(conv_ops._CONV_BP_INPUT, (like, self.kernel, inputs), attrs)
        if n is None and oh is not None and ow is not None:
            # The stand-in's shape was dynamic: state the static output shape again.
            y = array_ops.reshape(y, (-1, oh, ow, self.filters))
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)


Convolution2DTranspose = Conv2DTranspose


class UpSampling2D(Layer):
    """Repeats rows and columns `size` times (nearest-neighbour upsampling)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D supports interpolation='nearest' only, "
                                      f"received {interpolation!r}")
        self.size = _tuple2(size, "size")
        self.data_format = _channels_last(data_format)
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        _, h, w, c = inputs.shape.as_list()
        sh, sw = self.size
        if h is None or w is None or c is None:
            raise ValueError(f'UpSampling2D layer "{self.name}" needs known height, width and '
                             f"channels; received input shape {inputs.shape}")
        # (N, H, 1, W, 1, C) broadcast to (N, H, sh, W, sw, C): each pixel repeated in place.
        x = array_ops.reshape(inputs, (-1, h, 1, w, 1, c))
        x = x * array_ops.ones((1, 1, sh, 1, sw, 1), dtype=inputs.dtype)
        return array_ops.reshape(x, (-1, h * sh, w * sw, c))

    def get_config(self):
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format, "interpolation": self.interpolation}


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros: padding=int, (ph, pw) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, (int, np.integer)):
            pads = ((int(padding),) * 2,) * 2
        elif all(isinstance(p, (int, np.integer)) for p in padding):
            ph, pw = _tuple2(padding, "padding")
            pads = ((ph, ph), (pw, pw))
        else:
            pads = tuple(tuple(int(v) for v in p) for p in padding)
        self.padding = pads
        self.data_format = _channels_last(data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return array_ops.pad(inputs, [[0, 0], list(self.padding[0]), list(self.padding[1]),
                                      [0, 0]])

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}
