"""Batches as vectorised gathers over in-memory arrays: the pipeline's fast path.

`batch_rows` turns a stream of row-number chunks (see `dataset.py`) into
batches: a run of consecutive rows is one slice copy, any other run one
`np.take`, so each batch is a fresh contiguous array made by a single
NumPy call whatever the batch size.

`array_batches` is the same machinery for training loops that hold plain
arrays (`model.fit(x, y, batch_size=32, shuffle=True)`): one permutation per
epoch (Keras's shuffle), then gathers.

    >>> import numpy as np
    >>> from tapeflow.data.fast import array_batches
    >>> x, y = np.arange(10) * 10, np.arange(10)
    >>> [b[1].tolist() for b in array_batches((x, y), 4, shuffle=False)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
"""
from __future__ import annotations

import itertools

import numpy as np


def gather(arrays, piece):
    """Rows `piece` (a range with step 1, or an int array) of each array, copied."""
    if isinstance(piece, range) and piece.step == 1:
        s = slice(piece.start, piece.stop)
        return [a[s].copy() for a in arrays]
    if isinstance(piece, range):
        piece = np.arange(piece.start, piece.stop, piece.step)
    # np.take on axis 0 is one C loop over rows (faster than a[idx] for small rows).
    return [np.take(a, piece, axis=0) for a in arrays]


def _join(pieces):
    if len(pieces) == 1:
        return pieces[0]
    if all(isinstance(p, range) for p in pieces) and all(
            p.step == 1 and q.step == 1 and p.stop == q.start for p, q in itertools.pairwise(pieces)):
        return range(pieces[0].start, pieces[-1].stop)
    return np.concatenate([np.arange(p.start, p.stop, p.step) if isinstance(p, range) else p
                           for p in pieces])


def batch_rows(arrays, chunks, batch_size: int, drop_remainder: bool):
    """Yields flat lists of batch arrays from a stream of row-number chunks.

    Batches may span chunk boundaries (for example across `repeat` epochs).
    """
    pending, count = [], 0
    for chunk in chunks:
        pos, n = 0, len(chunk)
        while pos < n:
            if count == 0 and n - pos >= batch_size:   # a whole batch inside this chunk
                yield gather(arrays, chunk[pos:pos + batch_size])
                pos += batch_size
                continue
            take = min(batch_size - count, n - pos)
            pending.append(chunk[pos:pos + take])
            pos += take
            count += take
            if count == batch_size:
                yield gather(arrays, _join(pending))
                pending, count = [], 0
    if count and not drop_remainder:
        yield gather(arrays, _join(pending))


def array_batches(arrays, batch_size: int, shuffle: bool = True, seed=None,
                  drop_remainder: bool = False, rng=None):
    """One epoch of batches over same-length arrays, as a tuple of arrays per batch.

    Args:
        arrays: a sequence of NumPy arrays (or tensors) with equal first dimension.
        batch_size: rows per batch; the last batch may be smaller.
        shuffle: visit rows in a uniformly random order (a full permutation).
        seed: seed for that order when `rng` is not given.
        drop_remainder: drop a last batch smaller than `batch_size`.
        rng: a `np.random.Generator` to draw the permutation from.

    Raises:
        ValueError: if the arrays differ in length or `batch_size` < 1.
    """
    arrays = [a._value if hasattr(a, "_value") else np.asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("array_batches: expected at least one array.")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("array_batches: all arrays must have the same first dimension; got "
                         + ", ".join(str(a.shape) for a in arrays) + ".")
    if int(batch_size) < 1:
        raise ValueError(f"array_batches: batch_size must be >= 1, got {batch_size!r}.")
    if shuffle:
        rng = rng if rng is not None else np.random.default_rng(seed)
        order = [rng.permutation(n)]
    else:
        order = [range(n)]
    for flat in batch_rows(arrays, order, int(batch_size), drop_remainder):
        yield tuple(flat)
