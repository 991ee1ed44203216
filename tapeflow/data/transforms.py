"""Dataset transformations: map, filter, flat_map, take, skip, repeat, shard, zip, ...

Stages that only reorder or select rows (`take`, `skip`, `repeat`, `shard`,
`prefetch`; `shuffle` and `cache` in their own modules) keep an indexed
source indexed, so a `batch` after them is still one gather per batch (see
`dataset.py`, `fast.py`).

`map` and `filter` run their function eagerly, once per element, on tapeflow
Tensors. `prefetch` and `num_parallel_calls` are accepted but elements are
produced on demand in the caller's thread: tapes and traces are process-wide
state (`framework/context.py`), so a user function run on a background
thread could record into a tape or a trace of the main thread.

    >>> import tapeflow as tf
    >>> ds = tf.data.Dataset.range(5).repeat(2).batch(4)
    >>> [b.numpy().tolist() for b in ds]
    [[0, 1, 2, 3], [4, 0, 1, 2], [3, 4]]
"""
from __future__ import annotations

import itertools

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import INFINITE, UNKNOWN, Dataset, stage
from tapeflow.data.functions import check_arity, count_arg, element_caller, fn_name, traced_spec
from tapeflow.data.options import Options
from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_spec import TensorSpec


def _normalize_output(value):
    """A map function's result: lists become tuples (as tf.data does), leaves arrays."""
    if isinstance(value, list):
        value = tuple(value)
    return structure.normalize(value, what="map function output")


# -- map / filter / flat_map --------------------------------------------------

@stage("map")
class MapDataset(Dataset):
    _tf_name = "_MapDataset"

    def __init__(self, input_ds, fn, num_parallel_calls):
        if not callable(fn):
            raise TypeError(f"map: `map_func` must be callable, got {type(fn).__name__}.")
        if num_parallel_calls is not None:
            self._tf_name = "_ParallelMapDataset"
        check_arity(fn, input_ds.element_spec, "map")
        self._input, self._fn = input_ds, fn
        self._spec = traced_spec(fn, input_ds.element_spec)

    @property
    def element_spec(self):
        """Traced from the input spec, as TF does; if tracing fails (the function
        needs concrete values), found by running it on the first element."""
        if self._spec is None:
            call = element_caller(self._fn, self._input.element_spec)
            with init_scope():       # a concrete call, even if asked while tracing
                for flat in self._input._iter_flat():
                    spec, _ = _normalize_output(call(flat))
                    self._spec = _relax(spec, self._input)
                    break
            if self._spec is None:
                raise ValueError(f"map: cannot determine the element_spec of a map over an "
                                 f"empty dataset (function {fn_name(self._fn)}).")
        return self._spec

    def _iter_flat(self):
        call, n = element_caller(self._fn, self._input.element_spec), len(
            structure.flatten(self.element_spec))
        for flat in self._input._iter_flat():
            value = call(flat)
            out = structure.flat_arrays(tuple(value) if isinstance(value, list) else value,
                                        what="map function output")
            if len(out) != n:
                raise ValueError(
                    f"map: `map_func` {fn_name(self._fn)} returned {value!r}, which does not "
                    f"match the structure of its element_spec {self.element_spec!r}.")
            yield out

    def _card(self):
        return self._input._card()


def _relax(spec, input_ds):
    """Leading dims of a map over batches are unknown when the batches' are."""
    unknown_batch = any(s.shape.rank and s.shape[0] is None
                        for s in structure.flatten(input_ds.element_spec))
    if not unknown_batch:
        return spec
    return structure.map_specs(
        lambda s: TensorSpec([None] + s.shape.as_list()[1:], s.dtype) if s.shape.rank else s,
        spec)


@stage("filter")
class FilterDataset(Dataset):
    _tf_name = "_FilterDataset"

    def __init__(self, input_ds, predicate):
        if not callable(predicate):
            raise TypeError(f"filter: `predicate` must be callable, got "
                            f"{type(predicate).__name__}.")
        check_arity(predicate, input_ds.element_spec, "filter", "predicate")
        self._input, self._fn = input_ds, predicate
        self._spec = input_ds.element_spec

    def _iter_flat(self):
        fn, call = self._fn, element_caller(self._fn, self._spec)
        for flat in self._input._iter_flat():
            keep = call(flat)
            value = keep._value if isinstance(keep, Tensor) else np.asarray(keep)
            if np.ndim(value) != 0 or np.asarray(value).dtype != np.bool_:
                got = TensorSpec(np.shape(value), dtypes.as_dtype(np.asarray(value).dtype))
                raise ValueError(
                    f"filter: `predicate` {fn_name(fn)} must return a scalar boolean tensor; "
                    f"got {got!r}.")
            if value:
                yield flat

    def _card(self):
        return UNKNOWN


@stage("flat_map")
class FlatMapDataset(Dataset):
    """Concatenates the datasets `fn` returns; interleave shares its dataset-of-datasets parts."""

    _tf_name = "_FlatMapDataset"
    _op = "flat_map"

    def __init__(self, input_ds, fn):
        check_arity(fn, input_ds.element_spec, "flat_map")
        self._input, self._fn = input_ds, fn

    def _datasets(self):
        call = element_caller(self._fn, self._input.element_spec)
        for flat in self._input._iter_flat():
            ds = call(flat)
            if not isinstance(ds, Dataset):
                raise TypeError(f"{self._op}: `map_func` {fn_name(self._fn)} must return a "
                                f"Dataset, got {type(ds).__name__}.")
            yield ds

    @property
    def element_spec(self):
        if self._spec is None:
            for ds in self._datasets():
                self._spec = ds.element_spec
                break
            else:
                raise ValueError(f"{self._op}: cannot determine the element_spec of an empty "
                                 "input dataset.")
        return self._spec

    def _iter_flat(self):
        for ds in self._datasets():
            yield from ds._iter_flat()


# -- selection and repetition (keep indexed sources indexed) -----------------------

def _truncate(chunks, count):
    left = count
    for chunk in chunks:
        if left <= 0:
            return
        if len(chunk) > left:
            chunk = chunk[:left]
        left -= len(chunk)
        yield chunk


def _drop(chunks, count):
    left = count
    for chunk in chunks:
        if left >= len(chunk):
            left -= len(chunk)
            continue
        yield chunk[left:] if left else chunk
        left = 0


class _RowStage(Dataset):
    """A stage that maps one pass of row chunks to another (indexed) or elements."""

    def __init__(self, input_ds):
        self._input = input_ds
        self._spec = input_ds.element_spec

    def _indexed(self):
        inner = self._input._indexed()
        if inner is None:
            return None
        arrays, chunks = inner
        return arrays, lambda: self._chunks(chunks)

    def _iter_flat(self):
        if self._input._indexed() is not None:
            return super()._iter_flat()
        return self._elements(self._input)


@stage("take")
class TakeDataset(_RowStage):
    _tf_name = "_TakeDataset"

    def __init__(self, input_ds, count):
        super().__init__(input_ds)
        self._n = count_arg(count, "count", "take")

    def _chunks(self, chunks):
        return chunks() if self._n < 0 else _truncate(chunks(), self._n)

    def _elements(self, ds):
        it = ds._iter_flat()
        return it if self._n < 0 else itertools.islice(it, self._n)

    def _card(self):
        n = self._input._card()
        if self._n < 0:
            return n
        if n == INFINITE:
            return self._n
        return min(n, self._n) if n >= 0 else UNKNOWN


@stage("skip")
class SkipDataset(_RowStage):
    _tf_name = "_SkipDataset"

    def __init__(self, input_ds, count):
        super().__init__(input_ds)
        self._n = count_arg(count, "count", "skip")

    def _chunks(self, chunks):
        return iter(()) if self._n < 0 else _drop(chunks(), self._n)

    def _elements(self, ds):
        return iter(()) if self._n < 0 else itertools.islice(ds._iter_flat(), self._n, None)

    def _card(self):
        n = self._input._card()
        if n < 0:
            return n
        return 0 if self._n < 0 else max(n - self._n, 0)


@stage("repeat")
class RepeatDataset(_RowStage):
    _tf_name = "_RepeatDataset"

    def __init__(self, input_ds, count):
        super().__init__(input_ds)
        self._n = -1 if count is None else count_arg(count, "count", "repeat")

    def _passes(self):
        return itertools.count() if self._n < 0 else range(self._n)

    def _chunks(self, chunks):
        for _ in self._passes():
            empty = True
            for chunk in chunks():
                empty = empty and not len(chunk)
                yield chunk
            if empty:     # repeating an empty dataset ends instead of spinning forever
                return

    def _elements(self, ds):
        for _ in self._passes():
            empty = True
            for flat in ds._iter_flat():
                empty = False
                yield flat
            if empty:
                return

    def _card(self):
        n = self._input._card()
        if n == 0 or self._n == 0:
            return 0
        if self._n < 0:
            return INFINITE if n != UNKNOWN else UNKNOWN
        return n * self._n if n >= 0 else n


@stage("shard")
class ShardDataset(_RowStage):
    _tf_name = "_ShardDataset"

    def __init__(self, input_ds, num_shards, index):
        super().__init__(input_ds)
        self._k = count_arg(num_shards, "num_shards", "shard")
        self._i = count_arg(index, "index", "shard")
        if self._k < 1 or not 0 <= self._i < self._k:
            raise ValueError(f"shard: `index` must be between 0 and {self._k - 1} and "
                             f"`num_shards` >= 1; got num_shards={num_shards}, index={index}.")

    def _chunks(self, chunks):
        pos = 0          # position of the chunk's first row in the whole stream
        for chunk in chunks():
            start = (self._i - pos) % self._k
            pos += len(chunk)
            if start < len(chunk):
                yield chunk[start::self._k]

    def _elements(self, ds):
        return itertools.islice(ds._iter_flat(), self._i, None, self._k)

    def _card(self):
        n = self._input._card()
        return n if n < 0 else (n - self._i + self._k - 1) // self._k if n > self._i else 0


@stage("prefetch")
class PrefetchDataset(_RowStage):
    _tf_name = "_PrefetchDataset"

    def __init__(self, input_ds, buffer_size):
        super().__init__(input_ds)
        count_arg(buffer_size, "buffer_size", "prefetch")

    def _chunks(self, chunks):
        return chunks()

    def _elements(self, ds):
        return ds._iter_flat()

    def _card(self):
        return self._input._card()


# -- combining datasets -----------------------------------------------------

@stage("concatenate")
class ConcatenateDataset(Dataset):
    _tf_name = "_ConcatenateDataset"

    def __init__(self, first, second):
        if not isinstance(second, Dataset):
            raise TypeError(f"concatenate: expected a Dataset, got {type(second).__name__}.")
        a, b = first.element_spec, second.element_spec
        if not structure.specs_compatible(a, b):
            raise TypeError(f"Incompatible dataset elements:\n  {a!r} vs.\n  {b!r}")
        self._first, self._second = first, second
        self._spec = structure.pack(a, [
            x.most_specific_compatible_type(y)
            for x, y in zip(structure.flatten(a), structure.flatten(b))])

    def _iter_flat(self):
        yield from self._first._iter_flat()
        yield from self._second._iter_flat()

    def _card(self):
        a, b = self._first._card(), self._second._card()
        if a == INFINITE or b == INFINITE:
            return INFINITE
        if a == UNKNOWN or b == UNKNOWN:
            return UNKNOWN
        return a + b


@stage("zip")
class ZipDataset(Dataset):
    _tf_name = "_ZipDataset"

    def __init__(self, datasets):
        if isinstance(datasets, list):
            datasets = tuple(datasets)
        leaves = structure.flatten(datasets)
        for d in leaves:
            if not isinstance(d, Dataset):
                raise TypeError(f"zip: expected a (nested) tuple/dict of Datasets, got a "
                                f"{type(d).__name__} in {datasets!r}.")
        self._datasets = leaves
        self._spec = structure.pack(datasets, [d.element_spec for d in leaves])

    def _iter_flat(self):
        its = [d._iter_flat() for d in self._datasets]
        for parts in zip(*its):
            yield [a for p in parts for a in p]

    def _card(self):
        cards = [d._card() for d in self._datasets]
        if UNKNOWN in cards:          # as TF: one unknown input makes the length unknown
            return UNKNOWN
        known = [c for c in cards if c >= 0]
        return min(known) if known else INFINITE


@stage("enumerate")
class EnumerateDataset(Dataset):
    _tf_name = "_EnumerateDataset"

    def __init__(self, input_ds, start):
        self._input, self._start = input_ds, count_arg(start, "start", "enumerate")
        self._spec = (TensorSpec([], dtypes.int64), input_ds.element_spec)

    def _iter_flat(self):
        for i, flat in enumerate(self._input._iter_flat(), self._start):
            yield [np.int64(i), *flat]

    def _card(self):
        return self._input._card()


# -- terminal operations -------------------------------------------------------

@stage("reduce")
def reduce_dataset(ds, initial_state, reduce_func):
    state = initial_state
    for element in ds:
        state = reduce_func(state, element)
    flat = [s if isinstance(s, Tensor) else Tensor(structure.to_array(s))
            for s in structure.flatten(state)]
    return structure.pack(state, flat)


@stage("get_single_element")
def single_element(ds):
    it = iter(ds)
    try:
        first = next(it)
    except StopIteration:
        raise ValueError("get_single_element: the dataset is empty; expected exactly one "
                         "element.") from None
    for _ in it:
        raise ValueError("get_single_element: the dataset has more than one element; "
                         "expected exactly one.")
    return first


@stage("with_options")
class OptionsDataset(_RowStage):
    """`with_options`: the input, unchanged, carrying its options."""

    _tf_name = "_OptionsDataset"

    def __init__(self, input_ds, options):
        if not isinstance(options, Options):
            raise TypeError(f"with_options: expected a tf.data.Options, got "
                            f"{type(options).__name__}.")
        super().__init__(input_ds)
        self._options = options

    def _chunks(self, chunks):
        return chunks()

    def _elements(self, ds):
        return ds._iter_flat()

    def _card(self):
        return self._input._card()
