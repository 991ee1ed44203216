"""Values stored in `saved_model.pb`, decoded to tapeflow and Python objects.

Three encodings appear in a SavedModel:

* `StructuredValue` (struct.proto): the nested Python values a function was traced with
  and returns (tuples, lists, dicts, namedtuples, `TensorSpec`s, numbers, strings, None).
* `TensorProto` (tensor.proto): the value of a `Const` node.
* TensorFlow's `DataType` numbers.

Decoding only builds data: a namedtuple is rebuilt as a fresh class with the stored
name and fields, and nothing a file names is imported or executed.

    >>> from tapeflow.saved_model import structure_decoder as sd
    >>> from tapeflow.saved_model._protos import protos
    >>> v = protos().struct.StructuredValue()
    >>> item = v.tuple_value.values.add()
    >>> item.float64_value = 2.0
    >>> sd.decode_structure(v)
    (2.0,)
"""
from __future__ import annotations

import collections

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.framework.tensor_spec import TensorSpec

# TensorFlow's DataType numbers (types.proto) of kinds tapeflow has no dtype for.
DT_RESOURCE = 20
DT_VARIANT = 21
_DT_NAMES = {14: "bfloat16", 20: "resource", 21: "variant", 11: "qint8", 12: "quint8",
             13: "qint32", 15: "qint16", 16: "quint16"}


class SavedModelFormatError(ValueError):
    """A SavedModel whose contents tapeflow cannot read (unknown kinds, bad values)."""


def to_dtype(enum: int) -> dtypes.DType:
    """The tapeflow dtype of TensorFlow's DataType number `enum`."""
    dtype = dtypes.from_enum(enum)
    if dtype is None:
        name = _DT_NAMES.get(enum, f"number {enum}")
        raise SavedModelFormatError(f"tapeflow has no dtype for TensorFlow's DataType {name}")
    return dtype


def decode_shape(proto) -> TensorShape:
    """A `TensorShape` from a `TensorShapeProto` (size -1 is an unknown dimension)."""
    if proto.unknown_rank:
        return TensorShape(None)
    return TensorShape([None if d.size < 0 else d.size for d in proto.dim])


# -- TensorProto -------------------------------------------------------------------------

# Which repeated field holds the values of each DataType when `tensor_content` is empty.
_VALUE_FIELD = {1: "float_val", 2: "double_val", 3: "int_val", 4: "int_val", 5: "int_val",
                6: "int_val", 7: "string_val", 9: "int64_val", 10: "bool_val", 17: "int_val",
                19: "half_val", 22: "uint32_val", 23: "uint64_val", 8: "scomplex_val",
                18: "dcomplex_val"}


def decode_tensor(proto) -> np.ndarray:
    """The NumPy value of a `TensorProto`: from `tensor_content` (little-endian bytes) or
    from its typed repeated field, whose last value fills the rest of the shape as TF does."""
    dtype = to_dtype(proto.dtype)
    shape = decode_shape(proto.tensor_shape)
    if shape.rank is None:
        raise SavedModelFormatError("a constant tensor has a shape of unknown rank")
    dims = tuple(shape.as_list())
    size = int(np.prod(dims, dtype=np.int64))
    np_dtype = np.dtype(dtype.as_numpy_dtype)
    if proto.tensor_content:
        if dtype is dtypes.string:
            raise SavedModelFormatError("a string constant stored as raw tensor_content")
        flat = np.frombuffer(proto.tensor_content, dtype=np_dtype.newbyteorder("<"))
        if flat.size != size:
            raise SavedModelFormatError(f"a constant of shape {list(dims)} holds {flat.size} "
                                        f"values in tensor_content, expected {size}")
        return flat.astype(np_dtype).reshape(dims)
    raw = list(getattr(proto, _VALUE_FIELD[proto.dtype]))
    if dtype is dtypes.float16:
        values = np.array(raw, dtype=np.uint16).view(np.float16)
    elif proto.dtype in (8, 18):        # complex: (real, imag) pairs
        values = np.array(raw[0::2], dtype=np_dtype) + 1j * np.array(raw[1::2])
    elif dtype is dtypes.string:
        values = np.empty(len(raw), dtype=object)
        values[:] = raw
    else:
        values = np.array(raw).astype(np_dtype)
    if values.size == size:
        return values.reshape(dims)
    if values.size > size:
        raise SavedModelFormatError(f"a constant of shape {list(dims)} holds {values.size} "
                                    "values")
    out = np.empty(size, dtype=np_dtype)
    out[:values.size] = values
    out[values.size:] = values[-1] if values.size else np.zeros((), np_dtype)
    return out.reshape(dims)


# -- StructuredValue ------------------------------------------------------------------------

def _named_tuple(proto):
    fields = [p.key for p in proto.values]
    cls = collections.namedtuple(proto.name or "NamedTuple", fields, rename=True)
    return cls(*(decode_structure(p.value) for p in proto.values))


def _tensor_spec(proto):
    return TensorSpec(decode_shape(proto.shape), to_dtype(proto.dtype), proto.name or None)


_DECODERS = {
    "none_value": lambda p: None,
    "float64_value": float,
    "int64_value": int,
    "string_value": str,
    "bool_value": bool,
    "list_value": lambda p: [decode_structure(v) for v in p.values],
    "tuple_value": lambda p: tuple(decode_structure(v) for v in p.values),
    "dict_value": lambda p: {k: decode_structure(v) for k, v in p.fields.items()},
    "named_tuple_value": _named_tuple,
    "tensor_shape_value": decode_shape,
    "tensor_dtype_value": to_dtype,
    "tensor_spec_value": _tensor_spec,
    "bounded_tensor_spec_value": _tensor_spec,
}


def decode_structure(proto):
    """The Python value of a `StructuredValue` message."""
    kind = proto.WhichOneof("kind")
    if kind is None:
        return None
    decoder = _DECODERS.get(kind)
    if decoder is None:
        detail = ""
        if kind == "type_spec_value":
            detail = f" ({proto.type_spec_value.type_spec_class_name or 'a composite'})"
        raise SavedModelFormatError(
            f"tapeflow cannot read a stored `{kind}`{detail}: only tensors, "
            "TensorSpecs and plain Python values (numbers, strings, None, lists, tuples, "
            "dicts, namedtuples) are supported in function signatures")
    return decoder(getattr(proto, kind))
