"""Python structures as `StructuredValue` messages: the signatures inside a SavedModel.

A saved function's argument structure, its outputs and its Python signature are stored
as `StructuredValue`s: lists, tuples, dicts and named tuples of `TensorSpec`s and
Python literals (None, bool, int, float, str). This is the writing half; the encoding
is TensorFlow's, so TensorFlow's loader decodes what is written here.

    >>> import tapeflow as tf
    >>> from tapeflow.saved_model.structure_coder import encode
    >>> value = encode(((tf.TensorSpec([None, 3], tf.float32, 'x'),), {}))
    >>> value.tuple_value.values[0].tuple_value.values[0].tensor_spec_value.name
    'x'
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.saved_model._protos import protos
from tapeflow.train.bundle import dtype_enum


def shape_proto(shape):
    """A `TensorShapeProto` of a `TensorShape` (or list; -1 for unknown dims)."""
    p = protos()
    shape = TensorShape(shape)
    if shape.rank is None:
        return p.tensor_shape.TensorShapeProto(unknown_rank=True)
    return p.tensor_shape.TensorShapeProto(dim=[
        p.tensor_shape.TensorShapeProto.Dim(size=-1 if d is None else int(d))
        for d in shape.as_list()])


def dtype_number(dtype) -> int:
    """TensorFlow's `DataType` number of a tapeflow dtype."""
    return dtype_enum(dtypes.as_dtype(dtype)._np)


def encode(value):
    """The `StructuredValue` of `value` (a nest of TensorSpecs and Python literals).

    Raises:
        ValueError: a leaf that a SavedModel cannot describe (an arbitrary object).
    """
    sv = protos().struct.StructuredValue()
    _fill(sv, value)
    return sv


def _fill(sv, value):   # noqa: C901 - one branch per kind of StructuredValue
    if value is None:
        sv.none_value.SetInParent()
    elif isinstance(value, (bool, np.bool_)):
        sv.bool_value = bool(value)
    elif isinstance(value, (int, np.integer)):
        sv.int64_value = int(value)
    elif isinstance(value, (float, np.floating)):
        sv.float64_value = float(value)
    elif isinstance(value, str):
        sv.string_value = value
    elif isinstance(value, TensorSpec):
        spec = sv.tensor_spec_value
        spec.name = value.name or ""
        spec.shape.CopyFrom(shape_proto(value.shape))
        spec.dtype = dtype_number(value.dtype)
    elif isinstance(value, TensorShape):
        sv.tensor_shape_value.CopyFrom(shape_proto(value))
    elif isinstance(value, dtypes.DType):
        sv.tensor_dtype_value = dtype_number(value)
    elif isinstance(value, tuple) and hasattr(value, "_fields"):
        nt = sv.named_tuple_value
        nt.name = type(value).__name__
        for key, item in zip(value._fields, value):
            _fill(nt.values.add(key=key).value, item)
    elif isinstance(value, tuple):
        sv.tuple_value.SetInParent()
        for item in value:
            _fill(sv.tuple_value.values.add(), item)
    elif isinstance(value, list):
        sv.list_value.SetInParent()
        for item in value:
            _fill(sv.list_value.values.add(), item)
    elif isinstance(value, dict):
        sv.dict_value.SetInParent()
        for key in sorted(value):
            if not isinstance(key, str):
                raise ValueError(f"a SavedModel stores dicts with string keys only; got the key "
                                 f"{key!r} of type {type(key).__name__}.")
            _fill(sv.dict_value.fields[key], value[key])
    else:
        raise ValueError(f"a SavedModel cannot describe the value {value!r} of type "
                         f"{type(value).__name__}: function arguments and results must be "
                         "tensors, TensorSpecs, Python numbers, strings, None, or lists, "
                         "tuples and dicts of those.")
