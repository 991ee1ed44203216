"""`Dataset.shuffle`: TF's buffer shuffle, fused into index arithmetic where it can be.

TF's algorithm: fill a buffer with the first `buffer_size` elements; then
repeatedly emit a uniformly chosen buffered element and put the next input
element in its place; when the input ends, emit what is left in random order.
So the first output always comes from the first `buffer_size` inputs, and
`buffer_size=1` keeps the order.

Over an indexed source (see `dataset.py`) the same process runs on row
numbers, vectorised. While the buffer is full, step `t` picks slot `r[t]`,
emits the value last written to that slot and writes input `t` there. The
value last written to `r[t]` before step `t` is the input of the previous
step that picked the same slot, or the slot's initial value: one stable
sort of `r` by slot lists each slot's steps in time order, so the whole
emitted sequence is a gather with no Python loop per element. Draining the
final buffer in uniformly random order is one random permutation.

    >>> import tapeflow as tf
    >>> ds = tf.data.Dataset.range(8).shuffle(3, seed=1)
    >>> order = [int(x) for x in ds]
    >>> sorted(order), order[0] < 3
    ([0, 1, 2, 3, 4, 5, 6, 7], True)
    >>> [int(x) for x in ds] == order     # a new order each pass...
    False
    >>> [int(x) for x in tf.data.Dataset.range(8).shuffle(3, seed=1)] == order   # ...seeded
    True
"""
from __future__ import annotations

import numpy as np

from tapeflow.data.dataset import Dataset, stage
from tapeflow.ops import random_ops

_DEFAULT_OP_SEED_BASE = 87654321   # stands in for the global seed when only `seed` is set


def shuffle_indices(chunks, buffer_size: int, rng: np.random.Generator):
    """Buffer-shuffles a stream of row-number chunks; yields shuffled chunks.

    Args:
        chunks: iterable of 1-D int arrays or `range`s: the input stream in order.
        buffer_size: the shuffle buffer size B (>= 1).
        rng: the random generator for this pass.

    Example:
        >>> import numpy as np
        >>> out = np.concatenate(list(shuffle_indices([range(10)], 4, np.random.default_rng(0))))
        >>> sorted(out.tolist()) == list(range(10)), int(out[0]) < 4
        (True, True)
    """
    buf = np.empty(0, np.int64)
    for chunk in chunks:
        inc = np.arange(chunk.start, chunk.stop, chunk.step, dtype=np.int64) if isinstance(
            chunk, range) else np.asarray(chunk, dtype=np.int64)
        if len(buf) < buffer_size:   # initial fill: nothing is emitted yet
            k = buffer_size - len(buf)
            buf = np.concatenate([buf, inc[:k]])
            inc = inc[k:]
            if not len(inc):
                continue
        out, buf = _steady(buf, inc, rng)
        yield out
    if len(buf):
        yield buf[rng.permutation(len(buf))]


def _steady(buf, inc, rng):
    """Steps with a full buffer: emits len(inc) rows, writes `inc` into the slots."""
    m, size = len(inc), len(buf)
    slot = rng.integers(0, size, m, dtype=np.int32 if size < 2**31 else np.int64)
    order = np.argsort(slot, kind="stable")       # steps grouped by slot, in time order
    sorted_slot = slot[order]
    same = np.empty(m, bool)                      # an earlier step wrote this slot
    same[0] = False
    np.equal(sorted_slot[1:], sorted_slot[:-1], out=same[1:])
    prev_step = np.empty(m, np.int64)
    prev_step[0] = 0
    prev_step[1:] = order[:-1]
    emitted = np.where(same, inc[prev_step], buf[sorted_slot])
    out = np.empty(m, np.int64)
    out[order] = emitted
    last = np.empty(m, bool)                      # each slot keeps its last write
    last[-1] = True
    np.logical_not(same[1:], out=last[:-1])
    new_buf = buf.copy()
    new_buf[sorted_slot[last]] = inc[order[last]]
    return out, new_buf


def shuffle_elements(elements, buffer_size: int, rng: np.random.Generator):
    """The same buffer shuffle over arbitrary elements (one Python step each)."""
    it = iter(elements)
    buf = []
    for e in it:
        buf.append(e)
        if len(buf) >= buffer_size:
            break
    block, pos = None, 0
    for e in it:
        if block is None or pos == len(block):   # draw slots in blocks: one call per 1024
            block, pos = rng.integers(0, buffer_size, 1024).tolist(), 0
        j = block[pos]
        pos += 1
        yield buf[j]
        buf[j] = e
    for j in rng.permutation(len(buf)).tolist():
        yield buf[j]


def seed_material(seed):
    """Fixed seed words for one shuffle stage, following TF's seeding rules.

    With an op `seed`: derived from it and the global seed (reproducible).
    With only `tf.random.set_seed`: the next draw of the global generator, so
    datasets built in the same order after `set_seed` shuffle the same way.
    Neither: fresh entropy.
    """
    global_seed = random_ops.get_global_generator_state()
    if seed is not None:
        base = _DEFAULT_OP_SEED_BASE if global_seed is None else global_seed
        return [int(base) & 0xFFFFFFFF, int(seed) & 0xFFFFFFFFFFFFFFFF]
    if global_seed is not None:
        return [int(global_seed) & 0xFFFFFFFF,
                int(random_ops._rng(None).integers(0, 2**63 - 1))]
    return [int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF]


@stage("shuffle")
class ShuffleDataset(Dataset):
    """`input.shuffle(buffer_size, seed, reshuffle_each_iteration)`."""

    _tf_name = "_ShuffleDataset"

    def __init__(self, input_ds, buffer_size, seed, reshuffle_each_iteration):
        try:
            size = int(buffer_size)
        except (TypeError, ValueError):
            raise TypeError(f"shuffle: `buffer_size` must be an integer, got "
                            f"{type(buffer_size).__name__} {buffer_size!r}.") from None
        if size == -1:    # AUTOTUNE: TF sizes the buffer to hold the whole dataset
            n = input_ds._card()
            size = n if n > 0 else 10000
        if size <= 0:
            raise ValueError(f"shuffle: `buffer_size` must be greater than zero, got "
                             f"{buffer_size!r}.")
        self._input = input_ds
        self._size = size
        self._seed = seed_material(seed)
        self._reshuffle = True if reshuffle_each_iteration is None else bool(
            reshuffle_each_iteration)
        self._passes = 0
        self._spec = input_ds.element_spec

    def _next_rng(self):
        """The generator for a new pass: a new stream per pass when reshuffling."""
        n = self._passes
        self._passes += 1
        return np.random.default_rng(self._seed + ([n] if self._reshuffle else []))

    def _indexed(self):
        inner = self._input._indexed()
        if inner is None:
            return None
        arrays, chunks = inner
        return arrays, lambda: shuffle_indices(chunks(), self._size, self._next_rng())

    def _iter_flat(self):
        if self._indexed() is not None:
            return super()._iter_flat()
        return shuffle_elements(self._input._iter_flat(), self._size, self._next_rng())

    def _card(self):
        return self._input._card()
