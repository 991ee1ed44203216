"""The messages of `saved_model.pb`.

`MetaGraphDef`, `GraphDef`, `FunctionDef`, `SavedObjectGraph` and the rest are the
wire-compatible classes the `tensorboard` package ships (`tensorboard.compat.proto`).
The outer `SavedModel` message (field 1: schema version, field 2: repeated
`MetaGraphDef`) is not among them; it is two fields, so tapeflow encodes and decodes it
here with protobuf's own wire helpers.
"""
from __future__ import annotations

import types


def protos() -> types.SimpleNamespace:
    """The proto modules a SavedModel needs, or an ImportError naming the package."""
    try:
        from tensorboard.compat.proto import (
            attr_value_pb2, function_pb2, graph_pb2, meta_graph_pb2, node_def_pb2, op_def_pb2,
            saved_object_graph_pb2, struct_pb2, tensor_pb2, tensor_shape_pb2,
            trackable_object_graph_pb2, types_pb2, variable_pb2, versions_pb2)
    except ImportError:
        raise ImportError("tf.saved_model needs the `tensorboard` and `protobuf` packages: "
                          "pip install tensorboard protobuf (or tapeflow's `fast`/`test` "
                          "extra).") from None
    return types.SimpleNamespace(
        attr_value=attr_value_pb2, function=function_pb2, graph=graph_pb2,
        meta_graph=meta_graph_pb2, node_def=node_def_pb2, op_def=op_def_pb2,
        saved_object_graph=saved_object_graph_pb2, struct=struct_pb2, tensor=tensor_pb2,
        tensor_shape=tensor_shape_pb2, trackable_object_graph=trackable_object_graph_pb2,
        types=types_pb2, variable=variable_pb2, versions=versions_pb2)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int):
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ValueError("saved_model.pb ends inside a varint: the file is truncated")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def encode_saved_model(meta_graphs, schema_version: int = 1) -> bytes:
    """The bytes of a `SavedModel` message holding the `MetaGraphDef`s `meta_graphs`."""
    out = [b"\x08", _varint(schema_version)]                    # field 1, varint
    for mg in meta_graphs:
        body = mg.SerializeToString()
        out += [b"\x12", _varint(len(body)), body]              # field 2, length-delimited
    return b"".join(out)


def decode_saved_model(data: bytes):
    """(schema_version, [MetaGraphDef]) parsed from the bytes of `saved_model.pb`."""
    meta_graph_cls = protos().meta_graph.MetaGraphDef
    pos, version, graphs = 0, 0, []
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            if field == 1:
                version = value
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            if pos + size > len(data):
                raise ValueError("saved_model.pb is truncated: a field runs past the file's end")
            if field == 2:
                graphs.append(meta_graph_cls.FromString(data[pos:pos + size]))
            pos += size
        elif wire == 5:
            pos += 4
        elif wire == 1:
            pos += 8
        else:
            raise ValueError(f"saved_model.pb is not a SavedModel message (wire type {wire} "
                             f"in field {field})")
    return version, graphs
