"""`Dataset.cache`: replay the first complete pass, from memory or from a file.

In memory, an indexed source keeps only the row numbers of the first pass
(so `shuffle(...).cache()` replays that first order); other pipelines keep
the elements. With a filename, the first complete pass is written to
`<filename>.tfdata-cache.npz` (a temporary name, renamed when complete; an
interrupted pass leaves nothing) and every later pass, in this process or
another, reads it instead of running the input pipeline. Components whose
elements share one shape are stored stacked, so a cached dataset is an
indexed source again and `batch` after it is a gather.

    >>> import os, tempfile
    >>> import tapeflow as tf
    >>> path = os.path.join(tempfile.mkdtemp(), 'squares')
    >>> ds = tf.data.Dataset.range(4).map(lambda x: x * x).cache(path)
    >>> [int(v) for v in ds], os.path.exists(path + '.tfdata-cache.npz')
    ([0, 1, 4, 9], True)
    >>> [b.tolist() for b in tf.data.Dataset.range(4).cache(path).batch(3).as_numpy_iterator()]
    [[0, 1, 4], [9]]
"""
from __future__ import annotations

import os
import tempfile
import zipfile

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import Dataset, rows, stage
from tapeflow.data.transforms import _RowStage

SUFFIX = ".tfdata-cache.npz"


@stage("cache")
def cache(input_ds, filename):
    if filename:
        return FileCacheDataset(input_ds, filename)
    return MemoryCacheDataset(input_ds)


class MemoryCacheDataset(_RowStage):
    """Replays the first complete pass (its order too, as after a shuffle).

    Over an indexed input only the row numbers are kept. Other inputs keep
    their elements; when every component has one shape they are stacked, so
    that from the second pass on the cache is an indexed source and
    `map(expensive).cache().shuffle(n).batch(b)` gathers its batches.
    """

    _tf_name = "_CacheDataset"

    def __init__(self, input_ds):
        super().__init__(input_ds)
        self._stored = None      # row chunks (indexed input) or flat elements
        self._stacked = None     # the elements as arrays with a leading axis

    def _indexed(self):
        if self._stacked is not None:
            n = len(self._stacked[0])
            return self._stacked, lambda: iter((range(n),))
        return super()._indexed()

    def _iter_flat(self):
        if self._indexed() is not None:
            return rows(*self._indexed())
        return self._elements(self._input)

    def _chunks(self, chunks):
        if self._stored is not None:
            yield from self._stored
            return
        seen = []
        for chunk in chunks():
            seen.append(chunk)
            yield chunk
        self._stored = seen

    def _elements(self, ds):
        if self._stored is not None:
            return iter(self._stored)
        return self._record(ds)

    def _record(self, ds):
        seen = []
        for flat in ds._iter_flat():
            seen.append(flat)
            yield flat
        self._stacked = _stack_if_uniform(seen)
        self._stored = None if self._stacked is not None else seen

    def _card(self):
        if self._stacked is not None:
            return len(self._stacked[0])
        return self._input._card()


def _stack_if_uniform(elements):
    """Each component stacked into one array, or None when shapes differ (or no elements)."""
    if not elements:
        return None
    out = []
    for i in range(len(elements[0])):
        column = [e[i] for e in elements]
        first = np.shape(column[0])
        if any(np.shape(a) != first for a in column):
            return None
        out.append(np.stack(column))
    return out


class FileCacheDataset(Dataset):
    """`cache(filename)`: the first complete pass, kept in a `.npz` file."""

    _tf_name = "_CacheDataset"

    def __init__(self, input_ds, filename):
        self._input = input_ds
        self._spec = input_ds.element_spec
        self._path = os.fspath(filename) + SUFFIX
        self._loaded = None

    def _load(self):
        if self._loaded is None and os.path.exists(self._path):
            self._loaded = _read(self._path, structure.flatten(self._spec))
        return self._loaded

    def _indexed(self):
        loaded = self._load()
        if loaded is None or loaded[0] != "stacked":
            return None
        arrays, n = loaded[1], loaded[2]
        return arrays, lambda: iter((range(n),))

    def _iter_flat(self):
        loaded = self._load()
        if loaded is None:
            return self._write_through()
        if loaded[0] == "stacked":
            return rows(*self._indexed())
        return iter(loaded[1])

    def _write_through(self):
        seen = []
        for flat in self._input._iter_flat():
            seen.append(flat)
            yield flat
        if not os.path.exists(self._path):      # another pass may have finished first
            _write(self._path, seen, len(structure.flatten(self._spec)))

    def _card(self):
        loaded = self._load()
        if loaded is not None:
            return loaded[2] if loaded[0] == "stacked" else len(loaded[1])
        return self._input._card()


def _write(path, elements, n_components):
    arrays = {"n": np.int64(len(elements))}
    for i in range(n_components):
        column = [np.asarray(e[i]) for e in elements]
        if column and all(a.shape == column[0].shape for a in column):
            arrays[f"c{i}"] = np.stack(column)
        else:
            arrays[f"c{i}_shapes"] = np.array([a.shape for a in column], np.int64).reshape(
                len(column), -1 if column else 0)
            arrays[f"c{i}_data"] = (np.concatenate([a.ravel() for a in column]) if column
                                    else np.zeros(0))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read(path, specs):
    """('stacked', arrays, n) or ('ragged', elements, n), checked against `specs`."""
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"cache: {path} is not a readable cache file ({e}); delete it to "
                         "rebuild the cache.") from None
    n = int(data.get("n", -1))
    stacked = all(f"c{i}" in data for i in range(len(specs)))
    for i, spec in enumerate(specs):
        a = data.get(f"c{i}", data.get(f"c{i}_data"))
        if a is None or (len(a) and a.dtype != spec.dtype._np):
            raise ValueError(f"cache: {path} was written by a different pipeline: component "
                             f"{i} should be {spec!r}. Delete the file or use another name.")
    if stacked:
        return "stacked", [data[f"c{i}"] for i in range(len(specs))], n
    elements = [[None] * len(specs) for _ in range(n)]
    for i, spec in enumerate(specs):
        if f"c{i}" in data:
            for k in range(n):
                elements[k][i] = data[f"c{i}"][k]
            continue
        shapes, flat = data[f"c{i}_shapes"], data[f"c{i}_data"].astype(spec.dtype._np)
        pos = 0
        for k in range(n):
            size = int(np.prod(shapes[k]))
            elements[k][i] = flat[pos:pos + size].reshape(shapes[k])
            pos += size
    return "ragged", elements, n
