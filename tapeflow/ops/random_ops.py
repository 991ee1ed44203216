"""Random tensors (`tf.random.*`), seeded and reproducible.

`tf.random.normal`, `uniform` and `truncated_normal` give TensorFlow's numbers:
their seeds are derived from `tf.random.set_seed` and the op seed as TF derives
them, and each op instance draws from its own Philox4x32-10 stream as TF's
kernels do (`_random_seed.py`); the mean, scale and bounds are applied with
ordinary ops in the draw's dtype, as TF applies them; `shuffle`, `categorical`
and dropout's mask too. The process-wide NumPy generator (`_rng`, reset by
`set_seed`) is left to `tf.data`'s shuffling.
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
from tapeflow.ops import _philox, _random_seed

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
    _random_seed.reset(_global_seed)


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


def _philox_kernel(draw):
    """A kernel drawing `draw(key, counter, n, dtype)` from the op instance's stream."""
    def kernel(shape, dtype, stream, seed, seed2):
        n = int(np.prod(shape, dtype=np.int64))
        key, counter = stream.reserve(n)
        return draw(key, counter, n, dtype).reshape(shape)
    kernel.__name__ = kernel.__qualname__ = draw.__name__
    return kernel


def _uniform_int_kernel(shape, dtype, stream, seed, seed2, minval, maxval):
    n = int(np.prod(shape, dtype=np.int64))
    if n and not minval < maxval:                   # TF checks only if it draws
        raise errors.op_error("RandomUniformInt", f"Need minval < maxval, got {minval} >= "
                              f"{maxval}")
    key, counter = stream.reserve(n)
    return _philox.uniform_int(key, counter, n, dtype, minval, maxval).reshape(shape)


_NORMAL = OpDef("RandomStandardNormal", _shape_attr_or_input(_philox_kernel(_philox.normal)),
                NO_GRADIENT, shape_fn=_spec, stateful=True)
_UNIFORM = OpDef("RandomUniform", _shape_attr_or_input(_philox_kernel(_philox.uniform)),
                 NO_GRADIENT, shape_fn=_spec, stateful=True)
_UNIFORM_INT = OpDef("RandomUniformInt", _shape_attr_or_input(_uniform_int_kernel), NO_GRADIENT,
                     shape_fn=_spec, stateful=True)
_TRUNC = OpDef("TruncatedNormal", _shape_attr_or_input(_philox_kernel(_philox.truncated_normal)),
               NO_GRADIENT, shape_fn=_spec, stateful=True)


def _seeded_draw(op, shape, dtype, seed, extra=None):
    """Runs `op` with TF's (seed, seed2) for `seed` and the op instance's Philox stream."""
    seed1, seed2 = _random_seed.get_seed(_global_seed, seed)
    stream = _random_seed.stream_for(op.name, dtype, seed1, seed2)
    return _draw(op, shape, {"dtype": dtype, "stream": stream, "seed": seed1, "seed2": seed2,
                             **(extra or {})})


def stream_draw(op, shape, dtype, stream, extra=None):
    """Runs `op` (`_NORMAL`, `_UNIFORM`, ...) drawing from a given stream, its seeds those
    the stream was keyed by (the SavedModel reader's nodes, seeded as written)."""
    seed1, seed2 = stream.seeds
    return _draw(op, shape, {"dtype": dtype, "stream": stream, "seed": seed1, "seed2": seed2,
                             **(extra or {})})


def _scaled(draw, scale, shift, dtype):
    """draw * scale + shift in the draw's dtype, as TF's Python wrappers compute it."""
    from tapeflow.ops import math_ops
    from tapeflow.framework.op import convert_to_tensor
    dt = dtypes.as_dtype(dtype)
    return math_ops.add(math_ops.multiply(draw, convert_to_tensor(scale, dt)),
                        convert_to_tensor(shift, dt))


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
    """Samples from a normal distribution: TF's numbers for TF's seeds.

        >>> import tapeflow as tf
        >>> tf.random.set_seed(5)
        >>> tf.random.normal([3], seed=1).numpy()
        array([-1.3768897 , -0.01258316, -0.169515  ], dtype=float32)
    """
    dt = _float_dtype(dtype, "normal")
    return _scaled(_seeded_draw(_NORMAL, shape, dt, seed), stddev, mean, dt)


@tf_export("random.uniform")
def uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Samples uniformly from [minval, maxval) (maxval defaults to 1 for floats)."""
    dtype = dtypes.as_dtype(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError("Must specify maxval for integer dtype in tf.random.uniform.")
        maxval = 1
    if dtype.is_integer:
        return _seeded_draw(_UNIFORM_INT, shape, dtype._np, seed,
                            {"minval": int(_scalar(minval)), "maxval": int(_scalar(maxval))})
    draw = _seeded_draw(_UNIFORM, shape, dtype._np, seed)
    if type(minval) is int and minval == 0 and type(maxval) is int and maxval == 1:
        return draw
    from tapeflow.ops import math_ops
    from tapeflow.framework.op import convert_to_tensor
    lo, hi = convert_to_tensor(minval, dtype), convert_to_tensor(maxval, dtype)
    return _scaled(draw, math_ops.subtract(hi, lo), lo, dtype)


@tf_export("random.truncated_normal")
def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal samples, redrawn when more than two standard deviations from the mean."""
    dt = _float_dtype(dtype, "truncated_normal")
    return _scaled(_seeded_draw(_TRUNC, shape, dt, seed), stddev, mean, dt)


def _shuffle_kernel(x, stream, seed, seed2):
    n = x.shape[0] if x.ndim else 0
    if n <= 1 or x.size <= 1:           # nothing to shuffle: TF draws nothing either
        return x.copy()
    # TF's kernel: one 32-bit word per swap, i <-> i + word % (n - i), for i = 0 .. n-2.
    key, counter = stream.reserve_blocks((n - 1 + 3) // 4)
    words = _philox.blocks(key, counter, (n - 1 + 3) // 4)[:n - 1].astype(np.int64)
    order = list(range(n))                 # swaps on a list: ~10x faster than on an array
    for i, j in enumerate((np.arange(n - 1) + words % np.arange(n, 1, -1)).tolist()):
        order[i], order[j] = order[j], order[i]
    return x[np.asarray(order)]


_SHUFFLE = OpDef("RandomShuffle", _shuffle_kernel, NO_GRADIENT,
                 shape_fn=lambda i, a: [(i[0].shape, i[0].dtype)], stateful=True)


def _seeded_attrs(op_name, dtype, seed):
    seed1, seed2 = _random_seed.get_seed(_global_seed, seed)
    return {"stream": _random_seed.stream_for(op_name, dtype, seed1, seed2), "seed": seed1,
            "seed2": seed2}


@tf_export("random.shuffle")
def shuffle(value, seed=None, name=None):
    """Shuffles along the first dimension: TF's order for TF's seeds.

        >>> import tapeflow as tf
        >>> tf.random.set_seed(5)
        >>> tf.random.shuffle(tf.range(5)).numpy()
        array([0, 4, 1, 3, 2], dtype=int32)
    """
    from tapeflow.framework.op import as_input
    x = as_input(value)
    return execute(_SHUFFLE, (x,), _seeded_attrs("RandomShuffle", x.dtype._np, seed))


def _categorical_kernel(logits, num_samples, dtype, stream, seed, seed2):
    from tapeflow.ops import stateless_random_ops
    rows = logits.shape[0] if logits.ndim == 2 else 0
    # TF's kernel reserves 512 blocks per sample, samples rounded up to a multiple of 4,
    # then draws as the stateless kernel does from the reserved counter.
    key, counter = stream.reserve_blocks(rows * (-(-int(num_samples) // 4) * 4) * 512)
    state = np.array([counter[0] | counter[1] << 32, counter[2] | counter[3] << 32,
                      key[0] | key[1] << 32], np.uint64).view(np.int64)
    return stateless_random_ops._multinomial_kernel(logits, state, num_samples, dtype)


_CATEGORICAL = OpDef("Multinomial", _categorical_kernel, NO_GRADIENT,
                     shape_fn=lambda i, a: [(TensorShape([i[0].shape[0], a["num_samples"]]),
                                             dtypes.from_numpy(np.dtype(a["dtype"])))],
                     stateful=True)


@tf_export("random.categorical")
def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """Class indices drawn from each row of unnormalised log-probabilities (TF's numbers)."""
    from tapeflow.framework.op import as_input
    x = as_input(logits)
    out = dtypes.as_dtype(dtype or dtypes.int64)._np
    # TF caches the kernel by both dtypes: another output dtype is another stream.
    return execute(_CATEGORICAL, (x,), {
        "num_samples": int(num_samples), "dtype": out,
        **_seeded_attrs("Multinomial", (x.dtype._np, out), seed)})
