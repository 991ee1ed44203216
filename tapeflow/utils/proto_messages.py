"""Protocol-buffer message classes built at run time from field descriptions.

tapeflow writes TensorFlow's file formats (checkpoints, `tf.train.Example`, serialized
tensors) with the `protobuf` package, without generated code and without TensorFlow:
each module describes its messages (names, field numbers, wire types) and `build` turns
them into classes in a private descriptor pool, which never clashes with the classes
TensorFlow registers when both are imported.
"""
from __future__ import annotations

import types


def import_protobuf(purpose: str):
    """protobuf's descriptor modules, or an ImportError saying what needs them."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError:
        raise ImportError(f"{purpose} needs the `protobuf` package: pip install protobuf "
                          "(or tapeflow's `fast`/`test` extra).") from None
    return descriptor_pb2, descriptor_pool, message_factory


def describe(proto, spec) -> None:
    """Fills the `DescriptorProto` `proto` from `spec`: (name, fields, nested messages[,
    options]); a field is (name, number, type, label, message type or None[, oneof index]);
    options may name a `oneof` and mark a `map_entry`."""
    name, fields, nested, *rest = spec
    options = rest[0] if rest else {}
    proto.name = name
    if "oneof" in options:
        proto.oneof_decl.add(name=options["oneof"])
    if options.get("map_entry"):
        proto.options.map_entry = True
    for fname, number, ftype, label, type_name, *oneof in fields:
        f = proto.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
        if oneof and oneof[0] is not None:
            f.oneof_index = oneof[0]
    for sub in nested:
        describe(proto.nested_type.add(), sub)


def build(file_name: str, specs, purpose: str) -> types.SimpleNamespace:
    """The message classes of `specs` (each `spec[0]` its name, described as `describe`
    reads them) in one proto3 file of package `tensorflow`, as attributes."""
    descriptor_pb2, descriptor_pool, message_factory = import_protobuf(purpose)
    file = descriptor_pb2.FileDescriptorProto(name=file_name, package="tensorflow",
                                              syntax="proto3")
    for spec in specs:
        describe(file.message_type.add(), spec)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    out = types.SimpleNamespace()
    for spec in specs:
        desc = pool.FindMessageTypeByName("tensorflow." + spec[0])
        setattr(out, spec[0], message_factory.GetMessageClass(desc))
    return out
