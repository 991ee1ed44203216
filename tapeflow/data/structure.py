"""Dataset elements: nested structures of arrays, their specs, and packing.

Inside the pipeline an element travels as a *flat list of NumPy arrays*
(scalars as NumPy scalars); its nesting lives once in the dataset's
`element_spec`. Only the outermost iterator packs the flat list back into
tapeflow Tensors, so no stage pays for structure handling per element.

As in `tf.data`, tuples (namedtuples too) and dicts are structure while a
Python *list* is a value: `from_tensor_slices([1, 2, 3])` slices one tensor.

    >>> import numpy as np
    >>> from tapeflow.data import structure
    >>> spec, flat = structure.normalize({'y': 1, 'x': np.zeros(3, np.uint8)})
    >>> spec['y']
    TensorSpec(shape=(), dtype=tf.int32, name=None)
    >>> list(spec)
    ['y', 'x']
    >>> [a.dtype.name for a in flat]   # dict leaves flatten in sorted-key order
    ['uint8', 'int32']
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.op import _python_to_array
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.sparse_tensor_spec import SparseTensorSpec
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.utils import nest


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def flatten(value) -> list:
    """Leaves of a dataset structure: tuples and dicts nest, everything else is a leaf."""
    if isinstance(value, Mapping):
        out = []
        for k in nest._sorted_keys(value):
            out.extend(flatten(value[k]))
        return out
    if isinstance(value, tuple):
        out = []
        for v in value:
            out.extend(flatten(v))
        return out
    return [value]


def map_specs(fn, spec):
    """Applies `fn` to every TensorSpec of a spec structure, keeping the nesting."""
    return nest.pack_sequence_as(spec, [fn(s) for s in flatten(spec)]) if isinstance(
        spec, (tuple, Mapping)) else fn(spec)


def to_array(value, dtype=None, what="element"):
    """One leaf -> NumPy array (scalars stay NumPy scalars), by TF's conversion rules.

    Raises:
        TypeError: for values that are not numbers, arrays or tensors.
    """
    if isinstance(value, Tensor):
        if value._is_symbolic:
            raise TypeError(f"tf.data: cannot use the symbolic tensor {value!r} as a dataset "
                            f"{what}: build datasets from eager tensors or NumPy arrays, "
                            "outside tf.function.")
        arr = value._value
    elif getattr(value, "_is_variable", False):
        arr = value._value.copy()
    elif isinstance(value, (np.ndarray, np.generic)):
        arr = value
    else:
        try:
            arr = _python_to_array(value, dtype)   # one conversion, straight to `dtype`
        except (TypeError, ValueError) as e:
            raise TypeError(f"tf.data: the {what} {value!r} (of type {type(value).__name__}) "
                            f"cannot be converted to a tensor: {e}") from None
    if dtype is not None and arr.dtype != dtype._np:
        arr = _python_to_array(arr, dtype)
    if arr.dtype.kind in "OUS":
        return _python_to_array(arr, dtypes.string)     # strings: 0-d arrays kept
    if arr.dtype.kind == "V":
        raise TypeError(f"tf.data: the {what} has NumPy dtype {arr.dtype}, which tapeflow "
                        "tensors do not support; expected numbers or bools.")
    # Rank 0 as a NumPy scalar, as eager tensors and TF's as_numpy_iterator give it.
    return arr[()] if type(arr) is np.ndarray and arr.ndim == 0 else arr


def normalize(value, what="element"):
    """`(spec_structure, flat_arrays)` for a nested value of tensors/arrays/numbers.

    A SparseTensor leaf travels whole, boxed in a 0-d object array, with a
    `SparseTensorSpec` (the packer hands it back unwrapped)."""
    flat, specs = [], []
    for v in flatten(value):
        if isinstance(v, _sparse_type()):
            box = np.empty((), object)
            box[()] = v
            flat.append(box)
            specs.append(SparseTensorSpec.from_value(v))
        else:
            a = to_array(v, what=what)
            flat.append(a)
            specs.append(TensorSpec(a.shape, dtypes.from_numpy(a.dtype)))
    return pack(value, specs), flat


def _sparse_type():
    # Imported when first needed: the ops package loads after tf.data's structure module.
    from tapeflow.ops.sparse_ops import SparseTensor
    return SparseTensor


def numpy_value(a):
    """What `as_numpy_iterator` yields for a component: the array, `bytes` for a
    string scalar (as TF)."""
    return a[()] if type(a) is np.ndarray and a.ndim == 0 and a.dtype.kind == "O" else a


def flat_arrays(value, what="element") -> list:
    """The leaves of `value` as arrays, without building specs (the per-element path)."""
    if type(value) is Tensor:
        return [value._value]
    if type(value) is tuple and all(type(v) is Tensor for v in value):
        return [v._value for v in value]
    return [to_array(v, what=what) for v in flatten(value)]


def pack(structure, flat):
    """Rebuilds `structure`'s tuple/dict nesting around the leaves in `flat`."""
    if not isinstance(structure, (tuple, Mapping)):
        return flat[0]
    it = iter(flat)
    out = _pack(structure, it)
    return out


def _pack(s, it):
    if isinstance(s, Mapping):
        packed = {k: _pack(s[k], it) for k in nest._sorted_keys(s)}
        return {k: packed[k] for k in s} if type(s) is dict else type(s)(
            (k, packed[k]) for k in s)
    if _is_namedtuple(s):
        return type(s)(*[_pack(v, it) for v in s])
    if isinstance(s, tuple):
        return tuple(_pack(v, it) for v in s)
    return next(it)


def make_packer(spec, wrap=Tensor):
    """A fast function: flat list of arrays -> the element structure of `wrap(array)`s.

    The common shapes (one tensor, a flat tuple) get a closure without any
    structure walking, since it runs once per element.
    """
    leaves = flatten(spec)
    if not all(isinstance(s, TensorSpec) for s in leaves):
        # Elements that are datasets (`window`) pass through unwrapped; a SparseTensor
        # comes out of the 0-d object array it travels in.
        wraps = [wrap if isinstance(s, TensorSpec) else _unbox if isinstance(
            s, SparseTensorSpec) else (lambda a: a) for s in leaves]
        return lambda flat: pack(spec, [w(a) for w, a in zip(wraps, flat)])
    if not isinstance(spec, (tuple, Mapping)):
        return lambda flat: wrap(flat[0])
    if type(spec) is tuple and not any(isinstance(s, (tuple, Mapping)) for s in spec):
        if len(spec) == 2:
            return lambda flat: (wrap(flat[0]), wrap(flat[1]))
        return lambda flat: tuple(wrap(a) for a in flat)
    return lambda flat: pack(spec, [wrap(a) for a in flat])


def _unbox(a):
    return a[()] if isinstance(a, np.ndarray) else a


def describe(spec) -> str:
    """A short text for errors: the spec structure as TF prints it."""
    return repr(spec)


def specs_compatible(a, b) -> bool:
    fa, fb = flatten(a), flatten(b)
    if len(fa) != len(fb) or type(a) is not type(b):
        return False
    if isinstance(a, Mapping) and sorted(a) != sorted(b):
        return False
    return all(x.dtype is y.dtype for x, y in zip(fa, fb))
