"""`keras.optimizers.schedules`: learning rates as functions of the step.

A schedule is called with the optimizer's `iterations` and returns a scalar
tensor built from tapeflow ops, so the same schedule works eagerly and inside
`tf.function`.

    >>> import tapeflow as tf
    >>> s = tf.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> round(float(s(10)), 6)
    0.05
"""
from __future__ import annotations

import math

from tapeflow.framework import dtypes
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import is_tensor
from tapeflow.ops import math_ops

_F32 = dtypes.float32


def _step(step):
    if is_tensor(step):
        return math_ops.cast(step, _F32)
    return convert_to_tensor(float(step), _F32)


class LearningRateSchedule:
    """Base class: `__call__(step)` returns the learning rate for that step."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_decay_steps(name, decay_steps):
    """`decay_steps` must be a positive number (as Keras checks in every decay schedule)."""
    if isinstance(decay_steps, bool) or not isinstance(decay_steps, (int, float)) \
            or decay_steps <= 0:
        raise ValueError(f"{name}: argument `decay_steps` must be > 0. Received: "
                         f"decay_steps={decay_steps!r}")
    return decay_steps


class _RateDecay(LearningRateSchedule):
    """A schedule of `decay_rate` every `decay_steps` (continuous, or floored if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _check_decay_steps(type(self).__name__, decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = staircase
        self.name = name or type(self).__name__

    def _progress(self, step):
        p = _step(step) / float(self.decay_steps)
        return math_ops.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (floored if staircase)."""

    def __call__(self, step):
        return self.initial_learning_rate * math_ops.pow(
            convert_to_tensor(self.decay_rate, _F32), self._progress(step))


class InverseTimeDecay(_RateDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps)."""

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[i] while step <= boundaries[i] (values has one more entry than boundaries)."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: expected len(values) == "
                             f"len(boundaries) + 1, received {len(values)} values and "
                             f"{len(boundaries)} boundaries")
        self.boundaries = list(boundaries)
        self.values = [float(v) for v in values]
        self.name = name

    def __call__(self, step):
        s = _step(step)
        out = convert_to_tensor(self.values[-1], _F32)
        for b, v in reversed(list(zip(self.boundaries, self.values[:-1]))):
            out = math_ops.where(s <= float(b), convert_to_tensor(v, _F32), out)
        return out

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from initial_learning_rate to alpha * initial over decay_steps."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _check_decay_steps("CosineDecay", decay_steps)
        self.alpha = float(alpha)
        self.name = name

    def __call__(self, step):
        p = math_ops.minimum(_step(step), float(self.decay_steps)) / float(self.decay_steps)
        cosine = 0.5 * (1.0 + math_ops.cos(math.pi * p))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name}


_CLASSES = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay,
                                      PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    return _CLASSES[config["class_name"]].from_config(config["config"])
