"""`tf.random.Generator`: a Philox stream whose state lives in a Variable, as TF's.

The state is an int64 Variable `[counter_low, counter_high, key]`. Each draw
reads the state, moves the counter on by 256 blocks per output value (TF's
reservation, which leaves room for truncated normals' redraws), and computes
the values from the old state with the stateless kernels. The same seed
therefore gives TensorFlow's numbers and TensorFlow's state after every call:

    >>> import tapeflow as tf
    >>> g = tf.random.Generator.from_seed(1234)
    >>> g.state.numpy()
    array([1234,    0,    0])
    >>> _ = g.normal(shape=(2, 3))
    >>> g.state.numpy()
    array([2770,    0,    0])
"""
from __future__ import annotations

import enum
import math
import os
import threading

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.variables import Variable
from tapeflow.ops import stateless_random_ops as stateless

_STATE_SIZE = 3            # Philox: a 128-bit counter and a 64-bit key, as int64 words
_BLOCKS_PER_VALUE = 256    # counter advance per output value (TF's reservation)
_U64 = (1 << 64) - 1


class Algorithm(enum.Enum):
    """`tf.random.Algorithm`: the RNG algorithms (tapeflow runs Philox; AUTO_SELECT is
    Philox on the CPU, as in TF)."""

    PHILOX = 1
    THREEFRY = 2
    AUTO_SELECT = 3


def _alg_error(alg):
    if isinstance(alg, str):
        names = ("philox", "threefry", "auto_select")
    elif isinstance(alg, int):
        names = (1, 2, 3)
    else:
        names = tuple(Algorithm)
    return ValueError(f"Argument `alg` got unsupported value {alg}. Supported values are "
                      f"{names[0]} for the Philox algorithm, {names[1]} for the ThreeFry "
                      f"algorithm, and {names[2]} for auto-selection.")


def convert_alg_to_int(alg) -> int:
    """1 (Philox), 2 (ThreeFry) or 3 (auto-select) from a name, an Algorithm or an int."""
    if isinstance(alg, Algorithm):
        return alg.value
    if isinstance(alg, (int, np.integer)) and not isinstance(alg, bool):
        return int(alg)
    if isinstance(alg, str):
        canon = alg.strip().lower().replace("-", "").replace("_", "")
        table = {"philox": 1, "threefry": 2, "autoselect": 3}
        if canon in table:
            return table[canon]
        raise _alg_error(alg)
    raise TypeError(f"Can't convert argument `alg` (of value {alg} and type {type(alg)}) to "
                    "int.")


def _check_alg(alg, op_name):
    value = convert_alg_to_int(alg)
    if value not in (1, 2, 3):
        raise _alg_error(alg)
    if value == 2:
        # TF runs ThreeFry only under XLA; its CPU kernels refuse it.
        raise errors.op_error(op_name, "Non-XLA devices don't support the ThreeFry algorithm.",
                              errors.UnimplementedError)
    return value


def check_stateless_alg(alg):
    """Stateless ops take Philox or auto-select (Philox on the CPU)."""
    if alg is not None and convert_alg_to_int(alg) == 2:
        # TF's CPU kernels reject ThreeFry's one-word counter as an invalid argument.
        raise errors.op_error("StatelessRandomUniformV2", "The ThreeFry algorithm needs XLA; "
                              "the CPU kernels run Philox ('philox' or 'auto_select').")
    if alg is not None:
        _check_alg(alg, "StatelessRandomUniformV2")


# -- state construction (TF's seed -> state rules) ---------------------------------

def _signed(n: int) -> int:
    n &= _U64
    return n - (1 << 64) if n >= 1 << 63 else n


@tf_export("random.create_rng_state")
def create_rng_state(seed, alg) -> Tensor:
    """The state of a Generator made from `seed`: an int splits into 64-bit words, low
    word first; a shorter vector of words is padded with zeros on the left (so that a
    small seed lands in the key, not the counter)."""
    convert_alg_to_int(alg)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seed, words = int(seed), []
        for _ in range(_STATE_SIZE):
            words.append(seed & _U64)
            seed >>= 64          # Python's shift: a negative seed fills with ones, as TF
    else:
        value = seed._value if isinstance(seed, Tensor) or getattr(seed, "_is_variable",
                                                                   False) else seed
        words = [int(v) for v in np.asarray(value).reshape(-1)[:_STATE_SIZE]]
        words = [0] * (_STATE_SIZE - len(words)) + words
    return Tensor(np.array([_signed(w) for w in words], dtype=np.int64))


def _state_array(state) -> np.ndarray:
    value = state._value if isinstance(state, Tensor) or getattr(state, "_is_variable",
                                                                 False) else state
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        arr = arr.astype(np.int64)
    flat = [_signed(int(v)) for v in arr.reshape(-1)]
    if arr.ndim != 1 or len(flat) != _STATE_SIZE:
        raise ValueError(f"Shapes {tuple(arr.shape)} and [{_STATE_SIZE}] are incompatible")
    return np.array(flat, dtype=np.int64)


# -- the read-and-skip op -------------------------------------------------------------

_skip_lock = threading.Lock()


def _read_and_skip_kernel(state, delta):
    """The state before the draw; the Variable's counter moves on by 256 blocks a value.

    Read and update happen under a lock (TF holds the variable's mutex): two threads
    drawing from one generator never get the same numbers.
    """
    with _skip_lock:
        old = state.copy()
        lo, hi = int(state[0]) & _U64, int(state[1]) & _U64
        counter = ((hi << 64) | lo) + (int(delta) & _U64) * _BLOCKS_PER_VALUE
        state[0] = _signed(counter & _U64)
        state[1] = _signed((counter >> 64) & _U64)
    return old


_READ_AND_SKIP = OpDef("RngReadAndSkip", _read_and_skip_kernel, NO_GRADIENT,
                       shape_fn=lambda i, a: [(TensorShape([_STATE_SIZE]), dtypes.int64)],
                       stateful=True)


def _num_values(shape):
    dims, shape_tensor = stateless._shape_arg(shape)
    if shape_tensor is not None:
        from tapeflow.ops import math_ops, reduce_ops
        return math_ops.cast(reduce_ops.reduce_prod(shape_tensor), dtypes.int64)
    return math.prod(dims)


class Generator:
    """A random-number generator with TensorFlow's streams (Philox4x32-10).

    Make one with `from_seed`, `from_non_deterministic_state`, `from_state`,
    `from_key_counter`, or `Generator(copy_from=other)`. Each draw advances the
    state, so successive calls give new numbers; `reset_from_seed` starts over.

    Args:
        copy_from: another Generator whose state and algorithm are copied.
        state: the initial state (3 int64 words), or a Variable to use as it is.
        alg: 'philox', 'auto_select' (Philox on the CPU), an `Algorithm` or 1 / 3.
    """

    def __init__(self, copy_from=None, state=None, alg=None):
        if copy_from is not None:
            if state is not None or alg is not None:
                raise ValueError("Generator(copy_from=...) takes no `state` or `alg`.")
            self._alg = copy_from.algorithm
            self._state_var = self._make_variable(copy_from.state.numpy())
            return
        if state is None or alg is None:
            raise ValueError("Generator needs `copy_from`, or both `state` and `alg`; use "
                             "Generator.from_seed(seed) to start from a seed.")
        self._alg = convert_alg_to_int(alg)
        if getattr(state, "_is_variable", False):
            _state_array(state)
            self._state_var = state
        else:
            self._state_var = self._make_variable(_state_array(state))

    @staticmethod
    def _make_variable(value):
        return Variable(np.asarray(value, np.int64), trainable=False, name="StateVar")

    # -- constructors ------------------------------------------------------------------
    @classmethod
    def from_state(cls, state, alg):
        """A generator starting from `state` (3 int64 words for Philox)."""
        return cls(state=state, alg=alg)

    @classmethod
    def from_seed(cls, seed, alg=None):
        """A generator whose state is made from `seed` (an int or a vector of ints)."""
        alg = convert_alg_to_int(Algorithm.PHILOX if alg is None else alg)
        return cls(state=create_rng_state(seed, alg), alg=alg)

    @classmethod
    def from_non_deterministic_state(cls, alg=None):
        """A generator seeded from the operating system's entropy."""
        alg = convert_alg_to_int(Algorithm.PHILOX if alg is None else alg)
        words = np.frombuffer(os.urandom(8 * _STATE_SIZE), dtype=np.int64).copy()
        return cls(state=words, alg=alg)

    @classmethod
    def from_key_counter(cls, key, counter, alg):
        """A generator with the given key (a scalar) and counter (2 words)."""
        return cls(state=_key_counter_state(key, counter), alg=alg)

    # -- state -------------------------------------------------------------------------
    @property
    def state(self) -> Variable:
        """The int64 Variable `[counter_low, counter_high, key]`."""
        return self._state_var

    @property
    def algorithm(self) -> int:
        return self._alg

    @property
    def key(self) -> Tensor:
        """The key part of the state (its last word)."""
        return Tensor(self._state_var.numpy()[-1])

    def reset(self, state):
        """Sets the state (3 int64 words)."""
        self._state_var.assign(_state_array(state))

    def reset_from_seed(self, seed):
        """Starts over as `Generator.from_seed(seed)` would."""
        self._state_var.assign(create_rng_state(seed, self._alg))

    def reset_from_key_counter(self, key, counter):
        self._state_var.assign(_key_counter_state(key, counter))

    def skip(self, delta):
        """Advances the state as drawing `delta` values would; returns the old state."""
        _check_alg(self._alg, "RngReadAndSkip")
        if isinstance(delta, Tensor) and delta._is_symbolic:
            return execute(_READ_AND_SKIP_DYN, (self._state_var, delta))
        return execute(_READ_AND_SKIP, (self._state_var,), {"delta": int(np.asarray(
            delta._value if isinstance(delta, Tensor) else delta))})

    def _take(self, shape):
        return self.skip(_num_values(shape))

    def _trackable_children(self) -> dict:
        """What a checkpoint saves: the state Variable (TF's name for it)."""
        return {"_state_var": self._state_var}

    # -- distributions -------------------------------------------------------------------
    def normal(self, shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, name=None):
        """Normal values; the same as TF's for the same state."""
        return stateless.normal_from_state(self._take(shape), shape, mean, stddev,
                                           dtypes.as_dtype(dtype))

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, name=None):
        """Normal values, redrawn beyond two standard deviations."""
        return stateless.truncated_normal_from_state(self._take(shape), shape, mean, stddev,
                                                     dtypes.as_dtype(dtype))

    def uniform(self, shape, minval=0, maxval=None, dtype=dtypes.float32, name=None):
        """Uniform values in [minval, maxval) (floats default to [0, 1); integers need
        `maxval`, or `minval=maxval=None` for the dtype's full range)."""
        dtype = dtypes.as_dtype(dtype)
        stateless.check_int_bounds(dtype, minval, maxval, (
            f"For integer dtype {dtype!r}, minval and maxval must be both `None` or both "
            f"non-`None`; got minval={minval} and maxval={maxval}"))
        return stateless.uniform_from_state(self._take(shape), shape, minval, maxval, dtype)

    def uniform_full_int(self, shape, dtype=dtypes.uint64, name=None):
        """Integers over the whole range of `dtype`."""
        return stateless.uniform_from_state(self._take(shape), shape, None, None,
                                            dtypes.as_dtype(dtype))

    def make_seeds(self, count=1) -> Tensor:
        """`count` seed pairs for stateless ops, as a [2, count] int64 tensor."""
        from tapeflow.ops import array_ops
        keys = self.uniform_full_int([count], dtype=dtypes.int64)
        return array_ops.stack([keys, array_ops.zeros_like(keys)])

    def split(self, count=1) -> list:
        """`count` new independent generators; advances this one."""
        keys = self.uniform_full_int([count], dtype=dtypes.int64).numpy()
        return [Generator(state=[0] * (_STATE_SIZE - 1) + [int(k)], alg=self._alg)
                for k in keys]

    def __repr__(self):
        return f"<tapeflow Generator alg={self._alg} state={self._state_var.numpy().tolist()}>"


def _key_counter_state(key, counter):
    counter = [int(v) for v in np.asarray(getattr(counter, "_value", counter)).reshape(-1)]
    if len(counter) != _STATE_SIZE - 1:
        raise ValueError(f"Shapes ({len(counter)},) and [{_STATE_SIZE - 1}] are incompatible")
    return [_signed(v) for v in counter] + [_signed(int(np.asarray(getattr(key, "_value",
                                                                           key))))]


# One op: `delta` is an attribute, or an input when known only at run time.
_READ_AND_SKIP_DYN = _READ_AND_SKIP

_global = [None]


@tf_export("random.get_global_generator")
def get_global_generator() -> Generator:
    """The process-wide Generator, made from non-deterministic state on first use."""
    if _global[0] is None:
        _global[0] = Generator.from_non_deterministic_state()
    return _global[0]


@tf_export("random.set_global_generator")
def set_global_generator(generator: Generator) -> None:
    """Replaces the process-wide Generator."""
    if not isinstance(generator, Generator):
        raise TypeError(f"set_global_generator expects a tf.random.Generator; got "
                        f"{type(generator).__name__}")
    _global[0] = generator
