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

import numpy as np

from tapeflow.backend import blas


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

    Each block of the product (`blas.matmul`'s split over the pool) is multiplied
    by (y > 0) on the thread that made it, while it is in cache.
    """
    a, b = _operands(a, b, transpose_a, transpose_b)
    if a.ndim != 2 or b.ndim != 2:
        out = np.matmul(a, b).reshape(out_shape)
        return np.multiply(out, y > 0, out=out)
    mask_of = y.reshape(a.shape[0], b.shape[1])

    def epilogue(block, rows, cols):
        np.multiply(block, mask_of[rows, cols] > 0, out=block)
    return blas.matmul(a, b, epilogue=epilogue).reshape(out_shape)
