"""Stages whose elements are, or come from, datasets: `interleave` and `window`.

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

import collections
import os

from tapeflow.data import structure
from tapeflow.data.dataset import UNKNOWN, Dataset
from tapeflow.data.transforms import _caller, _count, _fn_name, check_arity
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


class InterleaveDataset(Dataset):
    _tf_name = "_InterleaveDataset"

    def __init__(self, input_ds, fn, cycle_length, block_length, num_parallel_calls):
        if not callable(fn):
            raise TypeError(f"interleave: `map_func` must be callable, got "
                            f"{type(fn).__name__}.")
        if num_parallel_calls is not None:
            self._tf_name = "_ParallelInterleaveDataset"
        cycle = -1 if cycle_length is None else _count(cycle_length, "cycle_length", "interleave")
        # AUTOTUNE (or None): one open dataset per CPU core, as TF chooses.
        self._cycle = cycle if cycle > 0 else (os.cpu_count() or 1)
        self._block = 1 if block_length is None else _count(block_length, "block_length",
                                                            "interleave")
        if self._block < 1 and self._block != -1:
            raise ValueError(f"interleave: `block_length` must be >= 1, got {block_length!r}.")
        self._block = max(self._block, 1)
        check_arity(fn, input_ds.element_spec, "interleave")
        self._input, self._fn = input_ds, fn

    def _datasets(self):
        call = _caller(self._fn, self._input.element_spec)
        for flat in self._input._iter_flat():
            ds = call(flat)
            if not isinstance(ds, Dataset):
                raise TypeError(f"interleave: `map_func` {_fn_name(self._fn)} must return a "
                                f"Dataset, got {type(ds).__name__}.")
            yield ds

    @property
    def element_spec(self):
        if self._spec is None:
            for ds in self._datasets():
                self._spec = ds.element_spec
                break
            else:
                raise ValueError("interleave: cannot determine the element_spec of an empty "
                                 "input dataset.")
        return self._spec

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


class WindowDataset(Dataset):
    _tf_name = "_WindowDataset"

    def __init__(self, input_ds, size, shift, stride, drop_remainder):
        self._size = _count(size, "size", "window")
        self._shift = self._size if shift is None else _count(shift, "shift", "window")
        self._stride = _count(stride, "stride", "window")
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
