"""Layers that merge a list of tensors: Concatenate, Add, Subtract, Multiply, Average,
Maximum, Minimum.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Concatenate()([tf.ones([2, 3]), tf.ones([2, 1])]).shape
    TensorShape([2, 4])
"""
from __future__ import annotations

from functools import reduce

from tapeflow.keras.layers.base import Layer
from tapeflow.ops import array_ops, math_ops


class _Merge(Layer):
    _min_inputs = 2

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self._min_inputs:
            n = len(inputs) if isinstance(inputs, (list, tuple)) else 1
            raise ValueError(f'A merge layer ("{self.name}") should be called on a list of at '
                             f"least {self._min_inputs} inputs; received {n} "
                             f"({type(inputs).__name__})")

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs):
        self._check(inputs)
        return self._merge(list(inputs))


class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        super().build(input_shape)
        # Checked here, so a functional build fails at the layer, naming it.
        rank = len(input_shape[0])
        if not -rank <= int(self.axis) < rank:
            raise ValueError(f'Concatenate layer "{self.name}": axis={self.axis} is out of range '
                             f"for inputs of rank {rank} (shapes {list(input_shape)}); expected "
                             f"an axis in [{-rank}, {rank}).")

    def _merge(self, inputs):
        return array_ops.concat(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Add(_Merge):
    def _merge(self, inputs):
        return reduce(math_ops.add, inputs)


class Subtract(_Merge):
    def _merge(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f'Subtract layer "{self.name}" expects exactly 2 inputs, received '
                             f"{len(inputs)}")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    def _merge(self, inputs):
        return reduce(math_ops.multiply, inputs)


class Average(_Merge):
    def _merge(self, inputs):
        return reduce(math_ops.add, inputs) * (1.0 / len(inputs))


class Maximum(_Merge):
    def _merge(self, inputs):
        return reduce(math_ops.maximum, inputs)


class Minimum(_Merge):
    def _merge(self, inputs):
        return reduce(math_ops.minimum, inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)
