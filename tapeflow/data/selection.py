"""Stateful and sampling stages: take_while, unique, scan, random, sample/choose_from_datasets.

    >>> import tapeflow as tf
    >>> D = tf.data.Dataset
    >>> [int(v) for v in D.range(10).take_while(lambda x: x < 4)]
    [0, 1, 2, 3]
    >>> [int(v) for v in D.range(5).scan(tf.constant(0, tf.int64), lambda s, x: (s + x, s))]
    [0, 0, 1, 3, 6]
    >>> picks = D.from_tensor_slices(tf.constant([0, 1, 1, 0], tf.int64))
    >>> [int(v) for v in D.choose_from_datasets([D.range(3), D.range(10, 13)], picks)]
    [0, 10, 11, 1]
"""
from __future__ import annotations

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import INFINITE, UNKNOWN, Dataset, stage
from tapeflow.data.shuffle import seed_material
from tapeflow.data.functions import check_arity, element_caller, fn_name, traced_spec
from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_spec import TensorSpec


@stage("take_while")
class TakeWhileDataset(Dataset):
    _tf_name = "_TakeWhileDataset"

    def __init__(self, input_ds, predicate):
        check_arity(predicate, input_ds.element_spec, "take_while", "predicate")
        self._input, self._fn = input_ds, predicate
        self._spec = input_ds.element_spec

    def _iter_flat(self):
        call = element_caller(self._fn, self._spec)
        for flat in self._input._iter_flat():
            keep = call(flat)
            value = keep._value if isinstance(keep, Tensor) else np.asarray(keep)
            if np.ndim(value) != 0 or np.asarray(value).dtype != np.bool_:
                raise ValueError(f"take_while: `predicate` {fn_name(self._fn)} must return a "
                                 f"scalar boolean tensor; got dtype {np.asarray(value).dtype} "
                                 f"shape {np.shape(value)}.")
            if not value:
                return
            yield flat

    def _card(self):
        return UNKNOWN


@stage("unique")
class UniqueDataset(Dataset):
    """First occurrences of scalar integer elements, in order."""

    _tf_name = "_UniqueDataset"

    def __init__(self, input_ds):
        spec = input_ds.element_spec
        if not isinstance(spec, TensorSpec) or spec.dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"`tf.data.Dataset.unique` does not support type {spec!r}: only "
                            "scalar tf.int32 and tf.int64 elements are supported.")
        self._input, self._spec = input_ds, spec

    def _iter_flat(self):
        seen = set()
        for flat in self._input._iter_flat():
            key = flat[0].item() if np.ndim(flat[0]) == 0 else None
            if key is None:
                raise ValueError(f"unique: elements must be scalars, got shape "
                                 f"{np.shape(flat[0])}.")
            if key not in seen:
                seen.add(key)
                yield flat

    def _card(self):
        return UNKNOWN


@stage("scan")
class ScanDataset(Dataset):
    """`scan(initial_state, scan_func)`: `(state, element) -> (new_state, output)`."""

    _tf_name = "_ScanDataset"

    def __init__(self, input_ds, initial_state, fn):
        if not callable(fn):
            raise TypeError(f"scan: `scan_func` must be callable, got {type(fn).__name__}.")
        self._state_spec, self._state = structure.normalize(initial_state, what="scan state")
        self._input, self._fn = input_ds, fn
        in_spec = (self._state_spec, input_ds.element_spec)
        traced = traced_spec(lambda s, e: self._split(fn(s, e))[1], in_spec)
        self._spec = traced

    def _split(self, result):
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError(f"scan: `scan_func` {fn_name(self._fn)} must return a pair "
                            f"(new_state, output), got {result!r}.")
        return result

    @property
    def element_spec(self):
        if self._spec is None:          # the trace failed: run the function once
            with init_scope():
                for _ in self._iter_flat():
                    break
            if self._spec is None:
                raise ValueError("scan: cannot determine the element_spec of an empty dataset.")
        return self._spec

    def _iter_flat(self):
        pack_state = structure.make_packer(self._state_spec)
        pack_elem = structure.make_packer(self._input.element_spec)
        n_state = len(self._state)
        state = list(self._state)
        for flat in self._input._iter_flat():
            new_state, out = self._split(self._fn(pack_state(state), pack_elem(flat)))
            state = structure.flat_arrays(new_state, what="scan state")
            if len(state) != n_state:
                raise ValueError(f"scan: the new state {new_state!r} does not match the "
                                 f"structure of the initial state {self._state_spec!r}.")
            if self._spec is None:
                self._spec = structure.normalize(out, what="scan output")[0]
            yield structure.flat_arrays(out, what="scan output")

    def _card(self):
        return self._input._card()


@stage("random")
class RandomDataset(Dataset):
    """`Dataset.random(seed)`: an infinite stream of non-negative random int64 scalars."""

    _tf_name = "_RandomDataset"

    def __init__(self, seed):
        self._seed = seed_material(seed)
        self._spec = TensorSpec([], dtypes.int64)

    def _iter_flat(self):
        rng = np.random.default_rng(self._seed)
        while True:
            for v in rng.integers(0, 2**32, 1024, dtype=np.int64):
                yield [v]

    def _card(self):
        return INFINITE


@stage("sample_from_datasets")
class SampleDataset(Dataset):
    """`sample_from_datasets`: each element from a dataset drawn with `weights`."""

    _tf_name = "_DirectedInterleaveDataset"

    def __init__(self, datasets, weights, seed, stop_on_empty_dataset):
        self._datasets = _check_datasets(datasets, "sample_from_datasets")
        n = len(self._datasets)
        w = np.full(n, 1.0 / n) if weights is None else np.asarray(
            weights._value if isinstance(weights, Tensor) else weights, np.float64)
        if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"sample_from_datasets: `weights` must be {n} non-negative numbers "
                             f"with a positive sum, got {weights!r}.")
        self._weights = w / w.sum()
        self._seed = seed_material(seed)
        self._stop = bool(stop_on_empty_dataset)
        self._passes = 0
        self._spec = self._datasets[0].element_spec

    def _iter_flat(self):
        rng = np.random.default_rng(self._seed + [self._passes])
        self._passes += 1
        its = [d._iter_flat() for d in self._datasets]
        w = self._weights.copy()
        while w.sum() > 0:
            k = int(rng.choice(len(its), p=w / w.sum()))
            flat = next(its[k], None)
            if flat is not None:
                yield flat
            elif self._stop:
                return
            else:
                w[k] = 0.0       # drop the exhausted dataset; the others keep their ratios

    def _card(self):
        cards = [d._card() for d in self._datasets]
        return INFINITE if all(c == INFINITE for c in cards) else UNKNOWN


@stage("choose_from_datasets")
class ChooseDataset(Dataset):
    """`choose_from_datasets`: `choice_dataset`'s int64 values pick the source of each element."""

    _tf_name = "_DirectedInterleaveDataset"

    def __init__(self, datasets, choice_dataset, stop_on_empty_dataset):
        self._datasets = _check_datasets(datasets, "choose_from_datasets")
        spec = getattr(choice_dataset, "element_spec", None)
        if spec != TensorSpec([], dtypes.int64):
            raise TypeError(f"choose_from_datasets: `choice_dataset` must be a dataset of scalar "
                            f"tf.int64 tensors, got element_spec {spec!r}.")
        self._choices, self._stop = choice_dataset, bool(stop_on_empty_dataset)
        self._spec = self._datasets[0].element_spec

    def _iter_flat(self):
        its = [d._iter_flat() for d in self._datasets]
        for (k,) in self._choices._iter_flat():
            k = int(k)
            if not 0 <= k < len(its):
                raise ValueError(f"choose_from_datasets: choice {k} is out of range for "
                                 f"{len(its)} datasets.")
            flat = next(its[k], None)
            if flat is not None:
                yield flat
            elif self._stop:
                return

    def _card(self):
        return UNKNOWN


def _check_datasets(datasets, op):
    datasets = list(datasets)
    if not datasets or not all(isinstance(d, Dataset) for d in datasets):
        raise TypeError(f"{op}: expected a non-empty list of Datasets, got {datasets!r}.")
    first = datasets[0].element_spec
    for d in datasets[1:]:
        if not structure.specs_compatible(first, d.element_spec):
            raise TypeError(f"{op}: all datasets must have compatible elements; got {first!r} "
                            f"and {d.element_spec!r}.")
    return datasets


class AssertCardinalityDataset(Dataset):
    """`assert_cardinality(n)`: declares the length, and checks it while iterating."""

    _tf_name = "_AssertCardinalityDataset"

    def __init__(self, input_ds, expected):
        self._input, self._n = input_ds, int(expected)
        self._spec = input_ds.element_spec

    def _iter_flat(self):
        count = 0
        for flat in self._input._iter_flat():
            count += 1
            if self._n >= 0 and count > self._n:
                raise _failed(f"Input dataset was expected to contain {self._n} elements but "
                              f"contained at least {count} elements.")
            yield flat
        if self._n == INFINITE or count < self._n:
            raise _failed(f"Input dataset was expected to contain {_describe(self._n)} but "
                          f"contained only {count} elements.")

    def _card(self):
        return self._n


def _describe(n):
    return "an infinite number of elements" if n == INFINITE else f"{n} elements"


def _failed(message):
    from tapeflow.framework.errors import FailedPreconditionError
    return FailedPreconditionError(None, None, message)


def assert_cardinality(expected_cardinality):
    """`tf.data.experimental.assert_cardinality`: a function for `Dataset.apply`.

        >>> import tapeflow as tf
        >>> g = tf.data.Dataset.from_generator(lambda: iter(range(3)),
        ...                                    output_signature=tf.TensorSpec([], tf.int64))
        >>> len(g.apply(tf.data.experimental.assert_cardinality(3)))
        3
    """
    n = int(expected_cardinality)
    return lambda ds: AssertCardinalityDataset(ds, n)


@stage("counter")
class CounterDataset(Dataset):
    """`Dataset.counter(start, step)`: start, start + step, ... forever."""

    _tf_name = "_CounterDataset"

    def __init__(self, start, step, dtype):
        self._start, self._step = int(start), int(step)
        self._spec = TensorSpec([], dtypes.as_dtype(dtype))

    def _iter_flat(self):
        cast, value = self._spec.dtype.as_numpy_dtype, self._start
        while True:
            yield [cast(value)]
            value += self._step

    def _card(self):
        return INFINITE
