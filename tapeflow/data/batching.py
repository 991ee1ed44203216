"""Batching: `batch`, `padded_batch`, `unbatch`.

Over an indexed source (`dataset.py`) `batch` is one gather per batch
(`fast.batch_rows`); otherwise elements are collected and stacked, and their
shapes must agree (`padded_batch` pads them to a common shape instead).

    >>> import tapeflow as tf
    >>> ds = tf.data.Dataset.range(1, 4).map(lambda n: tf.fill([n], n))
    >>> [b.tolist() for b in ds.padded_batch(2).as_numpy_iterator()]
    [[[1, 0], [2, 2]], [[3, 3, 3]]]
"""
from __future__ import annotations

import itertools

import numpy as np

from tapeflow.data import fast, structure
from tapeflow.data.dataset import INFINITE, UNKNOWN, Dataset, row, stage
from tapeflow.data.functions import count_arg
from tapeflow.framework import errors
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape, as_shape
from tapeflow.framework.sparse_tensor_spec import SparseTensorSpec
from tapeflow.framework.tensor_spec import TensorSpec


def _dense_only(spec, what):
    """Batching SparseTensor components is not implemented: say so, naming the spec."""
    if any(isinstance(s, SparseTensorSpec) for s in structure.flatten(spec)):
        raise NotImplementedError(f"tf.data: {what} of elements holding a SparseTensor is not "
                                  f"supported; received element_spec {spec!r}. Convert with "
                                  "tf.sparse.to_dense in a map() first.")


@stage("batch")
class BatchDataset(Dataset):
    _tf_name = "_BatchDataset"

    def __init__(self, input_ds, batch_size, drop_remainder):
        _dense_only(input_ds.element_spec, "batch")
        self._input = input_ds
        self._size = count_arg(batch_size, "batch_size", "batch")
        if self._size <= 0:
            raise ValueError(f"batch: `batch_size` must be greater than zero, got "
                             f"{batch_size!r}.")
        self._drop = bool(drop_remainder)
        lead = self._size if self._drop else None
        self._spec = structure.map_specs(
            lambda s: TensorSpec(TensorShape([lead]).concatenate(s.shape), s.dtype),
            input_ds.element_spec)

    def _iter_flat(self):
        inner = self._input._indexed()
        if inner is not None:
            arrays, chunks = inner
            return fast.batch_rows(arrays, chunks(), self._size, self._drop)
        return self._stack_elements()

    def _stack_elements(self):
        size, it = self._size, self._input._iter_flat()
        while True:
            group = list(itertools.islice(it, size))
            if not group or (self._drop and len(group) < size):
                return
            yield [_stack(column, i) for i, column in enumerate(zip(*group))]

    def _card(self):
        n = self._input._card()
        if n < 0:
            return n
        return n // self._size if self._drop else -(-n // self._size)


def _stack(column, component):
    first = np.shape(column[0])
    for k, a in enumerate(column):
        if np.shape(a) != first:
            raise errors.InvalidArgumentError(
                f"Cannot batch tensors with different shapes in component {component}. "
                f"First element had shape {list(first)} and element {k} had shape "
                f"{list(np.shape(a))}. (Use padded_batch or map elements to one shape.)")
    return np.stack(column)


@stage("unbatch")
class UnbatchDataset(Dataset):
    _tf_name = "_UnbatchDataset"

    def __init__(self, input_ds):
        _dense_only(input_ds.element_spec, "unbatch")
        for s in structure.flatten(input_ds.element_spec):
            if s.shape.rank == 0:
                raise ValueError(f"unbatch: every component must have rank >= 1, got "
                                 f"{input_ds.element_spec!r}.")
        self._input = input_ds
        self._spec = structure.map_specs(
            lambda s: TensorSpec(s.shape[1:] if s.shape.rank else None, s.dtype),
            input_ds.element_spec)

    def _card(self):
        n = self._input._card()
        leads = {s.shape[0] if s.shape.rank else None
                 for s in structure.flatten(self._input.element_spec)}
        lead = leads.pop() if len(leads) == 1 else None
        if n == 0 or lead == 0:
            return 0
        if lead is None or n == UNKNOWN:
            return UNKNOWN
        return INFINITE if n == INFINITE else n * lead

    def _iter_flat(self):
        for flat in self._input._iter_flat():
            n = len(flat[0])
            if any(len(a) != n for a in flat):
                raise ValueError("unbatch: the components of an element have different "
                                 "first dimensions: " + ", ".join(str(a.shape) for a in flat))
            for i in range(n):
                yield [a[i] if a.ndim == 1 and a.dtype.kind != "O" else row(a, i)
                       for a in flat]




@stage("padded_batch")
class PaddedBatchDataset(Dataset):
    """`padded_batch`: batches elements of different shapes, padding each component.

    Each component is padded at the end of every axis, to `padded_shapes`
    where given (a None dim: the largest in the batch), with `padding_values`
    (default 0 / False).
    """

    _tf_name = "_PaddedBatchDataset"

    def __init__(self, input_ds, batch_size, padded_shapes, padding_values, drop_remainder):
        _dense_only(input_ds.element_spec, "padded_batch")
        self._input = input_ds
        self._size = count_arg(batch_size, "batch_size", "padded_batch")
        if self._size <= 0:
            raise ValueError(f"padded_batch: `batch_size` must be greater than zero, got "
                             f"{batch_size!r}.")
        self._drop = bool(drop_remainder)
        in_specs = structure.flatten(input_ds.element_spec)
        if padded_shapes is None:
            shapes = [TensorShape([None] * s.shape.rank) if s.shape.rank is not None else None
                      for s in in_specs]
            if any(s is None for s in shapes):
                raise ValueError("padded_batch: `padded_shapes` is required when a component's "
                                 f"rank is unknown: {input_ds.element_spec!r}.")
        else:
            shapes = _leaf_shapes(padded_shapes, len(in_specs))
        for spec, shape in zip(in_specs, shapes):
            if not as_shape([None] * shape.rank).is_compatible_with(spec.shape):
                raise ValueError(f"padded_batch: padded shape {shape} is incompatible with the "
                                 f"component shape {spec.shape}.")
        self._shapes = shapes
        if padding_values is None:
            # TF pads with 0, and strings with b''.
            values = [np.zeros((), s.dtype._np) if s.dtype._np.kind != "O" else
                      structure.to_array(b"", s.dtype) for s in in_specs]
        else:
            values = structure.flatten(padding_values) if isinstance(
                padding_values, (tuple, dict)) else [padding_values] * len(in_specs)
            if len(values) != len(in_specs):
                raise ValueError(f"padded_batch: `padding_values` {padding_values!r} does not "
                                 f"match the element structure {input_ds.element_spec!r}.")
            values = [structure.to_array(v, s.dtype, what="padding value")
                      for v, s in zip(values, in_specs)]
        self._values = values
        lead = self._size if self._drop else None
        self._spec = structure.pack(input_ds.element_spec, [
            TensorSpec(TensorShape([lead]).concatenate(shape), s.dtype)
            for s, shape in zip(in_specs, shapes)])

    def _iter_flat(self):
        size, it = self._size, self._input._iter_flat()
        while True:
            group = list(itertools.islice(it, size))
            if not group or (self._drop and len(group) < size):
                return
            yield [_pad_stack(column, shape, value)
                   for column, shape, value in zip(zip(*group), self._shapes, self._values)]

    def _card(self):
        n = self._input._card()
        if n < 0:
            return n
        return n // self._size if self._drop else -(-n // self._size)


def _leaf_shapes(padded_shapes, n) -> list:
    """`padded_shapes` leaves: a list/tuple of ints/None (or a TensorShape) is one shape."""
    def is_shape(s):
        return isinstance(s, TensorShape) or isinstance(s, (list, tuple)) and all(
            d is None or isinstance(d, (int, np.integer)) or hasattr(d, "numpy") for d in s)

    def leaves(s):
        if is_shape(s):
            return [TensorShape([None if d is None or int(d) == -1 else int(d) for d in s])]
        if isinstance(s, dict):
            return [x for k in sorted(s) for x in leaves(s[k])]
        if isinstance(s, tuple):
            return [x for v in s for x in leaves(v)]
        if isinstance(s, Tensor):
            return [TensorShape([None if int(d) == -1 else int(d) for d in s.numpy()])]
        raise TypeError(f"padded_batch: cannot read a shape from {s!r}.")
    out = leaves(padded_shapes)
    if len(out) != n:
        raise ValueError(f"padded_batch: `padded_shapes` {padded_shapes!r} has {len(out)} "
                         f"shapes for {n} components.")
    return out


def _pad_stack(column, shape, value):
    ranks = {np.ndim(a) for a in column}
    if ranks != {shape.rank}:
        raise ValueError(f"padded_batch: expected components of rank {shape.rank}, got ranks "
                         f"{sorted(ranks)}.")
    biggest = np.max([np.shape(a) for a in column], axis=0) if shape.rank else ()
    target = tuple(int(b) if d is None else d for d, b in zip(shape, biggest))
    for a in column:
        if any(n > t for n, t in zip(np.shape(a), target)):
            raise ValueError(f"padded_batch: attempted to pad to a smaller size than the input "
                             f"element: element shape {np.shape(a)}, padded shape {target}.")
    out = np.full((len(column),) + target, value, dtype=np.asarray(column[0]).dtype)
    for i, a in enumerate(column):
        out[(i,) + tuple(slice(0, n) for n in np.shape(a))] = a
    return out


@stage("rebatch")
def rebatch(input_ds, batch_size, drop_remainder):
    """`rebatch`: the rows of the batches, batched again (the leading dim stays known
    when every input batch has a size that `batch_size` divides)."""
    size = count_arg(batch_size, "batch_size", "rebatch")
    out = BatchDataset(UnbatchDataset(input_ds), size, drop_remainder)
    leads = {s.shape[0] if s.shape.rank else None
             for s in structure.flatten(input_ds.element_spec)}
    lead = leads.pop() if len(leads) == 1 else None
    if lead is not None and lead % size == 0:
        out._spec = structure.map_specs(
            lambda s: TensorSpec(TensorShape([size]).concatenate(s.shape[1:]), s.dtype),
            out.element_spec)
    out._tf_name = "_RebatchDataset"
    return out
