"""`keras.random`: Keras 3's random draws on tapeflow's random ops.

`seed` is what Keras takes: None (a fresh draw from the global stream), an int (the same
values at every call, as Keras's stateless draws) or a `SeedGenerator` (a new seed at every
call from the generator's own state, so a layer holding one is reproducible).

    >>> from tapeflow import keras
    >>> a = keras.random.normal((2,), seed=7)
    >>> bool((a.numpy() == keras.random.normal((2,), seed=7).numpy()).all())
    True
"""
from __future__ import annotations


def _tf():
    # The public namespace: loaded after keras, so looked up when a draw first runs.
    import tapeflow
    return tapeflow


class SeedGenerator:
    """A random state of its own: every draw that takes it as `seed` advances it."""

    def __init__(self, seed=None, name=None, **kwargs):
        tf = _tf()
        self.name = name or "seed_generator"
        self._generator = tf.random.Generator.from_seed(seed) if seed is not None else \
            tf.random.Generator.from_non_deterministic_state()

    @property
    def state(self):
        return self._generator.state

    def next(self):
        """A fresh stateless seed pair, advancing the state."""
        return self._generator.make_seeds(1)[:, 0]


def _check_seed(seed):
    if seed is not None and not isinstance(seed, (int, SeedGenerator)):
        raise ValueError(f"keras.random: `seed` must be None, an int or a "
                         f"keras.random.SeedGenerator; received {seed!r} of type "
                         f"{type(seed).__name__}")


def _draw(kind, shape, seed, dtype, **kwargs):
    """One draw of `kind` ('normal', 'uniform', 'truncated_normal') by the seed's rule."""
    from tapeflow.keras import backend
    tf = _tf()
    _check_seed(seed)
    dtype = tf.as_dtype(dtype or backend.floatx())
    if seed is None:
        return getattr(tf.random, kind)(shape, dtype=dtype, **kwargs)
    pair = seed.next() if isinstance(seed, SeedGenerator) else [int(seed), 0]
    return getattr(tf.random, "stateless_" + kind)(shape, seed=pair, dtype=dtype, **kwargs)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _draw("normal", shape, seed, dtype, mean=mean, stddev=stddev)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _draw("truncated_normal", shape, seed, dtype, mean=mean, stddev=stddev)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _draw("uniform", shape, seed, dtype, minval=minval, maxval=maxval)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval)."""
    return _draw("uniform", shape, seed, dtype, minval=minval, maxval=maxval)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes each entry with probability `rate` and scales the rest by 1 / (1 - rate)."""
    tf = _tf()
    x = tf.convert_to_tensor(inputs)
    shape = noise_shape if noise_shape is not None else tf.shape(x)
    keep = tf.cast(uniform(shape, dtype=x.dtype, seed=seed) >= rate, x.dtype)
    return x * keep / (1.0 - rate)


def shuffle(x, axis=0, seed=None):
    """`x` with its entries along `axis` in a random order."""
    tf = _tf()
    t = tf.convert_to_tensor(x)
    n = t.shape[axis]
    order = tf.argsort(uniform((n,), seed=seed))
    return tf.gather(t, order, axis=axis)
