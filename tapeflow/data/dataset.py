"""`tf.data.Dataset`: a lazy, re-iterable pipeline of elements.

Each dataset stage is a small class (sources in `sources.py`; stages in
`transforms.py`, `batching.py`, `shuffle.py`, `cache.py`, `nested.py`,
`selection.py`), registered with `@stage(name)` as what `Dataset.<name>`
makes (this module imports no stage), that implements two hooks:

- `_iter_flat()`: a generator over elements as flat lists of NumPy arrays;
- `_indexed()`: `None`, or `(arrays, chunks)` when every element is a row of
  the same in-memory arrays. `chunks()` then yields, for one pass, the row
  numbers in order (NumPy int arrays, or `range`s for contiguous runs).

The second form is what makes `from_tensor_slices((x, y)).shuffle(n).batch(b)`
fast: slicing, `take`/`skip`/`repeat`, the buffer shuffle and `cache` all work
on row numbers only, and `batch` turns each run of `b` row numbers into one
vectorised gather that yields a contiguous array. The source is never copied
per epoch. Other pipelines fall back to element-by-element iteration.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices((np.arange(6), np.arange(6) * 10))
    >>> [(int(x), int(y)) for x, y in ds.skip(4)]
    [(4, 40), (5, 50)]
    >>> ds.batch(4).element_spec[0]
    TensorSpec(shape=(None,), dtype=tf.int64, name=None)
    >>> [b.shape.as_list() for b, _ in ds.batch(4)]
    [[4], [2]]
"""
from __future__ import annotations

import numpy as np

from tapeflow.data import structure
from tapeflow.data.options import Optional, Options
from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope, state
from tapeflow.framework.tensor import Tensor

INFINITE = -1   # tf.data.INFINITE_CARDINALITY
UNKNOWN = -2    # tf.data.UNKNOWN_CARDINALITY
AUTOTUNE = -1   # tf.data.AUTOTUNE: accepted wherever TF accepts it

# What each `Dataset` method makes ('batch' -> BatchDataset), registered by the stage
# modules (`@stage("batch")`), which import this module: it imports none of them.
_STAGES: dict = {}


def stage(name: str):
    """Registers the decorated stage class (or function) as what `Dataset.<name>` makes."""
    def register(maker):
        _STAGES[name] = maker
        return maker
    return register


def rows(arrays, chunks):
    """Element iteration over an indexed source: one flat list of rows per index."""
    if any(a.dtype.kind == "O" for a in arrays):
        yield from _string_rows(arrays, chunks)
        return
    one_d = [a.ndim == 1 for a in arrays]
    for chunk in chunks():
        for i in (chunk if isinstance(chunk, range) else chunk.tolist()):
            # A row of a 2-D+ source is a view: copy it so a caller that writes
            # into `.numpy()` cannot change the dataset (1-D rows are scalars).
            yield [a[i] if d else a[i].copy() for a, d in zip(arrays, one_d)]


def row(a, i):
    """Row `i` of `a` as an element component; a string row stays a 0-d object array
    (a `bytes` object is no tensor value)."""
    return a[i:i + 1].reshape(()) if a.ndim == 1 else a[i].copy()


def _string_rows(arrays, chunks):
    for chunk in chunks():
        for i in (chunk if isinstance(chunk, range) else chunk.tolist()):
            yield [row(a, i) if a.dtype.kind == "O" or a.ndim > 1 else a[i] for a in arrays]


class Dataset:
    """A sequence of elements, each a structure (tuple/dict) of tensors.

    Build one with `from_tensor_slices`, `from_tensors`, `range` or
    `from_generator`, chain transformations (`shuffle`, `batch`, `map`, ...)
    and iterate it in a `for` loop: every pass starts over from the source.

    Example:
        >>> import tapeflow as tf
        >>> ds = tf.data.Dataset.range(10).filter(lambda x: x % 3 == 0).map(lambda x: x * 2)
        >>> list(ds.as_numpy_iterator())
        [np.int64(0), np.int64(6), np.int64(12), np.int64(18)]
    """

    _tf_name = "DatasetV2"
    _spec = None        # element structure of TensorSpecs, set by each stage

    # -- hooks each stage implements ---------------------------------------
    def _iter_flat(self):
        indexed = self._indexed()
        if indexed is None:
            raise NotImplementedError(f"{type(self).__name__} must implement _iter_flat")
        return rows(*indexed)

    def _indexed(self):
        return None

    def _card(self) -> int:
        return UNKNOWN

    # -- structure ---------------------------------------------------------
    @property
    def element_spec(self):
        """The structure of `tf.TensorSpec`s describing one element."""
        return self._spec

    def __repr__(self) -> str:
        return f"<{self._tf_name} element_spec={self.element_spec!r}>"

    # -- iteration ---------------------------------------------------------
    def __iter__(self):
        _check_not_tracing("iterating")
        return DatasetIterator(self)

    def as_numpy_iterator(self):
        """Iterates the elements as NumPy values (arrays, NumPy scalars), structure kept.

            >>> import tapeflow as tf
            >>> list(tf.data.Dataset.from_tensor_slices({'a': [1, 2]}).as_numpy_iterator())
            [{'a': np.int32(1)}, {'a': np.int32(2)}]
        """
        _check_not_tracing("as_numpy_iterator() on")
        strings = any(getattr(s, "dtype", None) is dtypes.string
                      for s in structure.flatten(self.element_spec))
        packer = structure.make_packer(
            self.element_spec, wrap=structure.numpy_value if strings else (lambda a: a))
        it = self._iter_flat()
        while True:
            with init_scope():
                flat = next(it, None)
            if flat is None:
                return
            yield packer(flat)

    def _numpy_batches(self):
        """Fast path for training loops: flat lists of NumPy arrays, nothing wrapped.

        Pack one with `tapeflow.data.structure.pack(ds.element_spec, flat)`.
        """
        return self._iter_flat()

    # -- size --------------------------------------------------------------
    def cardinality(self) -> Tensor:
        """Number of elements as an int64 scalar tensor; `INFINITE_CARDINALITY`
        (-1) or `UNKNOWN_CARDINALITY` (-2) when it is not a known number.

            >>> import tapeflow as tf
            >>> print(tf.data.Dataset.range(10).batch(3).cardinality())
            tf.Tensor(4, shape=(), dtype=int64)
        """
        return Tensor(np.int64(self._card()))

    def __len__(self) -> int:
        n = self._card()
        if n == INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self) -> bool:
        return True   # never fall back to __len__ (it may be unknown)

    # -- sources -----------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None) -> Dataset:
        """Slices tensors/arrays (or a tuple/dict of them) along their first axis."""
        return _STAGES["from_tensor_slices"](tensors)

    @staticmethod
    def from_tensors(tensors, name=None) -> Dataset:
        """A dataset with exactly one element: `tensors` itself."""
        return _STAGES["from_tensors"](tensors)

    @staticmethod
    def range(*args, dtype=None, name=None) -> Dataset:
        """Like Python's `range`, as int64 scalars (or `dtype`)."""
        return _STAGES["range"](*args, dtype=dtype)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None) -> Dataset:
        """Elements produced by calling `generator(*args)`, checked against a signature."""
        return _STAGES["from_generator"](generator, output_types, output_shapes, args,
                                        output_signature)

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None, name=None) -> Dataset:
        """The files matching `file_pattern`, shuffled unless `shuffle=False`."""
        return _STAGES["list_files"](file_pattern, shuffle, seed)

    @staticmethod
    def counter(start=0, step=1, dtype=None, name=None) -> Dataset:
        """`start`, `start + step`, ... forever (int64 unless `dtype`)."""
        from tapeflow.framework import dtypes
        return _STAGES["counter"](start, step, dtype or dtypes.int64)

    @staticmethod
    def random(seed=None, rerandomize_each_iteration=None, name=None) -> Dataset:
        """An infinite stream of random non-negative int64 scalars."""
        return _STAGES["random"](seed)

    @staticmethod
    def sample_from_datasets(datasets, weights=None, seed=None, stop_on_empty_dataset=False,
                             rerandomize_each_iteration=None) -> Dataset:
        """Each element from one of `datasets`, picked at random with `weights`."""
        return _STAGES["sample_from_datasets"](datasets, weights, seed, stop_on_empty_dataset)

    @staticmethod
    def choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset=True) -> Dataset:
        """Each element from `datasets[c]`, `c` the next value of `choice_dataset`."""
        return _STAGES["choose_from_datasets"](datasets, choice_dataset, stop_on_empty_dataset)

    @staticmethod
    def zip(*datasets, name=None) -> Dataset:
        """Elements are tuples (or the given structure) of the datasets' elements."""
        if len(datasets) == 1:
            datasets = datasets[0]
        return _STAGES["zip"](datasets)

    # -- transformations ---------------------------------------------------
    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True,
                name=None) -> Dataset:
        """Randomly shuffles with a buffer of `buffer_size` elements, as TF does."""
        return _STAGES["shuffle"](self, buffer_size, seed, reshuffle_each_iteration)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None) -> Dataset:
        """Stacks consecutive elements into batches of `batch_size`."""
        return _STAGES["batch"](self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None,
                     drop_remainder=False, name=None) -> Dataset:
        """Batches elements of different shapes, padding them to a common shape."""
        return _STAGES["padded_batch"](self, batch_size, padded_shapes, padding_values,
                                           drop_remainder)

    def rebatch(self, batch_size, drop_remainder=False, name=None) -> Dataset:
        """Re-cuts batched elements into batches of `batch_size`."""
        return _STAGES["rebatch"](self, batch_size, drop_remainder)

    def unbatch(self, name=None) -> Dataset:
        """Splits each element along its first axis (the inverse of `batch`)."""
        return _STAGES["unbatch"](self)

    def map(self, map_func, num_parallel_calls=None, deterministic=None,
            name=None) -> Dataset:
        """Applies `map_func` to each element (tuples are passed as separate arguments)."""
        return _STAGES["map"](self, map_func, num_parallel_calls)

    def filter(self, predicate, name=None) -> Dataset:
        """Keeps the elements for which `predicate` returns a true scalar bool tensor."""
        return _STAGES["filter"](self, predicate)

    def repeat(self, count=None, name=None) -> Dataset:
        """Repeats the dataset `count` times (forever when None or -1)."""
        return _STAGES["repeat"](self, count)

    def take(self, count, name=None) -> Dataset:
        """At most the first `count` elements (all of them when -1)."""
        return _STAGES["take"](self, count)

    def skip(self, count, name=None) -> Dataset:
        """All but the first `count` elements (all skipped when -1)."""
        return _STAGES["skip"](self, count)

    def shard(self, num_shards, index, name=None) -> Dataset:
        """Every `num_shards`-th element, starting at `index`."""
        return _STAGES["shard"](self, num_shards, index)

    def prefetch(self, buffer_size, name=None) -> Dataset:
        """Accepted for compatibility; elements are produced on demand (see transforms)."""
        return _STAGES["prefetch"](self, buffer_size)

    def cache(self, filename="", name=None) -> Dataset:
        """Replays the first complete pass: from memory, or from `filename` when given."""
        return _STAGES["cache"](self, filename)

    def concatenate(self, dataset, name=None) -> Dataset:
        """This dataset's elements followed by `dataset`'s (compatible structures)."""
        return _STAGES["concatenate"](self, dataset)

    def enumerate(self, start=0, name=None) -> Dataset:
        """Pairs each element with its int64 position: `(i, element)`."""
        return _STAGES["enumerate"](self, start)

    def flat_map(self, map_func, name=None) -> Dataset:
        """Maps each element to a dataset and concatenates those datasets."""
        return _STAGES["flat_map"](self, map_func)

    def interleave(self, map_func, cycle_length=None, block_length=None,
                   num_parallel_calls=None, deterministic=None, name=None) -> Dataset:
        """Maps elements to datasets and mixes them: `block_length` elements from each
        of `cycle_length` open datasets in turn."""
        return _STAGES["interleave"](self, map_func, cycle_length, block_length,
                                        num_parallel_calls)

    def window(self, size, shift=None, stride=1, drop_remainder=False, name=None) -> Dataset:
        """Groups elements into windows: each element becomes a small dataset (per component)."""
        return _STAGES["window"](self, size, shift, stride, drop_remainder)

    def take_while(self, predicate, name=None) -> Dataset:
        """Elements up to (not including) the first for which `predicate` is false."""
        return _STAGES["take_while"](self, predicate)

    def unique(self, name=None) -> Dataset:
        """The first occurrence of each (scalar integer) element."""
        return _STAGES["unique"](self)

    def scan(self, initial_state, scan_func, name=None) -> Dataset:
        """A running state: `scan_func(state, element) -> (new_state, output)`."""
        return _STAGES["scan"](self, initial_state, scan_func)

    def group_by_window(self, key_func, reduce_func, window_size=None,
                        window_size_func=None, name=None) -> Dataset:
        """Groups elements by `key_func` into windows, each reduced to a dataset."""
        return _STAGES["group_by_window"](self, key_func, reduce_func, window_size,
                                           window_size_func)

    def bucket_by_sequence_length(self, element_length_func, bucket_boundaries,
                                  bucket_batch_sizes, padded_shapes=None, padding_values=None,
                                  pad_to_bucket_boundary=False, no_padding=False,
                                  drop_remainder=False, name=None) -> Dataset:
        """Batches elements of similar length together, padded per batch."""
        return _STAGES["bucket_by_sequence_length"](
            self, element_length_func, bucket_boundaries, bucket_batch_sizes, padded_shapes,
            padding_values, pad_to_bucket_boundary, no_padding, drop_remainder)

    def apply(self, transformation_func) -> Dataset:
        """`transformation_func(self)`: for reusable pipeline pieces."""
        return transformation_func(self)

    def reduce(self, initial_state, reduce_func):
        """Folds the elements into one value: `state = reduce_func(state, element)`."""
        return _STAGES["reduce"](self, initial_state, reduce_func)

    def get_single_element(self, name=None):
        """The only element of a one-element dataset."""
        return _STAGES["get_single_element"](self)

    def with_options(self, options, name=None) -> Dataset:
        """This dataset carrying `options` (a `tf.data.Options`)."""
        return _STAGES["with_options"](self, options)

    def options(self):
        """The options set by the nearest `with_options` upstream (defaults otherwise)."""
        ds = self
        while ds is not None:
            if isinstance(ds, _STAGES["with_options"]):
                return ds._options
            ds = getattr(ds, "_input", None)
        return Options()


def _check_not_tracing(what: str) -> None:
    """Refuses to read a dataset while a function is traced.

    The elements would be baked into the traced graph as constants: every
    later call would replay the first pass's batches. Failing loudly beats that.
    """
    if state.graph is not None:
        raise NotImplementedError(
            f"tapeflow does not support {what} a tf.data.Dataset inside a function being "
            f"traced ('{state.graph.name}'): its elements would be frozen into the graph as "
            "constants. Iterate the dataset outside the tf.function and call the function "
            "once per batch (for x, y in ds: train_step(x, y)).")


class DatasetIterator:
    """One pass over a dataset; yields tapeflow Tensors in the element structure.

    Example:
        >>> import tapeflow as tf
        >>> it = iter(tf.data.Dataset.range(2))
        >>> next(it)
        <tf.Tensor: shape=(), dtype=int64, numpy=0>
        >>> bool(it.get_next_as_optional().has_value())
        True
    """

    __slots__ = ("_it", "_pack", "element_spec")

    def __init__(self, dataset):
        self.element_spec = dataset.element_spec
        self._pack = structure.make_packer(self.element_spec)
        self._it = dataset._iter_flat()

    def __iter__(self):
        return self

    def __next__(self):
        st = state
        if st.graph is None and not st.tapes:
            return self._pack(next(self._it))
        # Inside a trace or under a tape, the pipeline (user map functions included)
        # still runs eagerly and unrecorded: tf.data elements are inputs, not part of
        # the caller's graph or gradient.
        with init_scope():
            flat = next(self._it)
        return self._pack(flat)

    def get_next(self):
        try:
            return self.__next__()
        except StopIteration:
            from tapeflow.framework.errors import OutOfRangeError
            raise OutOfRangeError(None, None, "End of sequence") from None

    def get_next_as_optional(self):
        try:
            return Optional(self.__next__())
        except StopIteration:
            return Optional(None, has=False)

