"""Batches as vectorised gathers over in-memory arrays: the pipeline's fast path.

`batch_rows` turns a stream of row-number chunks (see `dataset.py`) into
batches: a run of consecutive rows is one slice copy, any other run one
`np.take`, so each batch is a fresh contiguous array made by a single
NumPy call whatever the batch size.

Keras's `fit` on plain arrays batches through it too (one permutation per
epoch as the only chunk: `keras/models/data_adapter.py`).

    >>> import numpy as np
    >>> from tapeflow.data.fast import batch_rows
    >>> x, y = np.arange(10) * 10, np.arange(10)
    >>> [b[1].tolist() for b in batch_rows((x, y), [range(10)], 4, False)]
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
            p.step == 1 and q.step == 1 and p.stop == q.start
            for p, q in itertools.pairwise(pieces)):
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
