"""Argument checks shared by the public op functions, with TensorFlow's errors.

An axis outside [-rank, rank) must raise, never wrap around (NumPy's `axis %
rank` would join `concat([a, a], axis=2)` of two matrices along axis 0); a
shape must hold integers (`tf.zeros([2.5])` is a TypeError, not a truncation).

    >>> normalize_axis("ConcatV2", -1, 2)
    1
    >>> normalize_axis("ConcatV2", 2, 2)
    Traceback (most recent call last):
    ...
    tapeflow.framework.errors.InvalidArgumentError: Expected axis in the range [-2, 2), ...
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.framework import errors


def normalize_axis(op_name: str, axis, rank: int, message: str | None = None,
                   cls=errors.InvalidArgumentError) -> int:
    """`axis` in [0, rank), from one in [-rank, rank); else an error of class `cls`.

    Args:
        op_name: the op named in the error (`cls` an OpError) or its prefix.
        axis: a Python or NumPy integer, or a 0-d integer tensor value.
        rank: the number of valid axes (rank + 1 for ops inserting one, like stack).
        message: the error text, with `{axis}`, `{lo}` and `{hi}` filled in.
        cls: the error class (TF raises ValueError for some Python-level checks).
    """
    if isinstance(axis, (float, np.floating, bool)):
        raise TypeError(f"{op_name}: axis must be an integer, got {axis!r} of type "
                        f"{type(axis).__name__}")
    a = int(axis)
    if rank is None:            # unknown while tracing: the kernel resolves a negative axis
        return a
    if not -rank <= a < rank:
        text = (message or "Expected axis in the range [{lo}, {hi}), but got {axis}").format(
            axis=a, lo=-rank, hi=rank)
        if issubclass(cls, errors.OpError):
            raise errors.op_error(op_name, text, cls)
        raise cls(text)
    return a + rank if a < 0 else a


def check_unique_axes(op_name: str, axes, message: str = "axis {axis} specified more than "
                      "once.") -> None:
    """Raises InvalidArgumentError when normalized `axes` repeat one."""
    seen = set()
    for a in axes:
        if a in seen:
            raise errors.op_error(op_name, message.format(axis=a))
        seen.add(a)


def shape_dims(value, dtype_name: str = "int32"):
    """Raises TypeError (as TF's conversion does) when a shape holds non-integers."""
    for d in value if type(value) in (list, tuple) else (value,):
        if type(d) is not int and (isinstance(d, (float, np.floating)) or (
                isinstance(d, np.ndarray) and d.dtype.kind in "fc")):
            raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {dtype_name}: "
                            f"a shape holds integers, got {d!r}")


def check_non_negative_dims(op_name: str, dims) -> None:
    """A shape to create (zeros, ones, fill) may not have a negative size."""
    for d in dims:
        if d is not None and d < 0:
            raise errors.op_error(op_name, f"Dimension {d} must be >= 0 (shape {list(dims)})")


def split_sizes(num_or_sizes, dim, axis):
    """The part sizes of `tf.split` along an axis of size `dim` (None: unknown): from a
    number of equal parts, or from sizes of which one may be -1 (the rest)."""
    if isinstance(num_or_sizes, (int, np.integer)):
        n = int(num_or_sizes)
        if n <= 0 or dim is None or dim % n:
            raise errors.op_error("Split", f"Number of ways to split should evenly divide the "
                                  f"split dimension, but got split_dim {axis} (size = {dim}) "
                                  f"and num_split {n}")
        return [dim // n] * n
    sizes = list(num_or_sizes)
    if dim is None:
        return sizes
    if len(sizes) == 1 and sizes[0] != dim:
        raise errors.op_error("SplitV", f"If there is only one output, it must have the same "
                              f"size as the input. Input size: {dim} output size: {sizes[0]}")
    if -1 in sizes:
        sizes[sizes.index(-1)] = dim - (sum(sizes) + 1)
    if sum(sizes) != dim or min(sizes) < 0:
        raise errors.op_error("SplitV", f"Determined shape must either match input shape along "
                              f"split_dim exactly if fully specified, or be less than the size "
                              f"of the input along split_dim if not; sizes {sizes} vs dim {dim}")
    return sizes


def check_paddings(mode: str, paddings, dims) -> None:
    """TF's limits for `tf.pad`: no negative padding; a mirror reaches at most the
    dimension size (REFLECT: less than it, as the edge row is not repeated)."""
    p = paddings
    if (p < 0).any():
        k = int(np.argwhere(p < 0)[0][0])
        raise errors.op_error("PadV2" if mode == "CONSTANT" else "MirrorPad",
                              f"Paddings must be non-negative: {p[k, 0]} {p[k, 1]}")
    if mode == "CONSTANT":
        return
    for (lo, hi), d in zip(p.tolist(), dims):
        limit = d if d is None or mode == "SYMMETRIC" else d - 1
        if limit is not None and (lo > limit or hi > limit):
            raise errors.op_error("MirrorPad", f"paddings must be less than"
                                  f"{' or equal to' if mode == 'SYMMETRIC' else ''} the "
                                  f"dimension size: {lo}, {hi} not less than {d}")


def reshape_dims(dims, in_dims):
    """The target shape of a reshape of a tensor of shape `in_dims` (fully known), with
    its -1 resolved, by TF's rules: sizes of 0 are left out of both products, so that
    `reshape(zeros([0, 2]), [0, -1])` has shape (0, 2). (This runs on every eager
    reshape: plain loops and math.prod, as np.prod costs microseconds.)"""
    n = math.prod(in_dims)
    if -1 not in dims:
        if math.prod(dims) != n or min(dims, default=0) < 0:
            _reshape_error(dims, n, None)
        return dims
    product, has_zero = 1, False
    for d in dims:
        if d > 0:
            product *= d
        elif d == 0:
            has_zero = True
        elif d < -1:
            _reshape_error(dims, n, None)
    nonzero_in = math.prod(d for d in in_dims if d > 0) if has_zero else n
    missing = nonzero_in // product
    if product * missing != nonzero_in and not (has_zero and 0 in in_dims) or \
            dims.count(-1) > 1:
        _reshape_error(dims, n, product)
    dims = list(dims)
    dims[dims.index(-1)] = missing
    return dims


def _reshape_error(dims, n, product):
    for k, d in enumerate(dims):
        if d < -1:
            raise errors.op_error("Reshape", f"Size {k} must be non-negative, not {d}")
    if dims.count(-1) > 1:
        raise errors.op_error("Reshape", f"only one input size may be -1, not both; "
                              f"shape={list(dims)}")
    if product is not None:
        raise errors.op_error("Reshape", f"Input to reshape is a tensor with {n} values, but "
                              f"the requested shape requires a multiple of {product}")
    raise errors.op_error("Reshape", f"Input to reshape is a tensor with {n} values, but the "
                          f"requested shape has {math.prod(dims)}")
