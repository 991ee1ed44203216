"""The protocol-buffer messages of `tf.train.Example` and `TensorProto`, built at run time.

`Example`, `Features`, `Feature`, `BytesList`, `FloatList`, `Int64List` (TensorFlow's
`example.proto` / `feature.proto`) and `TensorProto` / `TensorShapeProto`
(`tensor.proto`: what `tf.io.serialize_tensor` writes) are described here with the same
field numbers, wire types and proto3 packing as TensorFlow's, and built by the
`protobuf` package in a private descriptor pool (never clashing with TensorFlow's own
classes). Their bytes are TensorFlow's: files and serialized tensors move both ways.

    >>> from tapeflow.io import protos
    >>> m = protos.messages()
    >>> ex = m.Example(features=m.Features(feature={'x': m.Feature(
    ...     int64_list=m.Int64List(value=[1, 2]))}))
    >>> m.Example.FromString(ex.SerializeToString()).features.feature['x'].int64_list.value[:]
    [1, 2]
"""
from __future__ import annotations

import functools

from tapeflow.utils import proto_messages


_F32, _I64, _I32, _BOOL, _STR, _MSG, _BYTES, _DBL, _U32, _U64 = 2, 3, 5, 8, 9, 11, 12, 1, 13, 4
_OPT, _REP = 1, 3
_T = ".tensorflow."

# (name, [(field, number, type, label, message type or None, oneof index or None)], nested,
#  options): the messages of example.proto, feature.proto and tensor.proto.
_BYTES_LIST = ("BytesList", [("value", 1, _BYTES, _REP, None, None)], [], {})
_FLOAT_LIST = ("FloatList", [("value", 1, _F32, _REP, None, None)], [], {})
_INT64_LIST = ("Int64List", [("value", 1, _I64, _REP, None, None)], [], {})
_FEATURE = ("Feature", [("bytes_list", 1, _MSG, _OPT, _T + "BytesList", 0),
                        ("float_list", 2, _MSG, _OPT, _T + "FloatList", 0),
                        ("int64_list", 3, _MSG, _OPT, _T + "Int64List", 0)], [],
            {"oneof": "kind"})
_FEATURES = ("Features", [("feature", 1, _MSG, _REP, _T + "Features.FeatureEntry", None)], [
    ("FeatureEntry", [("key", 1, _STR, _OPT, None, None),
                      ("value", 2, _MSG, _OPT, _T + "Feature", None)], [], {"map_entry": True})],
    {})
_EXAMPLE = ("Example", [("features", 1, _MSG, _OPT, _T + "Features", None)], [], {})
_SHAPE = ("TensorShapeProto", [("dim", 2, _MSG, _REP, _T + "TensorShapeProto.Dim", None),
                               ("unknown_rank", 3, _BOOL, _OPT, None, None)],
          [("Dim", [("size", 1, _I64, _OPT, None, None), ("name", 2, _STR, _OPT, None, None)],
            [], {})], {})
_TENSOR = ("TensorProto", [
    ("dtype", 1, _I32, _OPT, None, None), ("tensor_shape", 2, _MSG, _OPT, _T + "TensorShapeProto",
                                           None),
    ("version_number", 3, _I32, _OPT, None, None), ("tensor_content", 4, _BYTES, _OPT, None, None),
    ("half_val", 13, _I32, _REP, None, None), ("float_val", 5, _F32, _REP, None, None),
    ("double_val", 6, _DBL, _REP, None, None), ("int_val", 7, _I32, _REP, None, None),
    ("string_val", 8, _BYTES, _REP, None, None), ("scomplex_val", 9, _F32, _REP, None, None),
    ("int64_val", 10, _I64, _REP, None, None), ("bool_val", 11, _BOOL, _REP, None, None),
    ("dcomplex_val", 12, _DBL, _REP, None, None), ("uint32_val", 16, _U32, _REP, None, None),
    ("uint64_val", 17, _U64, _REP, None, None)], [], {})
_ALL = [_BYTES_LIST, _FLOAT_LIST, _INT64_LIST, _FEATURE, _FEATURES, _EXAMPLE, _SHAPE, _TENSOR]


_PURPOSE = "tf.train.Example and serialized tensors"


@functools.cache
def messages():
    """Builds (once) and returns the message classes (attributes by message name)."""
    return proto_messages.build("tapeflow/io/example.proto", _ALL, _PURPOSE)


def _lazy_class(name: str):
    """A stand-in for `tf.train.<name>` that builds the protobuf class on first use, so
    importing tapeflow never needs protobuf."""
    class Meta(type):
        def __call__(cls, *args, **kwargs):
            return getattr(messages(), name)(*args, **kwargs)

        def __instancecheck__(cls, obj):
            return isinstance(obj, getattr(messages(), name))

        def __getattr__(cls, attr):
            return getattr(getattr(messages(), name), attr)

    return Meta(name, (), {"__doc__": f"`tf.train.{name}`: TensorFlow's protobuf message "
                                      f"(built with protobuf on first use).",
                           "__module__": "tapeflow.train"})


Example = _lazy_class("Example")
Features = _lazy_class("Features")
Feature = _lazy_class("Feature")
BytesList = _lazy_class("BytesList")
FloatList = _lazy_class("FloatList")
Int64List = _lazy_class("Int64List")
