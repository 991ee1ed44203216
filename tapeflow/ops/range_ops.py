"""`tf.range` with bounds that are only known when a traced function runs.

`tf.range` on Python numbers or eager tensors makes a constant
(`array_ops.range`); inside `tf.function` with a symbolic bound it adds a
`Range` op whose length is unknown until the graph runs.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def evens(n):
    ...     return tf.range(0, n, 2)
    >>> evens(tf.constant(7)).numpy()
    array([0, 2, 4, 6], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape


def _range_kernel(start, limit, delta, dtype):
    if delta == 0:
        raise errors.op_error("Range", f"Requires delta != 0: {delta}")
    return np.arange(start, limit, delta, dtype=dtype)


_RANGE = OpDef("Range", _range_kernel, NO_GRADIENT,
               shape_fn=lambda i, a: [(TensorShape([None]), dtypes.from_numpy(a["dtype"]))])


def traced_range(start, limit, delta, dtype):
    """The Range op on (possibly symbolic) scalar bounds; `limit=None` means `range(start)`."""
    if limit is None:
        start, limit = 0, start
    bounds = [as_input(v) for v in (start, limit, delta)]
    if dtype is None:
        kinds = [b.dtype for b in bounds]
        dtype = next((k for k in kinds if k.is_floating),
                     next((b.dtype for b in bounds if b._is_symbolic), dtypes.int32))
    dtype = dtypes.as_dtype(dtype)
    for b in bounds:
        if b.shape.rank not in (None, 0):
            raise errors.InvalidArgumentError(
                f"tf.range: start, limit and delta must be scalars; got shape {b.shape}.")
    return execute(_RANGE, tuple(bounds), {"dtype": dtype._np})
