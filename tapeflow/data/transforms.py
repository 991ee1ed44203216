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

import inspect
import itertools

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import INFINITE, UNKNOWN, Dataset
from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_spec import TensorSpec


def _count(value, what, op):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: `{what}` must be an integer, got {type(value).__name__} "
                        f"{value!r}.") from None


def _fn_name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _caller(fn, spec, wrap=Tensor):
    """`flat -> fn(element)` the way tf.data calls user functions: a tuple is unpacked."""
    pack = structure.make_packer(spec, wrap)
    if isinstance(spec, tuple):
        return lambda flat: fn(*pack(flat))
    return lambda flat: fn(pack(flat))


def check_arity(fn, spec, op: str, what: str = "map_func") -> None:
    """Fails at construction, as TF does, when `fn` cannot take this dataset's elements."""
    n = len(spec) if isinstance(spec, tuple) else 1
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):     # builtins without a signature: let the call decide
        return
    try:
        signature.bind(*range(n))
    except TypeError as e:
        passed = (f"tuples, passed as {n} separate arguments" if isinstance(spec, tuple)
                  else "passed as one argument")
        raise TypeError(
            f"{op}: `{what}` {_fn_name(fn)}{signature} cannot be called with this dataset's "
            f"elements ({e}). The elements are {passed}; element_spec: {spec!r}.") from None


def _normalize_output(value):
    """A map function's result: lists become tuples (as tf.data does), leaves arrays."""
    if isinstance(value, list):
        value = tuple(value)
    return structure.normalize(value, what="map function output")


# -- map / filter / flat_map --------------------------------------------------

class MapDataset(Dataset):
    _tf_name = "_MapDataset"

    def __init__(self, input_ds, fn, num_parallel_calls):
        if not callable(fn):
            raise TypeError(f"map: `map_func` must be callable, got {type(fn).__name__}.")
        if num_parallel_calls is not None:
            self._tf_name = "_ParallelMapDataset"
        check_arity(fn, input_ds.element_spec, "map")
        self._input, self._fn = input_ds, fn
        self._spec = _traced_spec(fn, input_ds.element_spec)

    @property
    def element_spec(self):
        """Traced from the input spec, as TF does; if tracing fails (the function
        needs concrete values), found by running it on the first element."""
        if self._spec is None:
            call = _caller(self._fn, self._input.element_spec)
            with init_scope():       # a concrete call, even if asked while tracing
                for flat in self._input._iter_flat():
                    spec, _ = _normalize_output(call(flat))
                    self._spec = _relax(spec, self._input)
                    break
            if self._spec is None:
                raise ValueError(f"map: cannot determine the element_spec of a map over an "
                                 f"empty dataset (function {_fn_name(self._fn)}).")
        return self._spec

    def _iter_flat(self):
        call, n = _caller(self._fn, self._input.element_spec), len(
            structure.flatten(self.element_spec))
        for flat in self._input._iter_flat():
            value = call(flat)
            out = structure.flat_arrays(tuple(value) if isinstance(value, list) else value,
                                        what="map function output")
            if len(out) != n:
                raise ValueError(
                    f"map: `map_func` {_fn_name(self._fn)} returned {value!r}, which does not "
                    f"match the structure of its element_spec {self.element_spec!r}.")
            yield out

    def _card(self):
        return self._input._card()


def _traced_spec(fn, in_spec):
    """The output spec of `fn` from one symbolic call on placeholders (None on failure).

    Shapes that depend on values (`tf.fill([n], n)`) come out unknown, as in TF.
    Tapes are paused so the trace records nothing in the caller's tapes.
    """
    from tapeflow.framework.context import state
    from tapeflow.framework.graph import FuncGraph
    graph = FuncGraph("dataset_map")
    placeholders = [graph.placeholder(s.shape, s.dtype) for s in structure.flatten(in_spec)]
    saved = state.graph, state.tapes
    state.graph, state.tapes = graph, []
    try:
        out = _caller(fn, in_spec, wrap=lambda t: t)(placeholders)
        if isinstance(out, list):
            out = tuple(out)
        specs = [TensorSpec(v.shape, v.dtype) if isinstance(v, Tensor) and v._is_symbolic
                 else TensorSpec.from_tensor(structure.to_array(v))
                 for v in structure.flatten(out)]
        return structure.pack(out, specs)
    except Exception:   # noqa: BLE001 - any failure: fall back to a concrete first call
        return None
    finally:
        state.graph, state.tapes = saved


def _relax(spec, input_ds):
    """Leading dims of a map over batches are unknown when the batches' are."""
    unknown_batch = any(s.shape.rank and s.shape[0] is None
                        for s in structure.flatten(input_ds.element_spec))
    if not unknown_batch:
        return spec
    return structure.map_specs(
        lambda s: TensorSpec([None] + s.shape.as_list()[1:], s.dtype) if s.shape.rank else s,
        spec)


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
        fn, call = self._fn, _caller(self._fn, self._spec)
        for flat in self._input._iter_flat():
            keep = call(flat)
            value = keep._value if isinstance(keep, Tensor) else np.asarray(keep)
            if np.ndim(value) != 0 or np.asarray(value).dtype != np.bool_:
                raise ValueError(
                    f"filter: `predicate` {_fn_name(fn)} must return a scalar boolean tensor; "
                    f"got {TensorSpec(np.shape(value), dtypes.as_dtype(np.asarray(value).dtype))!r}.")
            if value:
                yield flat

    def _card(self):
        return UNKNOWN


class FlatMapDataset(Dataset):
    """Concatenates the datasets `fn` returns; interleave shares its dataset-of-datasets parts."""

    _tf_name = "_FlatMapDataset"
    _op = "flat_map"

    def __init__(self, input_ds, fn):
        check_arity(fn, input_ds.element_spec, "flat_map")
        self._input, self._fn = input_ds, fn

    def _datasets(self):
        call = _caller(self._fn, self._input.element_spec)
        for flat in self._input._iter_flat():
            ds = call(flat)
            if not isinstance(ds, Dataset):
                raise TypeError(f"{self._op}: `map_func` {_fn_name(self._fn)} must return a "
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


class TakeDataset(_RowStage):
    _tf_name = "_TakeDataset"

    def __init__(self, input_ds, count):
        super().__init__(input_ds)
        self._n = _count(count, "count", "take")

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


class SkipDataset(_RowStage):
    _tf_name = "_SkipDataset"

    def __init__(self, input_ds, count):
        super().__init__(input_ds)
        self._n = _count(count, "count", "skip")

    def _chunks(self, chunks):
        return iter(()) if self._n < 0 else _drop(chunks(), self._n)

    def _elements(self, ds):
        return iter(()) if self._n < 0 else itertools.islice(ds._iter_flat(), self._n, None)

    def _card(self):
        n = self._input._card()
        if n < 0:
            return n
        return 0 if self._n < 0 else max(n - self._n, 0)


class RepeatDataset(_RowStage):
    _tf_name = "_RepeatDataset"

    def __init__(self, input_ds, count):
        super().__init__(input_ds)
        self._n = -1 if count is None else _count(count, "count", "repeat")

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


class ShardDataset(_RowStage):
    _tf_name = "_ShardDataset"

    def __init__(self, input_ds, num_shards, index):
        super().__init__(input_ds)
        self._k = _count(num_shards, "num_shards", "shard")
        self._i = _count(index, "index", "shard")
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


class PrefetchDataset(_RowStage):
    _tf_name = "_PrefetchDataset"

    def __init__(self, input_ds, buffer_size):
        super().__init__(input_ds)
        _count(buffer_size, "buffer_size", "prefetch")

    def _chunks(self, chunks):
        return chunks()

    def _elements(self, ds):
        return ds._iter_flat()

    def _card(self):
        return self._input._card()


# -- combining datasets -----------------------------------------------------

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


class EnumerateDataset(Dataset):
    _tf_name = "_EnumerateDataset"

    def __init__(self, input_ds, start):
        self._input, self._start = input_ds, _count(start, "start", "enumerate")
        self._spec = (TensorSpec([], dtypes.int64), input_ds.element_spec)

    def _iter_flat(self):
        for i, flat in enumerate(self._input._iter_flat(), self._start):
            yield [np.int64(i), *flat]

    def _card(self):
        return self._input._card()


# -- terminal operations -------------------------------------------------------

def reduce_dataset(ds, initial_state, reduce_func):
    state = initial_state
    for element in ds:
        state = reduce_func(state, element)
    flat = [s if isinstance(s, Tensor) else Tensor(structure.to_array(s))
            for s in structure.flatten(state)]
    return structure.pack(state, flat)


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


class Optional:
    """The result of `get_next_as_optional`: a value, or none at the end."""

    def __init__(self, value, has=True):
        self._value, self._has = value, has

    def has_value(self):
        return Tensor(np.bool_(self._has))

    def get_value(self):
        if not self._has:
            from tapeflow.framework.errors import InvalidArgumentError
            raise InvalidArgumentError(None, None, "The optional does not have a value.")
        return self._value


class _OptionGroup:
    """A group of `tf.data.Options` settings: any attribute can be set and read back."""

    def __getattr__(self, name):
        """Settings never set read as None (TF's "use the default")."""
        if name.startswith("__"):
            raise AttributeError(name)

    def __repr__(self):
        return f"{type(self).__name__}({vars(self)})"


class Options:
    """`tf.data.Options`: settings for threading, optimisation and distribution.

    tapeflow produces elements on demand in one thread, so these settings are
    kept (and returned by `Dataset.options()`) but change nothing.

        >>> import tapeflow as tf
        >>> options = tf.data.Options()
        >>> options.experimental_distribute.auto_shard_policy = (
        ...     tf.data.experimental.AutoShardPolicy.OFF)
        >>> ds = tf.data.Dataset.range(3).with_options(options)
        >>> ds.options().experimental_distribute.auto_shard_policy.name
        'OFF'
    """

    def __init__(self):
        self.deterministic = None
        self.experimental_deterministic = None
        self.experimental_distribute = _OptionGroup()
        self.experimental_optimization = _OptionGroup()
        self.threading = _OptionGroup()
        self.autotune = _OptionGroup()


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
