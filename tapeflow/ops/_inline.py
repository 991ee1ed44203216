"""Inline forms: what an op declares (`OpDef(inline=...)`) for a `tf.function` plan to
write a direct NumPy expression instead of its kernel call.

A kernel re-decides at each call what tracing already knows (attrs, dtypes);
for the small tensors of a small model that wrapper work costs as much as the
arithmetic (`np.sum`'s Python wrapper is twice the reduction it calls). An
inline form is `inline(node, context) -> (template, constants)` or None (keep
the kernel): `{0}`, `{1}`, ... in the template stand for the inputs, and
`constants` binds the other names it uses. `function/fastpath.py` checks a
template against the kernel (unless the kernel is the ufunc the template
spells) before using it.
"""
from __future__ import annotations

import numpy as np

_DTYPE_NAMES = {np.dtype(np.float32): "_f32", np.dtype(np.float64): "_f64"}
CONSTANTS = {"_matmul": np.matmul, "_add_reduce": np.add.reduce, "_maximum": np.maximum,
             "_f32": np.dtype(np.float32), "_f64": np.dtype(np.float64),
             "_zero_f32": np.zeros((), np.float32), "_zero_f64": np.zeros((), np.float64)}


def float_name(x):
    """The name bound to `x`'s dtype in CONSTANTS ('_f32'), or None (not float32/64)."""
    return _DTYPE_NAMES.get(x.dtype._np)


def binary(template):
    """The inline form of an elementwise ufunc op on two float tensors of one dtype."""
    def inline(node, context):
        a, b = node.inputs
        if float_name(a) is None or a.dtype is not b.dtype or node.attrs:
            return None
        return template, CONSTANTS
    return inline
