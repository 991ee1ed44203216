"""Dataset sources: tensor slices, a single element, a range, a Python generator.

    >>> import tapeflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices([[1, 2], [3, 4], [5, 6]])
    >>> ds
    <_TensorSliceDataset element_spec=TensorSpec(shape=(2,), dtype=tf.int32, name=None)>
    >>> len(ds)
    3
"""
from __future__ import annotations

import operator

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import UNKNOWN, Dataset, rows, stage
from tapeflow.framework import dtypes
from tapeflow.framework.sparse_tensor_spec import SparseTensorSpec
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.framework.tensor_spec import TensorSpec

# `range` datasets up to this length are served as an indexed source (an
# arange array of at most 32 MB); longer ones count up lazily.
_MAX_INDEXED_RANGE = 1 << 22


@stage("from_tensor_slices")
class TensorSliceDataset(Dataset):
    """Rows of one or more arrays with the same first dimension."""

    _tf_name = "_TensorSliceDataset"

    def __init__(self, tensors):
        spec, flat = structure.normalize(tensors, what="from_tensor_slices input")
        leaves = structure.flatten(tensors)
        if not flat:
            raise ValueError("from_tensor_slices: expected at least one tensor, got an "
                             f"empty structure {tensors!r}.")
        if any(isinstance(s, SparseTensorSpec) for s in structure.flatten(spec)):
            raise NotImplementedError(
                "from_tensor_slices: slicing a SparseTensor is not supported; received "
                f"element structure {spec!r}. Use from_tensors, or tf.sparse.to_dense first.")
        for a in flat:
            if np.ndim(a) == 0:
                raise ValueError(
                    f"from_tensor_slices: every component must have rank >= 1 to be sliced; "
                    f"got a scalar of dtype {a.dtype} (input structure: {spec!r}).")
        n = flat[0].shape[0]
        if any(a.shape[0] != n for a in flat):
            shapes = ", ".join(str(tuple(a.shape)) for a in flat)
            raise ValueError(f"from_tensor_slices: all components must have the same size "
                             f"in their first dimension; got shapes {shapes}.")
        # NumPy arrays from the caller are snapshotted; tensors are immutable.
        self._arrays = [np.array(a) if isinstance(v, np.ndarray) else np.asarray(a)
                        for a, v in zip(flat, leaves)]
        self._n = n
        self._spec = structure.map_specs(lambda s: TensorSpec(s.shape[1:], s.dtype), spec)

    def _indexed(self):
        n = self._n
        return self._arrays, lambda: iter((range(n),))

    def _card(self):
        return self._n


@stage("from_tensors")
class TensorDataset(Dataset):
    """A single element (`from_tensors`), served as one row of size-1 arrays."""

    _tf_name = "_TensorDataset"

    def __init__(self, tensors):
        spec, flat = structure.normalize(tensors, what="from_tensors input")
        self._arrays = [np.array(a)[None] for a in flat]
        self._spec = spec

    def _indexed(self):
        return self._arrays, lambda: iter((range(1),))

    def _card(self):
        return 1


@stage("range")
class RangeDataset(Dataset):
    """`Dataset.range(stop)`, `range(start, stop[, step])`: int64 scalars."""

    _tf_name = "_RangeDataset"

    def __init__(self, *args, dtype=None):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range: expected 1 to 3 arguments (start, stop, step), "
                            f"got {len(args)}.")
        try:
            ints = [operator.index(a) if not hasattr(a, "numpy") else int(a) for a in args]
        except TypeError:
            raise TypeError(f"Dataset.range: arguments must be integers, got {args!r}.") from None
        r = range(*ints)   # raises ValueError for a zero step, as Python's does
        self._range = r
        self._dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
        self._spec = TensorSpec([], self._dtype)
        self._array = None

    def _indexed(self):
        if len(self._range) > _MAX_INDEXED_RANGE:
            return None
        if self._array is None:
            self._array = np.arange(self._range.start, self._range.stop, self._range.step,
                                    dtype=self._dtype._np)
        n = len(self._range)
        return [self._array], lambda: iter((range(n),))

    def _iter_flat(self):
        if self._indexed() is not None:
            return rows(*self._indexed())
        cast = self._dtype.as_numpy_dtype
        return ([cast(i)] for i in self._range)

    def _card(self):
        return len(self._range)


@stage("from_generator")
class GeneratorDataset(Dataset):
    """Elements from `generator(*args)`, converted and checked against the signature."""

    _tf_name = "_FlatMapDataset"

    def __init__(self, generator, output_types, output_shapes, args, output_signature):
        if not callable(generator):
            raise TypeError(f"from_generator: `generator` must be a callable that returns an "
                            f"iterator, got {type(generator).__name__} {generator!r}.")
        if output_signature is not None:
            if output_types is not None or output_shapes is not None:
                raise TypeError("from_generator: give either `output_signature` or "
                                "`output_types` (with optional `output_shapes`), not both.")
            spec = structure.map_specs(_check_spec, _tuplify(output_signature))
        elif output_types is not None:
            types = _tuplify(output_types)
            if output_shapes is None:
                spec = _leafify(types)
            else:
                flat_t = structure.flatten(_leafify(types))
                flat_s = _flatten_shapes(output_shapes)
                if len(flat_t) != len(flat_s):
                    raise ValueError(f"from_generator: `output_shapes` {output_shapes!r} does "
                                     f"not match the structure of `output_types` "
                                     f"{output_types!r}.")
                spec = structure.pack(_leafify(types), [
                    TensorSpec(s, t.dtype) for t, s in zip(flat_t, flat_s)])
        else:
            raise TypeError("from_generator: expected `output_signature` (a structure of "
                            "tf.TensorSpec), or `output_types`; got neither.")
        self._generator = generator
        self._args = tuple(structure.to_array(a, what="generator argument")
                           for a in (args or ()))
        self._spec = spec
        self._flat_spec = structure.flatten(spec)

    def _iter_flat(self):
        specs = self._flat_spec
        name = getattr(self._generator, "__name__", repr(self._generator))
        it = iter(self._generator(*self._args))
        for value in it:
            flat = structure.flatten(_as_structure(value, self._spec))
            if len(flat) != len(specs):
                raise TypeError(
                    f"`generator` {name} yielded an element that did not match the expected "
                    f"structure. The expected structure was {self._spec!r}, but the yielded "
                    f"element was {value!r}.")
            out = []
            for v, s in zip(flat, specs):
                try:
                    a = structure.to_array(v, s.dtype, what="generator output")
                except (TypeError, ValueError) as e:
                    raise TypeError(f"`generator` {name} yielded an element that could not "
                                    f"be converted to the expected type {s.dtype.name}: "
                                    f"{v!r} ({e})") from None
                dims = s.shape._dims
                if dims is not None and (len(dims) != a.ndim or any(
                        d is not None and d != n for d, n in zip(dims, a.shape))):
                    raise ValueError(
                        f"`generator` {name} yielded an element of shape {TensorShape(a.shape)}"
                        f" where an element of shape {s.shape} was expected.")
                out.append(a)
            yield out

    def _card(self):
        return UNKNOWN


def _tuplify(s):
    """Lists in a signature mean tuples (TF accepts both)."""
    if isinstance(s, list) or (isinstance(s, tuple) and not structure._is_namedtuple(s)):
        return tuple(_tuplify(v) for v in s)
    if structure._is_namedtuple(s):
        return type(s)(*[_tuplify(v) for v in s])
    if isinstance(s, dict):
        return {k: _tuplify(v) for k, v in s.items()}
    return s


def _leafify(types):
    """dtype leaves -> TensorSpec placeholders so structure helpers see leaves."""
    if isinstance(types, dict):
        return {k: _leafify(v) for k, v in types.items()}
    if isinstance(types, tuple):
        return tuple(_leafify(v) for v in types)
    return TensorSpec(None, dtypes.as_dtype(types))


def _flatten_shapes(shapes) -> list:
    """Leaf shapes of `output_shapes`; a list/tuple of ints and Nones is one shape."""
    if isinstance(shapes, dict):
        return [s for k in sorted(shapes) for s in _flatten_shapes(shapes[k])]
    if isinstance(shapes, (list, tuple)) and not all(d is None or isinstance(d, int)
                                                     for d in shapes):
        return [s for v in shapes for s in _flatten_shapes(v)]
    return [TensorShape(shapes)]


def _check_spec(s):
    if not isinstance(s, TensorSpec):
        raise TypeError(f"from_generator: `output_signature` must contain tf.TensorSpec "
                        f"objects, got {type(s).__name__} {s!r}.")
    return s


def _as_structure(value, spec):
    """Lists yielded where the signature has a tuple are taken as that tuple."""
    if isinstance(spec, tuple) and isinstance(value, list) and len(value) == len(spec):
        return tuple(value)
    return value
