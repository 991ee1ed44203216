"""Random tensors (`tf.random.*`), seeded and reproducible.

`tf.random.set_seed(s)` resets one process-wide generator, so a program
that sets the seed and then draws the same sequence of values gets the same
numbers each run. An op-level `seed` gives each op its own stream, derived
from the global seed, the op seed and how many times that seed was used.
Random ops are stateful: inside `tf.function` they draw anew on every call.
A shape known only when the function runs (`tf.shape(x)` with an unknown
batch size) is passed as an input of the op instead of an attribute.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape

_global_seed = None
_generator = np.random.default_rng()
_op_seed_uses: dict = {}


@tf_export("random.set_seed")
def set_seed(seed) -> None:
    """Sets the global random seed; resets every random stream."""
    global _global_seed, _generator
    _global_seed = None if seed is None else int(seed)
    _generator = np.random.default_rng(_global_seed)
    _op_seed_uses.clear()


def get_global_generator_state():
    return _global_seed


def _rng(seed):
    if seed is None:
        return _generator
    key = int(seed)
    n = _op_seed_uses.get(key, 0)
    _op_seed_uses[key] = n + 1
    return np.random.default_rng([_global_seed if _global_seed is not None else 87654321, key, n])


def _dims(shape):
    from tapeflow.ops import _checks
    if not isinstance(shape, TensorShape):     # sizes are integers: [2.0] is an error
        _checks.shape_dims(shape._value if isinstance(shape, Tensor) else shape)
    if isinstance(shape, TensorShape):
        return tuple(shape.as_list())
    if isinstance(shape, Tensor):
        return tuple(int(d) for d in np.atleast_1d(shape._value))
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d._value) if isinstance(d, Tensor) else int(d) for d in shape)


def _shape_arg(shape):
    """(dims, None) for a shape known now; (None, 1-D int32 tensor) for one known only
    when the traced function runs (`tf.shape(x)` with an unknown batch size)."""
    from tapeflow.ops import array_ops
    if getattr(shape, "_is_symbolic", False):
        return None, array_ops.cast_int(shape)
    if isinstance(shape, (list, tuple)) and any(getattr(d, "_is_symbolic", False)
                                                for d in shape):
        return None, array_ops._shape_input(shape)
    return _dims(shape), None


def _spec(inputs, attrs):
    dtype = dtypes.from_numpy(np.dtype(attrs["dtype"]))
    if not inputs:
        return [(TensorShape(attrs["shape"]), dtype)]
    from tapeflow.ops import array_ops
    return [(TensorShape(array_ops.shape_tensor_dims(inputs[0])), dtype)]


def _shape_attr_or_input(kernel):
    """An op kernel drawing `kernel(shape, **attrs)`: the shape is the `shape` attribute,
    or, when known only at run time, the op's one input (an int array)."""
    def run(shape_input=None, *, shape=None, **attrs):
        if shape is None:
            shape = tuple(int(d) for d in np.atleast_1d(shape_input))
        return kernel(shape, **attrs)
    run.__name__ = run.__qualname__ = kernel.__name__
    return run


def _draw(op, shape, attrs):
    dims, shape_tensor = _shape_arg(shape)
    if shape_tensor is None:
        attrs["shape"] = dims
        return execute(op, (), attrs)
    return execute(op, (shape_tensor,), attrs)


def _normal_kernel(shape, dtype, mean, stddev, seed):
    return (_rng(seed).standard_normal(shape, dtype=np.float64) * stddev + mean).astype(dtype)


def _uniform_kernel(shape, dtype, minval, maxval, seed):
    if np.dtype(dtype).kind in "iu":
        if not minval < maxval and int(np.prod(shape)):      # TF checks only if it draws
            raise errors.op_error("RandomUniformInt", f"Need minval < maxval, got {minval} >= "
                                  f"{maxval}")
        return _rng(seed).integers(minval, maxval, size=shape, dtype=dtype)
    rng = _rng(seed)
    # minval + u * (maxval - minval), u in [0, 1), as TF: with minval > maxval the
    # draws fall in (maxval, minval], never on maxval.
    out = (rng.random(shape, dtype=np.float64) * (maxval - minval) + minval).astype(dtype)
    # Rounding to float32/16 can land a draw next to maxval on maxval itself;
    # the interval is half-open, as TF's.
    top = np.nextafter(np.asarray(maxval, dtype), np.asarray(minval, dtype))
    clip = np.minimum if maxval >= minval else np.maximum
    return clip(out, top, out=out) if out.ndim else clip(out, top)


def _truncated_normal_kernel(shape, dtype, mean, stddev, seed):
    rng = _rng(seed)
    out = rng.standard_normal(shape, dtype=np.float64)
    bad = np.abs(out) > 2
    while bad.any():   # resample values beyond two standard deviations, as TF does
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return (out * stddev + mean).astype(dtype)


_NORMAL = OpDef("RandomStandardNormal", _shape_attr_or_input(_normal_kernel), NO_GRADIENT,
                shape_fn=_spec, stateful=True)
_UNIFORM = OpDef("RandomUniform", _shape_attr_or_input(_uniform_kernel), NO_GRADIENT,
                 shape_fn=_spec, stateful=True)
_TRUNC = OpDef("TruncatedNormal", _shape_attr_or_input(_truncated_normal_kernel), NO_GRADIENT,
               shape_fn=_spec, stateful=True)


def _scalar(v):
    return float(v._value) if isinstance(v, Tensor) else v


def _float_dtype(dtype, what):
    """Normal draws exist in floating dtypes only (TF: its float mean and stddev do not
    convert to an integer dtype)."""
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError(f"tf.random.{what}: dtype must be floating, got {dtype.name}; draw "
                        f"floats and tf.cast them.")
    return dtype._np


@tf_export("random.normal")
def normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Samples from a normal distribution.

        >>> import tapeflow as tf
        >>> tf.random.set_seed(0); a = tf.random.normal([2])
        >>> tf.random.set_seed(0); b = tf.random.normal([2])
        >>> bool(tf.reduce_all(a == b))
        True
    """
    return _draw(_NORMAL, shape, {
        "dtype": _float_dtype(dtype, "normal"), "mean": _scalar(mean),
        "stddev": _scalar(stddev),
        "seed": seed})


@tf_export("random.uniform")
def uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Samples uniformly from [minval, maxval) (maxval defaults to 1 for floats)."""
    dtype = dtypes.as_dtype(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError("Must specify maxval for integer dtype in tf.random.uniform.")
        maxval = 1
    return _draw(_UNIFORM, shape, {
        "dtype": dtype._np, "minval": _scalar(minval), "maxval": _scalar(maxval), "seed": seed})


@tf_export("random.truncated_normal")
def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal samples, redrawn when more than two standard deviations from the mean."""
    return _draw(_TRUNC, shape, {
        "dtype": _float_dtype(dtype, "truncated_normal"), "mean": _scalar(mean),
        "stddev": _scalar(stddev),
        "seed": seed})


def _shuffle_kernel(x, seed):
    return _rng(seed).permutation(x)


_SHUFFLE = OpDef("RandomShuffle", _shuffle_kernel, NO_GRADIENT,
                 shape_fn=lambda i, a: [(i[0].shape, i[0].dtype)], stateful=True)


@tf_export("random.shuffle")
def shuffle(value, seed=None, name=None):
    """Shuffles along the first dimension."""
    from tapeflow.framework.op import as_input
    return execute(_SHUFFLE, (as_input(value),), {"seed": seed})


def _categorical_kernel(logits, num_samples, dtype, seed):
    rng = _rng(seed)
    z = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return np.stack([rng.choice(p.shape[-1], size=num_samples, p=row) for row in p]).astype(dtype)


_CATEGORICAL = OpDef("Multinomial", _categorical_kernel, NO_GRADIENT,
                     shape_fn=lambda i, a: [(TensorShape([i[0].shape[0], a["num_samples"]]),
                                             dtypes.from_numpy(np.dtype(a["dtype"])))],
                     stateful=True)


@tf_export("random.categorical")
def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    from tapeflow.framework.op import as_input
    return execute(_CATEGORICAL, (as_input(logits),), {
        "num_samples": int(num_samples), "dtype": dtypes.as_dtype(dtype or dtypes.int64)._np,
        "seed": seed})
