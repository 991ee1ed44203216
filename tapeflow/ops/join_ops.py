"""Joining and splitting tensors: concat, stack, unstack, split, tile, pad, with their
gradients (each other's, mostly). Part of the array-op family: `array_ops` re-exports
these names, so `array_ops.concat` and `tf.concat` are these functions.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import errors
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import _checks
from tapeflow.ops.array_ops import (  # defined above the point where array_ops imports us
    _pyrange, _pyslice, identity, reshape, shape)
from tapeflow.ops.indexing_ops import getitem


def _concat_shape(inputs, attrs):
    axis = attrs["axis"]
    dims = inputs[0].shape.as_list()
    total = 0
    for x in inputs:
        d = x.shape.as_list()[axis]
        total = None if total is None or d is None else total + d
    dims[axis] = total
    return [(TensorShape(dims), inputs[0].dtype)]


def _concat_grad(inputs, outputs, attrs, dy):
    axis = attrs["axis"]
    sizes = [t.shape[axis] for t in inputs]
    if None in sizes:
        sizes = [shape(t)[axis] for t in inputs]
        return tuple(_slice_axis(dy, axis, sizes, i) for i in _pyrange(len(inputs)))
    return tuple(split(dy, sizes, axis=axis))




def _slice_axis(t, axis, sizes, i):
    start = sum(sizes[:i]) if i else 0
    key = [_pyslice(None)] * t.shape.rank
    key[axis] = _pyslice(start, start + sizes[i])
    return getitem(t, tuple(key))


_CONCAT = OpDef("ConcatV2", lambda *xs, axis: np.concatenate(xs, axis=axis), _concat_grad,
                shape_fn=_concat_shape)


def _check_same_dtype(op_name, xs):
    d = xs[0].dtype
    for i, x in enumerate(xs[1:], 1):
        if x.dtype is not d:
            raise errors.op_error(op_name, f"cannot compute {op_name} as input #{i}(zero-based) "
                                  f"was expected to be a {d.name} tensor but is a "
                                  f"{x.dtype.name} tensor")


@tf_export("concat")
def concat(values, axis, name="concat"):
    """Joins tensors along an existing `axis`.

    Example:
        >>> import tapeflow as tf
        >>> tf.concat([[[1, 2]], [[3, 4]]], axis=1).numpy()
        array([[1, 2, 3, 4]], dtype=int32)
    """
    xs = [as_input(v) for v in values]
    if not xs:
        raise ValueError("tf.concat needs at least one tensor.")
    if len(xs) == 1:             # TF returns a lone value unchecked, whatever the axis
        return identity(xs[0])
    _check_same_dtype("ConcatV2", xs)
    r = xs[0].shape.rank
    if r == 0:
        raise errors.op_error("ConcatV2", "Can't concatenate scalars (use tf.stack instead)")
    axis = _checks.normalize_axis("ConcatV2", axis, r, "ConcatOp : Expected concatenating "
                                  "dimensions in the range [{lo}, {hi}), but got {axis}")
    for i, x in enumerate(xs):
        if x.shape.rank != r and None not in (r, x.shape.rank):
            raise errors.op_error("ConcatV2", f"Ranks of all input tensors should match: shape[0] "
                                  f"= {xs[0].shape} vs. shape[{i}] = {x.shape}")
    if len(xs) == 1:
        return identity(xs[0])
    return execute(_CONCAT, tuple(xs), {"axis": axis})


def _stack_shape(inputs, attrs):
    dims = inputs[0].shape.as_list()
    dims.insert(attrs["axis"], len(inputs))
    return [(TensorShape(dims), inputs[0].dtype)]


_STACK = OpDef("Pack", lambda *xs, axis: np.stack(xs, axis=axis),
               lambda inputs, outputs, attrs, dy: tuple(unstack(dy, num=len(inputs),
                                                               axis=attrs["axis"])),
               shape_fn=_stack_shape, grad_uses_outputs=False)


@tf_export("stack")
def stack(values, axis=0, name="stack"):
    """Joins tensors of the same shape along a new `axis`.

    Example:
        >>> import tapeflow as tf
        >>> tf.stack([[1., 2.], [3., 4.]], axis=1).numpy()
        array([[1., 3.],
               [2., 4.]], dtype=float32)
    """
    xs = [as_input(v) for v in values]
    if not xs:
        raise ValueError("tf.stack needs at least one tensor.")
    _check_same_dtype("Pack", xs)
    r = xs[0].shape.rank
    axis = _checks.normalize_axis("stack", axis, None if r is None else r + 1,
                                  "Argument `axis` = {axis} not in range [{lo}, {hi})",
                                  cls=ValueError)
    for i, x in enumerate(xs):
        if not x.shape.is_compatible_with(xs[0].shape):
            raise errors.op_error("Pack", f"Shapes of all inputs must match: values[0].shape = "
                                  f"{xs[0].shape} != values[{i}].shape = {x.shape}")
    return execute(_STACK, tuple(xs), {"axis": axis})


def _unstack_kernel(x, num, axis):
    if num == 1:                 # a one-output op returns a bare array, not a tuple
        return np.take(x, 0, axis=axis)
    return tuple(np.take(x, i, axis=axis) for i in _pyrange(num))


def _unstack_shape(inputs, attrs):
    dims = inputs[0].shape.as_list()
    del dims[attrs["axis"]]
    return [(TensorShape(dims), inputs[0].dtype)] * attrs["num"]


_UNSTACK = OpDef("Unpack", _unstack_kernel,
                 lambda inputs, outputs, attrs, dy: (stack(list(dy), axis=attrs["axis"]),),
                 shape_fn=_unstack_shape, grad_uses_outputs=False)


_unstack_op = _UNSTACK.with_outputs      # one variant per number of outputs


_UNSTACK_OPS: dict = {}


@tf_export("unstack")
def unstack(value, num=None, axis=0, name="unstack"):
    """Splits along `axis` into a list of tensors of rank one less."""
    x = as_input(value)
    r = x.shape.rank
    if r is None and num is not None:   # traced with an unknown rank: the kernel checks
        return _unstack_ops(x, int(num), int(axis))
    if not r or not -r <= int(axis) < r:
        raise errors.op_error("Unpack", f"axis = {axis} not in [{-(r or 0)}, {r or 0}) for a "
                              f"tensor of shape {x.shape}")
    axis = int(axis) % r
    n = x.shape[axis] if num is None else int(num)
    if n is None:
        raise ValueError(f"Cannot infer argument `num` from shape {x.shape}")
    if x.shape[axis] is not None and n != x.shape[axis]:
        raise errors.op_error("Unpack", f"num = {n} does not match dimension {axis} of shape "
                              f"{x.shape}")
    if n == 1:                   # one slice: a gather, whose gradient is a plain scatter
        from tapeflow.ops import indexing_ops
        return [indexing_ops.gather(x, Tensor(np.int32(0)), axis=axis)]
    return _unstack_ops(x, n, axis)


def _unstack_ops(x, n, axis):
    op = _UNSTACK_OPS.get(n)
    if op is None:
        op = _UNSTACK_OPS[n] = _unstack_op(n)
    if n == 1:
        return [execute(op, (x,), {"num": 1, "axis": axis})]
    return list(execute(op, (x,), {"num": n, "axis": axis}))


def _split_kernel(x, sizes, axis):
    if len(sizes) == 1:          # a one-output op returns a bare array, not a tuple
        return x
    idx = np.cumsum(sizes)[:-1]
    return tuple(np.split(x, idx, axis=axis))


def _split_shape(inputs, attrs):
    out = []
    for s in attrs["sizes"]:
        dims = inputs[0].shape.as_list()
        dims[attrs["axis"]] = s
        out.append((TensorShape(dims), inputs[0].dtype))
    return out


_SPLIT = OpDef("SplitV", _split_kernel,
               lambda inputs, outputs, attrs, dy: (concat(list(dy), axis=attrs["axis"]),),
               shape_fn=_split_shape, grad_uses_outputs=False)


@tf_export("split")
def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Splits into `n` equal parts or parts of the given sizes (one may be -1) along `axis`.

    Example:
        >>> import tapeflow as tf
        >>> [t.shape for t in tf.split(tf.ones((2, 6)), [1, -1], axis=1)]
        [TensorShape([2, 1]), TensorShape([2, 5])]
    """
    x = as_input(value)
    r = x.shape.rank
    axis = _checks.normalize_axis("Split", axis, r, f"-input rank(-{r}) <= split_dim < input "
                                  f"rank ({r}), but got {{axis}}")
    raw = num_or_size_splits
    if not isinstance(raw, (int, np.integer)):
        raw = [int(s) for s in (raw._value.tolist() if isinstance(raw, Tensor) else raw)]
    sizes = _checks.split_sizes(raw, x.shape[axis], axis)
    if len(sizes) == 1:          # one part: the input itself
        return [identity(x)]
    op = _SPLIT.with_outputs(len(sizes))
    out = execute(op, (x,), {"sizes": tuple(sizes), "axis": axis})
    return [out] if len(sizes) == 1 else list(out)


def _tile_grad(inputs, outputs, attrs, dy):
    from tapeflow.ops import reduce_ops
    from tapeflow.ops.array_ops import shape
    m = attrs["multiples"]
    xs = inputs[0].shape
    if xs.is_fully_defined():
        inter = []
        for mi, d in zip(m, xs.as_list()):
            inter += [mi, d]
    else:   # dy as [m0, d0, m1, d1, ...], the d's read from x's shape at run time
        inter = reshape(stack([Tensor(np.asarray(m, np.int32)), shape(inputs[0])], axis=1), [-1])
    g = reshape(dy, inter)
    return (reduce_ops.reduce_sum(g, axis=list(_pyrange(0, 2 * len(m), 2))),)


def _tile_kernel(x, multiples):
    if len(multiples) != x.ndim:   # checked here when the rank was unknown at tracing
        raise ValueError(f"Expected multiples argument to be a vector of length {x.ndim} but "
                         f"got length {len(multiples)}")
    return np.tile(x, multiples)


def _tile_shape(inputs, attrs):
    x, m = inputs[0], attrs["multiples"]
    dims = x.shape.as_list() if x.shape.rank is not None else [None] * len(m)
    return [(TensorShape([None if d is None else d * k for d, k in zip(dims, m)]), x.dtype)]


_TILE = OpDef("Tile", _tile_kernel, _tile_grad, shape_fn=_tile_shape)


@tf_export("tile")
def tile(input, multiples, name=None):  # noqa: A002
    """Repeats `input` `multiples[i]` times along each dim i.

    Example:
        >>> import tapeflow as tf
        >>> tf.tile([[1, 2]], [2, 2]).numpy()
        array([[1, 2, 1, 2],
               [1, 2, 1, 2]], dtype=int32)
    """
    x = as_input(input)
    raw = multiples._value.tolist() if isinstance(multiples, Tensor) else multiples
    m = tuple(int(v) for v in raw)
    if x.shape.rank is not None and len(m) != x.shape.rank:
        raise errors.op_error("Tile", f"Expected multiples argument to be a vector of length "
                              f"{x.shape.rank} but got length {len(m)}")
    return execute(_TILE, (x,), {"multiples": m})


def _pad_kernel(x, paddings, mode, constant_values):
    if len(paddings) != x.ndim:    # checked here when the rank was unknown at tracing
        raise ValueError(f"The first dimension of paddings must be the rank of inputs"
                         f"[{len(paddings)},2] {list(x.shape)}")
    if mode == "CONSTANT":
        return np.pad(x, paddings, mode="constant", constant_values=constant_values)
    _checks.check_paddings(mode, np.asarray(paddings), x.shape)
    return np.pad(x, paddings, mode="reflect" if mode == "REFLECT" else "symmetric")


def _pad_grad(inputs, outputs, attrs, dy):
    if attrs["mode"] != "CONSTANT":
        return (execute(_PAD_GRAD_MIRROR, (inputs[0], dy), attrs),)
    shape = inputs[0].shape
    dims = shape.as_list() if shape.rank is not None else [None] * len(attrs["paddings"])
    key = tuple(_pyslice(lo, lo + d if d is not None else -hi or None)
                for (lo, hi), d in zip(attrs["paddings"], dims))
    return (getitem(dy, key),)


def _mirror_pad_grad_kernel(x, dy, paddings, mode, constant_values):
    # Adjoint of mirror padding: fold each padded border back onto the values it copied.
    g = np.array(dy, copy=True)
    for ax, (lo, hi) in enumerate(paddings):
        n = x.shape[ax]
        off = 0 if mode == "SYMMETRIC" else 1
        core = [_pyslice(None)] * g.ndim
        core[ax] = _pyslice(lo, lo + n)
        body = g[tuple(core)].copy()
        for i in _pyrange(lo):
            src = [_pyslice(None)] * g.ndim
            src[ax] = i
            dst = [_pyslice(None)] * g.ndim
            dst[ax] = lo - i - 1 + off
            body[tuple(dst)] += g[tuple(src)]
        for i in _pyrange(hi):
            src = [_pyslice(None)] * g.ndim
            src[ax] = lo + n + i
            dst = [_pyslice(None)] * g.ndim
            dst[ax] = n - 1 - i - off
            body[tuple(dst)] += g[tuple(src)]
        g = body
    return g


# Folding borders back is linear in dy, and its adjoint is mirror padding again.
_PAD_GRAD_MIRROR = OpDef("MirrorPadGrad", _mirror_pad_grad_kernel,
                         lambda inputs, outputs, attrs, g: (None, execute(_PAD, (g,), attrs)),
                         shape_fn=lambda i, a: [(i[0].shape, i[0].dtype)])


def _pad_shape(inputs, attrs):
    x, p = inputs[0], attrs["paddings"]
    dims = x.shape.as_list() if x.shape.rank is not None else [None] * len(p)
    return [(TensorShape([None if d is None else d + lo + hi for d, (lo, hi) in zip(dims, p)]),
             x.dtype)]


_PAD = OpDef("PadV2", _pad_kernel, _pad_grad, shape_fn=_pad_shape)


@tf_export("pad")
def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """Pads with `constant_values` (or mirrors, for 'REFLECT'/'SYMMETRIC').

    Example:
        >>> import tapeflow as tf
        >>> tf.pad([[1, 2]], [[0, 0], [1, 2]]).numpy()
        array([[0, 1, 2, 0, 0]], dtype=int32)
    """
    x = as_input(tensor)
    p = np.asarray(paddings._value if isinstance(paddings, Tensor) else paddings, dtype=np.int64)
    if p.ndim != 2 or p.shape[1] != 2 or (x.shape.rank is not None
                                          and p.shape[0] != x.shape.rank):
        raise errors.op_error("PadV2", f"paddings must be a matrix with 2 columns and one row per "
                              f"dimension of the input ({x.shape.rank}); got shape {p.shape}")
    mode = mode.upper()
    if mode not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise ValueError(f"tf.pad: mode must be CONSTANT, REFLECT or SYMMETRIC; got {mode!r}")
    _checks.check_paddings(mode, p, x.shape.as_list() if x.shape.rank is not None else [])
    return execute(_PAD, (x,), {"paddings": tuple(map(tuple, p.tolist())), "mode": mode,
                                "constant_values": constant_values})
