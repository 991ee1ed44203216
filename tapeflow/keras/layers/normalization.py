"""BatchNormalization and LayerNormalization.

BatchNormalization, as in Keras 3: in training it normalizes with the batch's
mean and (biased) variance and moves the moving statistics towards them
(`moving = moving * momentum + batch * (1 - momentum)`); at inference it uses
the moving statistics. They are non-trainable weights.

    >>> import tapeflow as tf
    >>> bn = tf.keras.layers.BatchNormalization()
    >>> y = bn(tf.ones([4, 3]), training=True)
    >>> [w.name for w in bn.weights]
    ['batch_normalization/gamma:0', 'batch_normalization/beta:0', \
'batch_normalization/moving_mean:0', 'batch_normalization/moving_variance:0']
"""
from __future__ import annotations

from tapeflow.keras.layers.weight_args import set_weight_args, weight_config, weight_kwargs
from tapeflow.keras.layers.base import Layer
from tapeflow.ops import array_ops, math_ops, nn_ops, reduce_ops


def _moments(x, axes, keepdims):
    """Mean and biased variance over `axes`.

    The variance is taken of `x - mean` with the mean differentiable (no
    stop_gradient shift): the first derivative is the same either way, but only
    this form has the right second derivative.
    """
    mean = reduce_ops.reduce_mean(x, axis=axes, keepdims=True)
    var = reduce_ops.reduce_mean(math_ops.square(x - mean), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = array_ops.squeeze(mean, axes)
    return mean, var


def _axes(axis, rank):
    axes = [axis] if isinstance(axis, int) else list(axis)
    return [a % rank for a in axes]


class BatchNormalization(Layer):
    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, fused=None, synchronized=False, **kwargs):
        if renorm:
            raise NotImplementedError("BatchNormalization(renorm=True) is not supported")
        super().__init__(**kwargs)
        set_weight_args(self, locals(), "beta", "gamma", "moving_mean", "moving_variance")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = center, scale

    def build(self, input_shape):
        rank = input_shape.rank
        axes = _axes(self.axis, rank)
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f'BatchNormalization layer "{self.name}": axis {self.axis} of the '
                             f"input must have a known size; received input shape {input_shape}")
        self.gamma = (self.add_weight("gamma", shape, **weight_kwargs(self, "gamma"))
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, **weight_kwargs(self, "beta"))
                     if self.center else None)
        self.moving_mean = self.add_weight("moving_mean", shape, trainable=False,
                                           **weight_kwargs(self, "moving_mean"))
        self.moving_variance = self.add_weight("moving_variance", shape, trainable=False,
                                               **weight_kwargs(self, "moving_variance"))
        self._reduce_axes = [a for a in range(rank) if a not in axes]
        # Parameters broadcast against the input: (C,) for the last axis, else reshaped.
        self._param_shape = None if axes == [rank - 1] else [
            input_shape[a] if a in axes else 1 for a in range(rank)]

    def _param(self, p):
        return p if self._param_shape is None or p is None else array_ops.reshape(
            p, self._param_shape)

    def call(self, inputs, training=None):
        # A frozen BatchNormalization runs in inference mode (Keras's fine-tuning rule).
        if training and self.trainable:
            mean, var = _moments(inputs, self._reduce_axes, keepdims=False)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + var * (1.0 - m))
            mean, var = self._param(mean), self._param(var)
        else:
            mean, var = self._param(self.moving_mean), self._param(self.moving_variance)
        return nn_ops.batch_normalization(inputs, mean, var, self._param(self.beta),
                                          self._param(self.gamma), self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **weight_config(self, "beta", "gamma", "moving_mean", "moving_variance")}


class LayerNormalization(Layer):
    """Normalizes each example over `axis` (default last), then scales and shifts."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        if rms_scaling:
            raise NotImplementedError("LayerNormalization(rms_scaling=True) is not supported")
        super().__init__(**kwargs)
        set_weight_args(self, locals(), "beta", "gamma")
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale = center, scale

    def build(self, input_shape):
        rank = input_shape.rank
        self._axes = _axes(self.axis, rank)
        shape = tuple(input_shape[a] for a in self._axes)
        self.gamma = (self.add_weight("gamma", shape, **weight_kwargs(self, "gamma"))
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, **weight_kwargs(self, "beta"))
                     if self.center else None)
        self._param_shape = None if self._axes == list(range(rank - len(shape), rank)) else [
            input_shape[a] if a in self._axes else 1 for a in range(rank)]

    def call(self, inputs):
        mean, var = _moments(inputs, self._axes, keepdims=True)
        gamma, beta = self.gamma, self.beta
        if self._param_shape is not None:
            gamma = None if gamma is None else array_ops.reshape(gamma, self._param_shape)
            beta = None if beta is None else array_ops.reshape(beta, self._param_shape)
        return nn_ops.batch_normalization(inputs, mean, var, beta, gamma, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, **weight_config(self, "beta", "gamma")}

