"""Turns what `fit`/`evaluate`/`predict` receive into batches.

Arrays (NumPy arrays, Tensors, lists or dicts of them for several inputs or
outputs) are cut into `batch_size` slices, reshuffled each epoch when asked;
a `tf.data.Dataset` (or any iterable of batches) is iterated as it is, each
element `x`, `(x, y)` or `(x, y, sample_weight)`.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from tapeflow.data import fast
from tapeflow.framework.tensor import Tensor, TensorBase, is_tensor
from tapeflow.utils import nest


def _is_array_like(x) -> bool:
    return isinstance(x, (np.ndarray, TensorBase))


def _to_numpy(x):
    if is_tensor(x):
        return np.asarray(x._value)
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, (int, float, np.number))
                                                   for v in nest.flatten(x)):
        return np.asarray(x)
    return x


def is_dataset_like(x) -> bool:
    """A tf.data.Dataset or another iterable of batches (not an array or a list of arrays)."""
    if x is None or _is_array_like(x) or isinstance(x, (list, tuple, dict, str, bytes)):
        return False
    return hasattr(x, "__iter__")


def _check_array_input(name, data):
    for leaf in nest.flatten(data):
        if leaf is None or isinstance(leaf, (np.ndarray, np.generic, int, float, bool)) or \
                _is_array_like(leaf):
            continue
        raise TypeError(f"`{name}` must be a NumPy array, a tensor, a list/tuple/dict of them, "
                        f"or (for x) a tf.data.Dataset; received {leaf!r:.80} of type "
                        f"{type(leaf).__name__}")


def unpack(data):
    """(x, y, sample_weight) from a batch: x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
        raise ValueError(f"A batch must be x, (x, y) or (x, y, sample_weight); received a tuple "
                         f"of {len(data)} elements")
    return data, None, None


def pack(x, y=None, sample_weight=None):
    """The batch a train_step receives, as Keras builds it: `(x, y)`, `(x, y, sample_weight)`,
    or x alone when there are no targets (`(x,)` when x is itself a tuple or list)."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _as_arrays(data):
    """Arrays of a structure; a nested list of plain numbers is one array, not a structure."""
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(v, (int, float, np.number, list, tuple)) for v in data) and all(
            isinstance(v, (int, float, np.number)) for v in nest.flatten(data)):
        return np.asarray(data)
    return nest.map_structure(_to_numpy, data)


class ArrayData:
    """Batches of in-memory arrays."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False):
        self.x = _as_arrays(x)
        self.y = None if y is None else _as_arrays(y)
        self.sample_weight = None if sample_weight is None else _to_numpy(sample_weight)
        flat = [a for a in nest.flatten((self.x, self.y, self.sample_weight)) if a is not None]
        sizes = {int(np.shape(a)[0]) if np.ndim(a) else 0 for a in flat}
        if len(sizes) != 1:
            desc = ", ".join(str(np.shape(a)) for a in flat)
            raise ValueError(f"Data cardinality is ambiguous: make sure all arrays contain the "
                             f"same number of samples; received arrays of shapes {desc}")
        self.n = sizes.pop()
        if self.n == 0:
            raise ValueError("Expected at least one sample; received empty arrays")
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.steps = math.ceil(self.n / self.batch_size)

    def split(self, fraction):
        """(train, validation): the last `fraction` of the samples held out, as Keras does."""
        if not 0 < fraction < 1:
            raise ValueError(f"validation_split must be in (0, 1), received {fraction}")
        cut = int(self.n * (1.0 - fraction))
        if cut == 0 or cut == self.n:
            raise ValueError(f"validation_split={fraction} leaves no samples on one side "
                             f"({self.n} samples)")


        def part(data, s):
            return None if data is None else nest.map_structure(lambda a: a[s], data)
        train = ArrayData(part(self.x, slice(0, cut)), part(self.y, slice(0, cut)),
                          part(self.sample_weight, slice(0, cut)), self.batch_size, self.shuffle)
        val = ArrayData(part(self.x, slice(cut, None)), part(self.y, slice(cut, None)),
                        part(self.sample_weight, slice(cut, None)), self.batch_size, False)
        return train, val

    def __iter__(self):
        if self.shuffle:
            from tapeflow.ops import random_ops
            order = np.asarray(random_ops.shuffle(np.arange(self.n, dtype=np.int64))._value)
        else:
            order = range(self.n)
        # One gather per array and batch (tf.data's fast path): a contiguous run is a
        # slice copy, a shuffled one an np.take.
        structure = (self.x, self.y, self.sample_weight)
        leaves = nest.flatten(structure)
        arrays = [a for a in leaves if a is not None]
        for flat in fast.batch_rows(arrays, [order], self.batch_size, False):
            batch = iter(flat)
            yield pack(*nest.pack_sequence_as(
                structure, [None if a is None else next(batch) for a in leaves]))


class IterableData:
    """Batches from a Dataset or any iterable; `steps` limits each pass."""

    def __init__(self, data, steps=None):
        self.data = data
        self.steps = steps
        self._given_steps = steps
        self._iterator = None
        if steps is None and hasattr(data, "cardinality"):
            n = int(data.cardinality())
            if n == -1:          # tf.data.INFINITE_CARDINALITY
                raise ValueError("The dataset is infinite (e.g. it ends with .repeat()): pass "
                                 "`steps_per_epoch` (and `validation_steps`) to say how many "
                                 "batches make an epoch.")
            self.steps = n if n >= 0 else None
        elif steps is None:
            try:
                n = len(data)
                self.steps = int(n) if n >= 0 else None
            except (TypeError, ValueError):
                self.steps = None

    def __iter__(self):
        if self._given_steps is None:
            source = iter(self.data)
        else:
            # With steps_per_epoch, epochs continue one iterator (as Keras), so a repeated
            # dataset is not restarted at every epoch; an exhausted one starts over.
            if self._iterator is None:
                self._iterator = iter(self.data)
            source = self._iterator
        for i in range(self.steps) if self.steps is not None else itertools.count():
            try:
                batch = next(source)
            except StopIteration:
                self._iterator = None
                return
            if isinstance(batch, list):
                batch = tuple(batch)
            yield unpack(batch)


def class_weights_for(y, class_weight):
    """Per-example weights class_weight[label] (labels: ids, (N, 1) ids or one-hot rows)."""
    y = np.asarray(y._value if isinstance(y, Tensor) else y)
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = labels.astype(np.int64)
    missing = sorted(set(np.unique(labels).tolist()) - {int(k) for k in class_weight})
    if missing:
        raise ValueError(f"class_weight has no entry for class(es) {missing}; expected a weight "
                         f"for every label, received keys {sorted(class_weight)}")
    table = np.zeros(labels.max() + 1 if labels.size else 1, np.float32)
    for k, w in class_weight.items():
        if int(k) < len(table):
            table[int(k)] = w
    return table[labels]


class _ClassWeighted:
    """Adds class-weight sample weights to each batch of another batch source."""

    def __init__(self, data, class_weight):
        self.data, self.class_weight = data, class_weight
        self.steps = data.steps

    def __iter__(self):
        for batch in self.data:
            x, y, sw = unpack(batch)
            cw = class_weights_for(y, self.class_weight)
            yield x, y, cw if sw is None else np.asarray(sw) * cw


def make(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None,
         class_weight=None):
    """An iterable of (x, y, sample_weight) batches with a `steps` count (None if unknown)."""
    if class_weight:
        if y is not None and not is_dataset_like(x):
            cw = class_weights_for(y, class_weight)
            sample_weight = cw if sample_weight is None else np.asarray(sample_weight) * cw
        else:
            return _ClassWeighted(make(x, y, sample_weight, batch_size, shuffle, steps),
                                  class_weight)
    if is_dataset_like(x):
        if y is not None:
            raise ValueError("`y` argument is not supported when using a dataset as input: the "
                             "dataset must yield (x, y) pairs.")
        return IterableData(x, steps)
    if x is None:
        raise ValueError("Expected input data `x`; received None")
    _check_array_input("x", x)
    _check_array_input("y", y)
    data = ArrayData(x, y, sample_weight, batch_size, shuffle)
    if steps is not None:
        data.steps = min(data.steps, int(steps))
        data.n = min(data.n, data.steps * data.batch_size)
    return data
