"""Stateless random ops (`tf.random.stateless_*`): TensorFlow's numbers for TensorFlow's seeds.

The same `(shape, seed)` gives the same values on every call, and the values
TensorFlow 2.21 gives on a CPU: the Philox4x32-10 stream and the way TF turns
its words into numbers are reproduced bit for bit in `_philox.py`.

    >>> import tapeflow as tf
    >>> tf.random.stateless_uniform([3], seed=[1, 2]).numpy()
    array([0.8440604 , 0.19204533, 0.9962232 ], dtype=float32)

Every op here takes the Philox state as an int64 vector `[counter_low,
counter_high, key]`, the layout of a `tf.random.Generator`'s state: a seed pair
is first hashed into one (`StatelessRandomGetKeyCounter`); a Generator reads its
own and moves it on (`random_generator.py`). Random draws have no gradient; the
mean / scale / bounds are applied with ordinary ops, which do.
"""
from __future__ import annotations

import math
import os

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.ops import _philox, math_ops
from tapeflow.ops.random_ops import _shape_arg

_FLOATS = (dtypes.float16, dtypes.float32, dtypes.float64)
_UNIFORM_DTYPES = _FLOATS + (dtypes.int32, dtypes.int64, dtypes.uint32, dtypes.uint64)


# -- the Philox state: from a seed pair, and back to a key and counter ------------

def key_counter(state):
    """(key, counter) uint32 tuples of an int64 `[counter_low, counter_high, key]` vector."""
    c_lo, c_hi, key = (int(v) for v in np.asarray(state).reshape(-1)[:3])
    return _philox.split64(key), _philox.split64(c_lo) + _philox.split64(c_hi)


def _get_key_counter_kernel(seed):
    seed = np.asarray(seed)
    if seed.shape != (2,):
        raise ValueError(f"seed must have shape [2], not {list(seed.shape)}")
    key, counter = _philox.scramble(int(seed[0]), int(seed[1]))
    words = [counter[0] | counter[1] << 32, counter[2] | counter[3] << 32, key[0] | key[1] << 32]
    return np.array(words, dtype=np.uint64).view(np.int64)


_GET_KEY_COUNTER = OpDef("StatelessRandomGetKeyCounter", _get_key_counter_kernel, NO_GRADIENT,
                         shape_fn=lambda i, a: [(TensorShape([3]), dtypes.int64)])


def seed_to_state(seed) -> Tensor:
    """The Philox state a stateless op derives from its seed pair (int32 or int64, shape [2])."""
    seed = as_input(seed)
    if seed.dtype not in (dtypes.int32, dtypes.int64):
        raise _invalid(f"Value for attr 'Tseed' of {seed.dtype.name} is not in the list of "
                             "allowed values: int32, int64", "StatelessRandomGetKeyCounter")
    if seed.shape.rank is not None and seed.shape.as_list() not in ([2], [None]):
        raise _invalid(f"seed must have shape [2], not {seed.shape.as_list()}",
                             "StatelessRandomGetKeyCounter")
    return execute(_GET_KEY_COUNTER, (seed,))


def _invalid(message, op_name):
    return errors.op_error(op_name, message)


# -- the distribution ops -----------------------------------------------------

def _size(shape):
    for d in shape:
        if d < 0:
            raise ValueError(f"Dimension {d} must be >= 0")
    return math.prod(shape)


def _uniform_kernel(state, shape, dtype):
    key, counter = key_counter(state)
    return _philox.uniform(key, counter, _size(shape), dtype).reshape(shape)


def _normal_kernel(state, shape, dtype):
    key, counter = key_counter(state)
    return _philox.normal(key, counter, _size(shape), dtype).reshape(shape)


def _truncated_normal_kernel(state, shape, dtype):
    key, counter = key_counter(state)
    return _philox.truncated_normal(key, counter, _size(shape), dtype).reshape(shape)


def _full_int_kernel(state, shape, dtype):
    key, counter = key_counter(state)
    return _philox.full_int(key, counter, _size(shape), dtype).reshape(shape)


def _uniform_int_kernel(state, minval, maxval, shape, dtype):
    lo, hi = int(minval), int(maxval)
    if lo >= hi:
        raise ValueError(f"Need minval < maxval, got {lo} >= {hi}")
    key, counter = key_counter(state)
    return _philox.uniform_int(key, counter, _size(shape), dtype, lo, hi).reshape(shape)


def _spec(inputs, attrs):
    dtype = dtypes.from_numpy(np.dtype(attrs["dtype"]))
    if "shape" in attrs:
        return [(TensorShape(attrs["shape"]), dtype)]
    from tapeflow.ops import array_ops
    return [(TensorShape(array_ops.shape_tensor_dims(inputs[-1])), dtype)]


def _op_pair(name, kernel):
    """One op taking its shape as an attribute or, when the shape is known only when a
    traced function runs, as its last input. Returned twice: `draw` picks by position."""
    def run(*arrays, shape=None, **attrs):
        if shape is None:
            shape = tuple(int(d) for d in np.atleast_1d(arrays[-1]))
            arrays = arrays[:-1]
        return kernel(*arrays, shape, **attrs)
    run.__name__ = run.__qualname__ = kernel.__name__
    op = OpDef(name, run, NO_GRADIENT, shape_fn=_spec)
    return op, op


_UNIFORM = _op_pair("StatelessRandomUniformV2", _uniform_kernel)
_NORMAL = _op_pair("StatelessRandomNormalV2", _normal_kernel)
_TRUNCATED = _op_pair("StatelessTruncatedNormalV2", _truncated_normal_kernel)
_FULL_INT = _op_pair("StatelessRandomUniformFullIntV2", _full_int_kernel)
_UNIFORM_INT = _op_pair("StatelessRandomUniformIntV2", _uniform_int_kernel)


def draw(ops, state, shape, dtype, extra=()):
    """Runs one of the op pairs above on a Philox state (used by Generator too)."""
    dims, shape_tensor = _shape_arg(shape)
    attrs = {"dtype": dtype._np}
    if shape_tensor is None:
        attrs["shape"] = dims
        return execute(ops[0], (state, *extra), attrs)
    return execute(ops[1], (state, *extra, shape_tensor), attrs)


# -- public functions: shared with Generator -------------------------------------

def _as_float_dtype(dtype, accepted=_FLOATS):
    dtype = dtypes.as_dtype(dtype)
    if accepted is _FLOATS and dtype not in accepted:
        # TF fails converting the mean to the dtype: a TypeError.
        raise TypeError(f"Normal values need a floating dtype (float16, float32 or float64); "
                        f"got {dtype.name}.")
    if dtype not in accepted:
        raise ValueError(f"Argument `dtype` got invalid value {dtype!r}. Accepted dtypes are "
                         f"({', '.join('tf.' + d.name for d in accepted)}).")
    return dtype


def _param(value, dtype, what):
    if isinstance(value, Tensor) or getattr(value, "_is_variable", False):
        return value
    if dtype.is_integer and isinstance(value, float):
        raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {dtype.name} "
                        f"(argument `{what}`)")
    return convert_to_tensor(value, dtype)


def normal_from_state(state, shape, mean, stddev, dtype):
    """`rnd * stddev + mean` with `rnd` standard normals from `state`."""
    dtype = _as_float_dtype(dtype)
    mean, stddev = _param(mean, dtype, "mean"), _param(stddev, dtype, "stddev")
    return math_ops.add(math_ops.multiply(draw(_NORMAL, state, shape, dtype), stddev), mean)


def truncated_normal_from_state(state, shape, mean, stddev, dtype):
    dtype = _as_float_dtype(dtype)
    mean, stddev = _param(mean, dtype, "mean"), _param(stddev, dtype, "stddev")
    return math_ops.add(math_ops.multiply(draw(_TRUNCATED, state, shape, dtype), stddev), mean)


def check_int_bounds(dtype, minval, maxval, message):
    if dtype.is_integer and (minval is None) != (maxval is None):
        raise ValueError(message)


def uniform_from_state(state, shape, minval, maxval, dtype):
    """Floats `rnd * (maxval - minval) + minval`, or integers in [minval, maxval), or
    full-range integers when both bounds are None."""
    if dtype.is_integer and minval is None:
        return draw(_FULL_INT, state, shape, dtype)
    if maxval is None:
        maxval = 1
    lo, hi = _param(minval, dtype, "minval"), _param(maxval, dtype, "maxval")
    if dtype.is_integer:
        if lo.shape.rank or hi.shape.rank:
            raise ValueError("minval and maxval must be scalars for integer dtypes; got shapes "
                             f"{lo.shape} and {hi.shape}")
        return draw(_UNIFORM_INT, state, shape, dtype, (lo, hi))
    rnd = draw(_UNIFORM, state, shape, dtype)
    return math_ops.add(math_ops.multiply(rnd, math_ops.subtract(hi, lo)), lo)


@tf_export("random.stateless_uniform")
def stateless_random_uniform(shape, seed, minval=0, maxval=None, dtype=dtypes.float32,
                             name=None, alg="auto_select"):
    """Uniform values in [minval, maxval), the same as TensorFlow's for the same seed.

    Floats default to [0, 1); integers need both bounds, or neither for the full
    range of the dtype (`minval=None, maxval=None`).

        >>> import tapeflow as tf
        >>> tf.random.stateless_uniform([4], seed=[1, 2], minval=0, maxval=10,
        ...                             dtype=tf.int32).numpy()
        array([0, 9, 4, 9], dtype=int32)
    """
    dtype = _as_float_dtype(dtype, _UNIFORM_DTYPES)
    if dtype.is_integer:
        check_int_bounds(dtype, minval, maxval, (
            f"For integer `dtype` argument {dtype!r}, argument `minval` and `maxval` must be "
            f"both None or not None. Got `minval`={minval} and `maxval`={maxval}."))
        if minval is not None and dtype.is_unsigned:
            raise ValueError(f"Argument `dtype` got invalid value {dtype!r} when argument "
                             "`minval` is not None. Please don't use unsigned integers in "
                             "this case.")
    return uniform_from_state(_state_of(seed, alg), shape, minval, maxval, dtype)


@tf_export("random.stateless_normal")
def stateless_random_normal(shape, seed, mean=0.0, stddev=1.0, dtype=dtypes.float32, name=None,
                            alg="auto_select"):
    """Normal values with the given mean and standard deviation; TensorFlow's for the seed.

        >>> import tapeflow as tf
        >>> tf.random.stateless_normal([2], seed=[1, 2]).numpy()
        array([0.5441101 , 0.20738031], dtype=float32)
    """
    return normal_from_state(_state_of(seed, alg), shape, mean, stddev, dtype)


@tf_export("random.stateless_truncated_normal")
def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=dtypes.float32,
                               name=None, alg="auto_select"):
    """Normal values, those beyond two standard deviations redrawn; TensorFlow's for the seed."""
    return truncated_normal_from_state(_state_of(seed, alg), shape, mean, stddev, dtype)


def _state_of(seed, alg):
    from tapeflow.ops import random_generator
    random_generator.check_stateless_alg(alg)
    return seed_to_state(seed)


# -- categorical ---------------------------------------------------------------------

def _threads() -> int:
    from tapeflow.backend import blas
    n = blas.get_intra_op_parallelism_threads()
    if n:
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not on Linux
        return os.cpu_count() or 1


def _divup(a, b):
    return -(-a // b)


def _shards(rows: int, cost: int, threads: int):
    """The row ranges TF's CPU kernel hands to its threads (Eigen's parallelFor cost model).

    Each range restarts the stream at `start * (num_samples + 3) // 4` blocks, so the
    values depend on the split, and the split on the thread count, as in TF.
    """
    total = rows * float(cost)
    if threads <= 1 or rows <= 1 or min(threads, max(1, int((total - 1e5) / 1e5 + 0.9))) == 1:
        return [(0, rows)]
    size = min(rows, max(_divup(rows, 4 * threads), int(40000 / cost)))
    largest = min(rows, 2 * size)
    count = _divup(rows, size)
    best = count / (_divup(count, threads) * threads)
    prev = count
    while best < 1.0 and prev > 1:       # coarser blocks while the threads stay as busy
        coarser = _divup(rows, prev - 1)
        if coarser > largest:
            break
        prev = _divup(rows, coarser)
        efficiency = prev / (_divup(prev, threads) * threads)
        if efficiency + 0.01 >= best:
            size, count, best = coarser, prev, max(best, efficiency)
    return [(i * size, min(rows, (i + 1) * size)) for i in range(count)]


def _multinomial_kernel(logits, state, num_samples, dtype):
    if logits.ndim != 2:
        raise ValueError(f"logits should be a matrix, got shape {list(logits.shape)}")
    if num_samples < 0:
        raise ValueError(f"num_samples should be non-negative, got {num_samples}")
    rows, classes = logits.shape
    out = np.zeros((rows, num_samples), dtype)
    if rows == 0 or num_samples == 0 or classes == 0:
        return out
    key, counter = key_counter(state)
    cost = int(50 * (num_samples * math.log(classes) / math.log(2) + classes))
    lowest = float(np.finfo(logits.dtype).min)
    for start, stop in _shards(rows, cost, _threads()):
        n = num_samples * (stop - start)
        words = _philox.blocks(key, counter, _divup(2 * n, 4), start=start * (num_samples + 3) // 4)
        u = _philox.bits_to_float64(words[0::2], words[1::2])[:n].reshape(stop - start, -1)
        for r in range(start, stop):
            row = logits[r].astype(np.float64)
            finite = np.isfinite(row)
            top = row[finite].max() if finite.any() else lowest
            # Unnormalised cumulative probabilities; infinite / NaN logits add nothing.
            cdf = np.cumsum(np.where(finite, np.exp(row - top), 0.0))
            out[r] = np.searchsorted(cdf, u[r - start] * cdf[-1], side="right")
    return out


_MULTINOMIAL = OpDef(
    "StatelessMultinomial", _multinomial_kernel, NO_GRADIENT,
    shape_fn=lambda i, a: [(TensorShape([i[0].shape[0], a["num_samples"]]),
                            dtypes.from_numpy(np.dtype(a["dtype"])))])


@tf_export("random.stateless_categorical")
def stateless_categorical(logits, num_samples, seed, dtype=dtypes.int64, name=None):
    """Class indices drawn from each row of unnormalised log-probabilities; TF's for the seed.

        >>> import tapeflow as tf
        >>> tf.random.stateless_categorical(tf.math.log([[0.5, 0.5]]), 5, seed=[7, 17]).shape
        TensorShape([1, 5])
    """
    dtype = dtypes.as_dtype(dtype or dtypes.int64)
    if dtype not in (dtypes.int32, dtypes.int64):
        raise ValueError(f"Argument `dtype` got invalid value {dtype!r}. Accepted dtypes are "
                         "(tf.int32, tf.int64).")
    return execute(_MULTINOMIAL, (as_input(logits), seed_to_state(seed)),
                   {"num_samples": int(num_samples), "dtype": dtype._np})


# -- seeds from seeds ---------------------------------------------------------------------

@tf_export("random.split")
def split(seed, num=2, alg="auto_select"):
    """`num` new seed pairs (shape [num, 2], the seed's dtype) derived from `seed`."""
    seed = as_input(seed)
    return stateless_random_uniform([num, 2], seed, minval=None, maxval=None, dtype=seed.dtype,
                                    alg=alg)


@tf_export("random.fold_in")
def fold_in(seed, data, alg="auto_select"):
    """A new seed pair `[hash(seed), data]` (the seed's hash in `data`'s dtype)."""
    data = as_input(data)
    first = stateless_random_uniform([], seed, minval=None, maxval=None, dtype=data.dtype,
                                     alg=alg)
    from tapeflow.ops import array_ops
    return array_ops.stack([first, data])
