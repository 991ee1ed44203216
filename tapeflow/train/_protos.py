"""The protocol-buffer messages of TensorFlow's checkpoint files, built at run time.

TensorFlow's checkpoints hold protobuf messages (`BundleHeaderProto`,
`BundleEntryProto`, `TrackableObjectGraph`, `CheckpointState`). tapeflow does not
ship generated `_pb2` modules: it describes the same messages (same field numbers
and wire types) with `descriptor_pb2` and lets the `protobuf` package build the
classes, in a private descriptor pool so they never clash with TensorFlow's own
classes when both are imported. Enum fields are declared as int32 (the same
varint on the wire) and `google.protobuf.BoolValue` as a local message with the
same single field.

    >>> from tapeflow.train import _protos
    >>> entry = _protos.messages().BundleEntryProto(dtype=1, size=8)
    >>> type(entry).FromString(entry.SerializeToString()).size
    8
"""
from __future__ import annotations

import functools

from tapeflow.utils import proto_messages

_I32, _I64, _STR, _BOOL, _MSG, _DBL, _FIX32, _BYTES = 5, 3, 9, 8, 11, 1, 7, 12
_OPT, _REP = 1, 3

# (message name, [(field, number, type, label, message type or None)], nested messages)
_SHAPE = ("TensorShapeProto", [("dim", 2, _MSG, _REP, ".tensorflow.TensorShapeProto.Dim"),
                               ("unknown_rank", 3, _BOOL, _OPT, None)],
          [("Dim", [("size", 1, _I64, _OPT, None), ("name", 2, _STR, _OPT, None)], [])])
_SLICE = ("TensorSliceProto", [("extent", 1, _MSG, _REP, ".tensorflow.TensorSliceProto.Extent")],
          [("Extent", [("start", 1, _I64, _OPT, None), ("length", 2, _I64, _OPT, None)], [])])
_VERSION = ("VersionDef", [("producer", 1, _I32, _OPT, None), ("min_consumer", 2, _I32, _OPT, None),
                           ("bad_consumers", 3, _I32, _REP, None)], [])
_HEADER = ("BundleHeaderProto", [("num_shards", 1, _I32, _OPT, None),
                                 ("endianness", 2, _I32, _OPT, None),
                                 ("version", 3, _MSG, _OPT, ".tensorflow.VersionDef")], [])
_ENTRY = ("BundleEntryProto", [("dtype", 1, _I32, _OPT, None),
                               ("shape", 2, _MSG, _OPT, ".tensorflow.TensorShapeProto"),
                               ("shard_id", 3, _I32, _OPT, None), ("offset", 4, _I64, _OPT, None),
                               ("size", 5, _I64, _OPT, None), ("crc32c", 6, _FIX32, _OPT, None),
                               ("slices", 7, _MSG, _REP, ".tensorflow.TensorSliceProto")], [])
_BOOL_VALUE = ("BoolValue", [("value", 1, _BOOL, _OPT, None)], [])
_SAVER = ("RegisteredSaver", [("name", 1, _STR, _OPT, None), ("object_name", 2, _STR, _OPT, None)],
          [])
_T = ".tensorflow.TrackableObjectGraph.TrackableObject"
_GRAPH = ("TrackableObjectGraph", [("nodes", 1, _MSG, _REP, _T)], [
    ("TrackableObject", [
        ("children", 1, _MSG, _REP, _T + ".ObjectReference"),
        ("attributes", 2, _MSG, _REP, _T + ".SerializedTensor"),
        ("slot_variables", 3, _MSG, _REP, _T + ".SlotVariableReference"),
        ("registered_saver", 4, _MSG, _OPT, ".tensorflow.RegisteredSaver"),
        ("has_checkpoint_values", 5, _MSG, _OPT, ".tensorflow.BoolValue")], [
        ("ObjectReference", [("node_id", 1, _I32, _OPT, None),
                             ("local_name", 2, _STR, _OPT, None)], []),
        ("SerializedTensor", [("name", 1, _STR, _OPT, None), ("full_name", 2, _STR, _OPT, None),
                              ("checkpoint_key", 3, _STR, _OPT, None)], []),
        ("SlotVariableReference", [("original_variable_node_id", 1, _I32, _OPT, None),
                                   ("slot_name", 2, _STR, _OPT, None),
                                   ("slot_variable_node_id", 3, _I32, _OPT, None)], [])])])
_STATE = ("CheckpointState", [("model_checkpoint_path", 1, _STR, _OPT, None),
                              ("all_model_checkpoint_paths", 2, _STR, _REP, None),
                              ("all_model_checkpoint_timestamps", 3, _DBL, _REP, None),
                              ("last_preserved_timestamp", 4, _DBL, _OPT, None)], [])
_ALL = [_SHAPE, _SLICE, _VERSION, _HEADER, _ENTRY, _BOOL_VALUE, _SAVER, _GRAPH, _STATE]


_PURPOSE = "Reading and writing TensorFlow checkpoints"


@functools.cache
def messages():
    """Builds (once) and returns the checkpoint message classes (attributes by name)."""
    return proto_messages.build("tapeflow/train/checkpoint.proto", _ALL, _PURPOSE)


def text_format():
    """protobuf's text_format module (the `checkpoint` state file is a text proto)."""
    proto_messages.import_protobuf(_PURPOSE)
    from google.protobuf import text_format as tf_text
    return tf_text
