"""Stages whose elements are, or come from, datasets: `interleave`, `window`,
`group_by_window` and `bucket_by_sequence_length`.

`interleave` keeps `cycle_length` input-derived datasets open and takes
`block_length` elements from each in turn; an exhausted one is replaced by
the next input's dataset in the same slot (TF's order exactly). `window`
groups elements into small datasets (`DatasetSpec` in `element_spec`),
usually flattened back with `flat_map(lambda w: w.batch(n))`.

    >>> import tapeflow as tf
    >>> ds = tf.data.Dataset.range(1, 4).interleave(
    ...     lambda x: tf.data.Dataset.range(10 * x, 10 * x + 3), cycle_length=2)
    >>> [int(v) for v in ds]
    [10, 20, 11, 21, 12, 22, 30, 31, 32]
    >>> w = tf.data.Dataset.range(7).window(3, shift=2, drop_remainder=True)
    >>> [b.tolist() for b in w.flat_map(lambda win: win.batch(3)).as_numpy_iterator()]
    [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
"""
from __future__ import annotations

import bisect
import collections
import os

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import UNKNOWN, Dataset, stage
from tapeflow.data.functions import check_arity, count_arg, element_caller, fn_name
from tapeflow.data.transforms import FlatMapDataset
from tapeflow.framework import errors
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape


class DatasetSpec:
    """The spec of an element that is itself a dataset (as `window` yields)."""

    __slots__ = ("dataset_shape", "element_spec")

    def __init__(self, element_spec, dataset_shape=()):
        self.element_spec = element_spec
        self.dataset_shape = TensorShape(dataset_shape)

    @property
    def shape(self):
        return self.dataset_shape

    def __eq__(self, other):
        return (isinstance(other, DatasetSpec) and other.element_spec == self.element_spec
                and other.dataset_shape == self.dataset_shape)

    def __hash__(self):
        return hash(repr(self))

    def __repr__(self):
        return f"DatasetSpec({self.element_spec!r}, {self.dataset_shape!r})"


@stage("interleave")
class InterleaveDataset(FlatMapDataset):
    _tf_name = "_InterleaveDataset"
    _op = "interleave"

    def __init__(self, input_ds, fn, cycle_length, block_length, num_parallel_calls):
        if not callable(fn):
            raise TypeError(f"interleave: `map_func` must be callable, got "
                            f"{type(fn).__name__}.")
        if num_parallel_calls is not None:
            self._tf_name = "_ParallelInterleaveDataset"
        cycle = -1 if cycle_length is None else count_arg(cycle_length, "cycle_length",
                                                          "interleave")
        # AUTOTUNE (or None): one open dataset per CPU core, as TF chooses.
        self._cycle = cycle if cycle > 0 else (os.cpu_count() or 1)
        self._block = 1 if block_length is None else count_arg(block_length, "block_length",
                                                            "interleave")
        if self._block < 1 and self._block != -1:
            raise ValueError(f"interleave: `block_length` must be >= 1, got {block_length!r}.")
        self._block = max(self._block, 1)
        check_arity(fn, input_ds.element_spec, "interleave")
        self._input, self._fn = input_ds, fn

    def _iter_flat(self):
        inputs = self._datasets()
        slots = [None] * self._cycle
        index = block = n_open = 0
        end_of_input = False
        while not end_of_input or n_open:
            it = slots[index]
            if it is not None:
                flat = next(it, None)
                if flat is not None:
                    yield flat
                    block += 1
                    if block < self._block:
                        continue
                else:
                    slots[index] = None
                    n_open -= 1
            elif not end_of_input:
                ds = next(inputs, None)
                if ds is not None:
                    slots[index] = ds._iter_flat()
                    n_open += 1
                    continue            # read from the new dataset before moving on
                end_of_input = True
            index, block = (index + 1) % self._cycle, 0

    def _card(self):
        return UNKNOWN


class _ListDataset(Dataset):
    """A window: a few already-computed elements of one component."""

    _tf_name = "_VariantDataset"

    def __init__(self, elements, spec):
        self._elements, self._spec = elements, spec

    def _iter_flat(self):
        return ([e] for e in self._elements)

    def _card(self):
        return len(self._elements)


@stage("window")
class WindowDataset(Dataset):
    _tf_name = "_WindowDataset"

    def __init__(self, input_ds, size, shift, stride, drop_remainder):
        self._size = count_arg(size, "size", "window")
        self._shift = self._size if shift is None else count_arg(shift, "shift", "window")
        self._stride = count_arg(stride, "stride", "window")
        for what, v in (("size", self._size), ("shift", self._shift), ("stride", self._stride)):
            if v < 1:
                raise ValueError(f"window: `{what}` must be >= 1, got {v}.")
        self._drop = bool(drop_remainder)
        self._input = input_ds
        self._spec = structure.map_specs(lambda s: DatasetSpec(s), input_ds.element_spec)

    def _iter_flat(self):
        span = (self._size - 1) * self._stride + 1     # input elements one window covers
        specs = structure.flatten(self._input.element_spec)
        it = self._input._iter_flat()
        buf = collections.deque()
        exhausted = False
        while True:
            while not exhausted and len(buf) < span:
                flat = next(it, None)
                if flat is None:
                    exhausted = True
                else:
                    buf.append(flat)
            members = list(buf)[::self._stride][:self._size]
            if not members or (self._drop and len(members) < self._size):
                return
            yield [_ListDataset([m[i] for m in members], s) for i, s in enumerate(specs)]
            for _ in range(self._shift):       # the next window starts `shift` further on
                if buf:
                    buf.popleft()
                elif exhausted:
                    break
                elif next(it, None) is None:
                    exhausted = True

    def _card(self):
        n = self._input._card()
        if n < 0:
            return n
        if self._drop:
            span = (self._size - 1) * self._stride + 1
            return 0 if n < span else (n - span) // self._shift + 1
        return -(-n // self._shift)


class ElementsDataset(Dataset):
    """A few already-computed elements (one group of `group_by_window`)."""

    _tf_name = "_VariantDataset"

    def __init__(self, elements, spec):
        self._elements, self._spec = elements, spec

    def _iter_flat(self):
        return iter(self._elements)

    def _card(self):
        return len(self._elements)


@stage("group_by_window")
class GroupByWindowDataset(Dataset):
    """`group_by_window`: elements grouped by `key_func`; each full group (and, at the
    end, each partial group in key order) goes through `reduce_func(key, window)`."""

    _tf_name = "_GroupByWindowDataset"

    def __init__(self, input_ds, key_func, reduce_func, window_size, window_size_func,
                 probe_keys=(0,)):
        if (window_size is None) == (window_size_func is None):
            raise ValueError("group_by_window: give exactly one of `window_size` and "
                             "`window_size_func`.")
        if window_size is not None:
            size = count_arg(window_size, "window_size", "group_by_window")

            def window_size_func(key):
                return size
        check_arity(key_func, input_ds.element_spec, "group_by_window", "key_func")
        self._input, self._key, self._reduce = input_ds, key_func, reduce_func
        self._size = window_size_func
        # reduce_func builds a pipeline over a window: on an empty one it only
        # describes the output, like TF's trace of it. Dims that differ between the
        # probed keys are unknown.
        specs = []
        for key in probe_keys:
            probe = reduce_func(Tensor(np.int64(key)), ElementsDataset([], input_ds.element_spec))
            if not isinstance(probe, Dataset):
                raise TypeError(f"group_by_window: `reduce_func` {fn_name(reduce_func)} must "
                                f"return a Dataset, got {type(probe).__name__}.")
            specs.append(probe.element_spec)
        merged = structure.flatten(specs[0])
        for other in specs[1:]:
            merged = [a.most_specific_compatible_type(b)
                      for a, b in zip(merged, structure.flatten(other))]
        self._spec = structure.pack(specs[0], merged)

    def _key_of(self, call, flat):
        key = call(flat)
        value = key._value if isinstance(key, Tensor) else np.asarray(key)
        if np.ndim(value) != 0 or np.asarray(value).dtype != np.int64:
            raise ValueError(f"group_by_window: `key_func` {fn_name(self._key)} must return a "
                             f"scalar tf.int64 tensor; got dtype {np.asarray(value).dtype} "
                             f"shape {np.shape(value)}.")
        return int(value)

    def _window_size(self, key):
        size = self._size(Tensor(np.int64(key)))
        size = int(size._value if isinstance(size, Tensor) else size)
        if size < 1:
            raise ValueError(f"group_by_window: window size for key {key} must be >= 1, "
                             f"got {size}.")
        return size

    def _flush(self, key, elements):
        ds = self._reduce(Tensor(np.int64(key)), ElementsDataset(elements,
                                                                 self._input.element_spec))
        return ds._iter_flat()

    def _iter_flat(self):
        call = element_caller(self._key, self._input.element_spec)
        groups: dict = {}
        for flat in self._input._iter_flat():
            key = self._key_of(call, flat)
            group = groups.setdefault(key, [])
            group.append(flat)
            if len(group) >= self._window_size(key):
                del groups[key]
                yield from self._flush(key, group)
        for key in sorted(groups):            # leftovers in key order, as TF does
            yield from self._flush(key, groups[key])

    def _card(self):
        return UNKNOWN


@stage("bucket_by_sequence_length")
def bucket_by_sequence_length(ds, element_length_func, bucket_boundaries, bucket_batch_sizes,
                              padded_shapes=None, padding_values=None,
                              pad_to_bucket_boundary=False, no_padding=False,
                              drop_remainder=False):
    """Batches elements of similar length together (`group_by_window` + `padded_batch`)."""
    bounds = [int(b) for b in bucket_boundaries]
    sizes = [int(b) for b in bucket_batch_sizes]
    if len(sizes) != len(bounds) + 1:
        raise ValueError(f"bucket_by_sequence_length: len(bucket_batch_sizes) must equal "
                         f"len(bucket_boundaries) + 1; got {len(sizes)} and {len(bounds)}.")
    if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
        raise ValueError(f"bucket_by_sequence_length: bucket_boundaries must be strictly "
                         f"increasing, got {bounds}.")
    length_of = element_caller(element_length_func, ds.element_spec)

    def key(*element):
        flat = structure.flatten(element if isinstance(ds.element_spec, tuple) else element[0])
        length = int(length_of([t._value for t in flat]))
        if pad_to_bucket_boundary and bounds and length >= bounds[-1]:
            raise errors.InvalidArgumentError(
                None, None, "When pad_to_bucket_boundary=True, elements must have length < "
                            f"max(bucket_boundaries) = {bounds[-1]}; got length {length}.")
        return Tensor(np.int64(bisect.bisect_right(bounds, length)))

    def reduce(bucket, window):
        size = sizes[int(bucket)]
        if no_padding:
            return window.batch(size, drop_remainder=drop_remainder)
        shapes = padded_shapes
        if pad_to_bucket_boundary and int(bucket) < len(bounds):
            fill = bounds[int(bucket)] - 1
            shapes = structure.map_specs(
                lambda s: TensorShape([fill if d is None else d for d in s.shape]),
                window.element_spec) if padded_shapes is None else padded_shapes
        return window.padded_batch(size, shapes, padding_values, drop_remainder=drop_remainder)

    return GroupByWindowDataset(ds, key, reduce, None, lambda k: sizes[int(k)],
                                probe_keys=range(len(sizes)))
