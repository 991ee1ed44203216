"""Preprocessing layers with state learned from data: Normalization (`adapt`).

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> norm = tf.keras.layers.Normalization()
    >>> norm.adapt(np.array([[0., 10.], [2., 30.]]))
    >>> norm(np.array([[1., 20.]])).numpy()
    array([[0., 0.]], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.context import name_scope
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.keras import backend
from tapeflow.keras.layers.base import Layer
from tapeflow.ops import array_ops, math_ops


class Normalization(Layer):
    """(inputs - mean) / max(sqrt(variance), epsilon), per feature along `axis`.

    The mean and variance come from `mean=`/`variance=` or from `adapt(data)`; they are
    non-trainable weights ('mean', 'variance', 'count'), as in Keras.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if invert:
            raise NotImplementedError("Normalization(invert=True) is not supported")
        self.axis = (axis,) if isinstance(axis, int) else tuple(axis or ())
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: pass both `mean` and `variance`, or neither (and "
                             f"call adapt()); received mean={mean!r}, variance={variance!r}")
        self._init_mean, self._init_variance = mean, variance

    def _feature_shape(self, shape):
        rank = len(shape)
        axes = [a % rank for a in self.axis]
        return axes, tuple(shape[a] for a in axes)

    def build(self, input_shape):
        dims = list(input_shape)
        axes, feat = self._feature_shape(dims)
        if any(d is None for d in feat):
            raise ValueError(f'Normalization layer "{self.name}": axis {self.axis} of the input '
                             f"must have a known size; received input shape {input_shape}")
        self._axes = axes
        self._broadcast = [dims[a] if a in axes else 1 for a in range(len(dims))]
        self.mean = self.add_weight("mean", feat, initializer="zeros", trainable=False)
        self.variance = self.add_weight("variance", feat, initializer="ones", trainable=False)
        self.count = self.add_weight("count", (), initializer="zeros", dtype="int64",
                                     trainable=False)
        if self._init_mean is not None:
            self.mean.assign(np.broadcast_to(np.asarray(self._init_mean, np.float32), feat))
            self.variance.assign(np.broadcast_to(np.asarray(self._init_variance, np.float32),
                                                 feat))

    def adapt(self, data, batch_size=None, steps=None):
        """Sets mean and variance from `data` (an array, a tensor or a dataset of batches)."""
        if isinstance(data, Tensor):
            data = np.asarray(data._value)
        if isinstance(data, (np.ndarray, list, tuple)):
            batches = [np.asarray(data, np.float64)]
        else:
            batches = [np.asarray(b[0]._value if isinstance(b, tuple) else getattr(
                b, "_value", b), np.float64) for i, b in enumerate(data)
                if steps is None or i < steps]
        if not batches or batches[0].size == 0:
            raise ValueError("Normalization.adapt: received no data")
        if not self.built:
            with name_scope(self._name):
                self._maybe_build_shape(TensorShape([None] + list(batches[0].shape[1:])))
        n, mean, m2 = 0, 0.0, 0.0
        for b in batches:       # Chan et al.'s parallel update: batches of any size
            reduce_axes = tuple(a for a in range(b.ndim) if a not in self._axes)
            bn = int(np.prod([b.shape[a] for a in reduce_axes]))
            bm = b.mean(axis=reduce_axes)
            bv = b.var(axis=reduce_axes)
            delta = bm - mean
            total = n + bn
            mean = mean + delta * bn / total
            m2 = m2 + bv * bn + delta ** 2 * n * bn / total
            n = total
        self.mean.assign(np.asarray(mean, np.float32).reshape(self.mean.shape.as_list()))
        self.variance.assign(np.asarray(m2 / n, np.float32).reshape(
            self.variance.shape.as_list()))
        self.count.assign(np.int64(n))

    def call(self, inputs):
        mean = array_ops.reshape(self.mean, self._broadcast)
        std = math_ops.maximum(math_ops.sqrt(array_ops.reshape(self.variance, self._broadcast)),
                               backend.epsilon())
        return (inputs - mean) / std

    def get_config(self):
        mean = None if self._init_mean is None else np.asarray(self._init_mean).tolist()
        var = None if self._init_variance is None else np.asarray(self._init_variance).tolist()
        return {**super().get_config(), "axis": list(self.axis), "mean": mean, "variance": var}
