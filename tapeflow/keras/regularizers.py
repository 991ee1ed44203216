"""`keras.regularizers`: weight penalties added to the training loss (`model.losses`).

    >>> import tapeflow as tf
    >>> float(tf.keras.regularizers.L2(0.5)(tf.constant([1., 2.])))
    2.5
"""
from __future__ import annotations

from tapeflow.keras.utils.registry import get_object, serialize_object
from tapeflow.ops import math_ops, reduce_ops


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        out = 0.0
        if self.l1:
            out = out + self.l1 * reduce_ops.reduce_sum(math_ops.abs(x))
        if self.l2:
            out = out + self.l2 * reduce_ops.reduce_sum(math_ops.square(x))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    return get_object("regularizer", _BY_NAME, identifier)


def serialize(reg):
    return serialize_object("regularizer", Regularizer, reg)
