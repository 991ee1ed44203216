"""`keras.initializers`: the starting values of layer weights (Keras defaults).

Dense and Conv2D kernels default to `GlorotUniform` (uniform in +-sqrt(6 /
(fan_in + fan_out))) and biases to `Zeros`, as in Keras, so training curves
start from the same distribution. Random draws come from tapeflow's seeded
generator: `tf.random.set_seed(s)` makes them reproducible.

    >>> import tapeflow as tf
    >>> w = tf.keras.initializers.GlorotUniform(seed=1)((3, 2))
    >>> bool(abs(w.numpy()).max() <= (6 / 5) ** 0.5)
    True
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope
from tapeflow.framework.tensor import Tensor
from tapeflow.ops import random_ops


def _fans(shape):
    """(fan_in, fan_out) as Keras computes them (conv kernels: receptive field x channels)."""
    shape = tuple(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: `init(shape, dtype)` returns a Tensor of that shape."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return Tensor(np.zeros(tuple(shape), dtypes.as_dtype(dtype or "float32")._np))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return Tensor(np.ones(tuple(shape), dtypes.as_dtype(dtype or "float32")._np))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return Tensor(np.full(tuple(shape), self.value, dtypes.as_dtype(dtype or "float32")._np))

    def get_config(self):
        return {"value": self.value}


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(_Random):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        with init_scope():
            return random_ops.uniform(tuple(shape), self.minval, self.maxval,
                                      dtype=dtypes.as_dtype(dtype or "float32"), seed=self.seed)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        with init_scope():
            return random_ops.normal(tuple(shape), self.mean, self.stddev,
                                     dtype=dtypes.as_dtype(dtype or "float32"), seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        with init_scope():
            return random_ops.truncated_normal(tuple(shape), self.mean, self.stddev,
                                               dtype=dtypes.as_dtype(dtype or "float32"),
                                               seed=self.seed)


class VarianceScaling(_Random):
    """Scale / fan, drawn truncated-normal, normal or uniform (the Glorot/He/LeCun family)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg'; received {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError("distribution must be 'truncated_normal', 'untruncated_normal' or "
                             f"'uniform'; received {distribution!r}")
        self.scale, self.mode = scale, mode
        self.distribution = "truncated_normal" if distribution == "normal" else distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        dtype = dtypes.as_dtype(dtype or "float32")
        with init_scope():
            if self.distribution == "uniform":
                limit = math.sqrt(3.0 * scale)
                return random_ops.uniform(tuple(shape), -limit, limit, dtype=dtype, seed=self.seed)
            if self.distribution == "truncated_normal":
                # 0.8796... is the stddev of a unit normal truncated at +-2.
                std = math.sqrt(scale) / 0.87962566103423978
                return random_ops.truncated_normal(tuple(shape), 0.0, std, dtype=dtype,
                                                   seed=self.seed)
            return random_ops.normal(tuple(shape), 0.0, math.sqrt(scale), dtype=dtype,
                                     seed=self.seed)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class Orthogonal(_Random):
    """A random orthogonal matrix (rows or columns orthonormal), times `gain`; for shapes of
    rank > 2 the leading dimensions are flattened (Keras's rule)."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"The Orthogonal initializer needs a shape of rank >= 2, received "
                             f"{shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        with init_scope():
            a = random_ops.normal((max(rows, cols), min(rows, cols)), dtype="float64",
                                  seed=self.seed)._value
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))          # makes the decomposition (and q) unique
        if rows < cols:
            q = q.T
        value = (self.gain * q).reshape(shape).astype(dtypes.as_dtype(dtype or "float32")._np)
        return Tensor(value)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


def _preset(name, scale, mode, distribution):
    class _Init(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale, mode, distribution, seed)

        def get_config(self):
            return {"seed": self.seed}

    _Init.__name__ = _Init.__qualname__ = name
    return _Init


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")

_ALIASES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "uniform": RandomUniform,
    "random_uniform": RandomUniform, "normal": RandomNormal, "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
}
_CLASSES = {c.__name__: c for c in set(_ALIASES.values())}


def get(identifier):
    """An initializer from a name ('glorot_uniform'), a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer: expected one of {sorted(_ALIASES)}, "
                             f"received {identifier!r}")
        return cls()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown initializer class {identifier.get('class_name')!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret initializer identifier: expected a string, dict or "
                    f"callable, received {identifier!r} of type {type(identifier).__name__}")


def serialize(init) -> dict:
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    raise ValueError(f"Cannot serialize initializer {init!r}: not a keras Initializer")


deserialize = get
