"""`tf.io` ops on bytes: read_file/write_file, decode_raw, serialize_tensor/parse_tensor,
and parsing `tf.train.Example` records (parse_single_example / parse_example).

`VarLenFeature` values come back as a dense tensor (TF returns a `SparseTensor`): for
one example the 1-D tensor of its values (TF's `.values`), for a batch a 2-D tensor
padded at the end of each row with 0 or `b''` (TF's `tf.sparse.to_dense`).

    >>> import tapeflow as tf
    >>> ex = tf.train.Example(features=tf.train.Features(feature={
    ...     'x': tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0]))}))
    >>> out = tf.io.parse_single_example(ex.SerializeToString(),
    ...                                  {'x': tf.io.FixedLenFeature([2], tf.float32)})
    >>> out['x'].numpy()
    array([1., 2.], dtype=float32)
"""
from __future__ import annotations

import collections

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.io import protos
from tapeflow.ops.string_ops import _string_input

# -- files ------------------------------------------------------------------------------


def _read_file_kernel(filename):
    from tapeflow.io.gfile import _not_found
    path = filename[()].decode("utf-8")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise _not_found(path) from None
    out = np.empty((), object)
    out[()] = data
    return out


def _write_file_kernel(filename, contents):
    with open(filename[()].decode("utf-8"), "wb") as f:
        f.write(contents[()])
    return np.zeros((0,), np.int32)


_SCALAR_STRING = [(TensorShape([]), dtypes.string)]
# Stateful: a file's contents are read when the op runs, never folded into a trace.
_READ_FILE = OpDef("ReadFile", _read_file_kernel, NO_GRADIENT, stateful=True,
                   shape_fn=lambda inputs, attrs: _SCALAR_STRING)
_WRITE_FILE = OpDef("WriteFile", _write_file_kernel, NO_GRADIENT, stateful=True,
                    shape_fn=lambda inputs, attrs: [(TensorShape([0]), dtypes.int32)])


@tf_export("io.read_file")
def read_file(filename, name=None):
    """The bytes of a file, as a scalar string tensor.

    Raises:
        tf.errors.NotFoundError: the file does not exist.
    """
    return execute(_READ_FILE, (_string_input(filename, "filename"),))


@tf_export("io.write_file")
def write_file(filename, contents, name=None):
    """Writes the scalar string `contents` to `filename` (replacing it)."""
    execute(_WRITE_FILE, (_string_input(filename, "filename"),
                          _string_input(contents, "contents")))


# -- raw bytes and TensorProto ---------------------------------------------------------------

def _decode_raw_kernel(data, out_type, little_endian, fixed_length):
    np_type = np.dtype(dtypes.as_dtype(out_type)._np).newbyteorder("<" if little_endian else ">")
    rows = list(data.reshape(-1))
    size = np_type.itemsize
    if fixed_length is not None:
        rows = [r[:fixed_length].ljust(fixed_length, b"\0") for r in rows]
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise errors.op_error("DecodeRaw", "DecodeRaw requires input strings to all be the "
                              f"same size, but element 0 has size {len(rows[0])} != "
                              f"{sorted(lengths)[-1]}")
    n = lengths.pop() if lengths else 0
    if n % size:
        raise errors.op_error("DecodeRaw", f"Input to DecodeRaw has length {n} that is not a "
                              f"multiple of {size}, the size of {dtypes.as_dtype(out_type).name}")
    flat = np.frombuffer(b"".join(rows), np_type).astype(np_type.newbyteorder("="))
    return flat.reshape(data.shape + (n // size,))


_DECODE_RAW = OpDef("DecodeRaw", _decode_raw_kernel, NO_GRADIENT)


@tf_export("io.decode_raw")
def decode_raw(input_bytes, out_type, little_endian=True, fixed_length=None, name=None):
    """Reinterprets the bytes of each string as a vector of `out_type` numbers."""
    return execute(_DECODE_RAW, (_string_input(input_bytes, "input_bytes"),),
                   {"out_type": dtypes.as_dtype(out_type).name,
                    "little_endian": bool(little_endian), "fixed_length": fixed_length})


def _enum(dtype) -> int:
    from tapeflow.train.bundle import dtype_enum
    return dtype_enum(dtype)


def _serialize_kernel(value):
    m = protos.messages()
    shape = m.TensorShapeProto(dim=[m.TensorShapeProto.Dim(size=d) for d in value.shape])
    proto = m.TensorProto(dtype=_enum(value.dtype), tensor_shape=shape)
    if value.dtype.kind == "O":
        proto.string_val.extend(value.reshape(-1).tolist())
    else:
        proto.tensor_content = np.ascontiguousarray(value).astype(
            value.dtype.newbyteorder("<")).tobytes()
    out = np.empty((), object)
    out[()] = proto.SerializeToString()
    return out


_VAL_FIELDS = {1: "float_val", 2: "double_val", 3: "int_val", 4: "int_val", 5: "int_val",
               6: "int_val", 7: "string_val", 9: "int64_val", 10: "bool_val", 17: "int_val",
               19: "half_val", 22: "uint32_val", 23: "uint64_val"}


def _parse_tensor_kernel(data, out_type):
    from tapeflow.train.bundle import numpy_dtype
    m = protos.messages()
    try:
        proto = m.TensorProto.FromString(data[()])
    except Exception:      # protobuf's DecodeError, whichever implementation raised it
        raise errors.op_error("ParseTensor", "Could not parse `serialized` as TensorProto: "
                              f"{data[()][:40]!r}") from None
    want = _enum(dtypes.as_dtype(out_type)._np)
    if proto.dtype != want:
        raise errors.op_error("ParseTensor", f"Type mismatch between parsed tensor "
                              f"({proto.dtype}) and dtype ({out_type})")
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    np_type = np.dtype(numpy_dtype(proto.dtype))
    count = int(np.prod(shape))
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, np_type.newbyteorder("<")).astype(
            np_type).reshape(shape)
    values = list(getattr(proto, _VAL_FIELDS[proto.dtype]))
    if proto.dtype == 19:
        arr = np.array(values, np.uint16).view(np.float16)
    else:
        arr = np.array(values, dtype=np_type)
    if arr.size not in (count, 0, 1):
        raise errors.op_error("ParseTensor", f"TensorProto holds {arr.size} values for shape "
                              f"{list(shape)}")
    if arr.size == count:
        return arr.reshape(shape)
    fill = arr.reshape(-1)[0] if arr.size else np.zeros((), np_type)[()]
    out = np.empty(shape, np_type)
    out[...] = fill if np_type.kind != "O" else (fill if arr.size else b"")
    return out


_SERIALIZE = OpDef("SerializeTensor", _serialize_kernel, NO_GRADIENT,
                   shape_fn=lambda inputs, attrs: _SCALAR_STRING)
_PARSE_TENSOR = OpDef("ParseTensor", _parse_tensor_kernel, NO_GRADIENT,
                      shape_fn=lambda inputs, attrs: [(TensorShape(None),
                                                       dtypes.as_dtype(attrs["out_type"]))])


@tf_export("io.serialize_tensor")
def serialize_tensor(tensor, name=None):
    """The tensor as the bytes of a TensorFlow `TensorProto` (what TF writes)."""
    return execute(_SERIALIZE, (as_input(tensor),))


@tf_export("io.parse_tensor")
def parse_tensor(serialized, out_type, name=None):
    """The tensor stored in a serialized `TensorProto` (from tapeflow or TensorFlow)."""
    return execute(_PARSE_TENSOR, (_string_input(serialized, "serialized"),),
                   {"out_type": dtypes.as_dtype(out_type).name})


# -- tf.train.Example parsing --------------------------------------------------------------

FixedLenFeature = collections.namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])
FixedLenFeature.__new__.__defaults__ = (None,)
FixedLenFeature.__doc__ = ("`tf.io.FixedLenFeature(shape, dtype, default_value=None)`: a "
                           "feature with a fixed number of values.")
VarLenFeature = collections.namedtuple("VarLenFeature", ["dtype"])
VarLenFeature.__doc__ = ("`tf.io.VarLenFeature(dtype)`: a feature with any number of values "
                         "(returned dense, see the module docstring).")

_KIND = {"float32": ("float_list", "float"), "int64": ("int64_list", "int64"),
         "string": ("bytes_list", "string")}
_KIND_NAME = {"float_list": "float", "int64_list": "int64", "bytes_list": "string"}


def _check_spec(key, spec):
    if not isinstance(spec, (FixedLenFeature, VarLenFeature)):
        raise TypeError(f"features[{key!r}] must be a tf.io.FixedLenFeature or "
                        f"tf.io.VarLenFeature; got {type(spec).__name__}.")
    dtype = dtypes.as_dtype(spec.dtype)
    if dtype.name not in _KIND:
        raise ValueError(f"features[{key!r}]: dtype must be float32, int64 or string; got "
                         f"{dtype.name}.")
    return dtype


def _values(example, key, dtype, index):
    """The values of feature `key` of one parsed Example (None when absent)."""
    feats = example.features.feature
    if key not in feats:
        return None
    feature = feats[key]
    kind = feature.WhichOneof("kind")
    if kind is None:
        return np.zeros((0,), dtype._np)
    want = _KIND[dtype.name][0]
    if kind != want:
        raise errors.op_error("ParseExampleV2", f"Name: <unknown>, Key: {key}, Index: {index}."
                              f"  Data types don't match. Data type: {_KIND_NAME[kind]} but "
                              f"expected type: {_KIND[dtype.name][1]}")
    values = list(getattr(feature, kind).value)
    return np.array(values, dtype=dtype._np) if values else np.zeros((0,), dtype._np)


def _fixed(values, key, spec, dtype, index):
    shape = tuple(int(d) for d in spec.shape)
    if values is None:
        if spec.default_value is None:
            raise errors.op_error("ParseExampleV2", f"Feature: {key} (data type: "
                                  f"{dtype.name}) is required but could not be found.")
        default = np.asarray(spec.default_value, dtype=dtype._np if dtype.name != "string"
                             else object)
        if dtype.name == "string":
            from tapeflow.ops.string_ops import to_bytes_array
            default = to_bytes_array(spec.default_value)
        return np.broadcast_to(default, shape).copy()
    if values.size != int(np.prod(shape)):
        raise errors.op_error("ParseExampleV2", f"Name: <unknown>, Key: {key}, Index: {index}."
                              f"  Number of {_KIND[dtype.name][1]} values != expected.  "
                              f"Values size: {values.size} but output shape: {list(shape)}")
    return values.reshape(shape)


def _pad_rows(rows, dtype):
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), b"" if dtype.name == "string" else 0, dtype=dtype._np)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def _parse_kernel(serialized, specs):
    m = protos.messages()
    records = list(serialized.reshape(-1))
    examples = []
    for i, data in enumerate(records):
        try:
            examples.append(m.Example.FromString(data))
        except Exception:     # protobuf's DecodeError, whichever implementation raised it
            raise errors.op_error("ParseExampleV2", f"Could not parse example input, value: "
                                  f"'{data[:40]!r}' (record {i})") from None
    outs = []
    for key, spec, dtype in specs:
        rows = [_values(ex, key, dtype, i) for i, ex in enumerate(examples)]
        if isinstance(spec, FixedLenFeature):
            arr = np.stack([_fixed(r, key, spec, dtype, i) for i, r in enumerate(rows)]) \
                if rows else np.zeros((0,) + tuple(spec.shape), dtype._np)
            outs.append(arr.reshape(serialized.shape + tuple(int(d) for d in spec.shape)))
        else:
            rows = [r if r is not None else np.zeros((0,), dtype._np) for r in rows]
            outs.append(rows[0] if serialized.ndim == 0 else _pad_rows(rows, dtype))
    return outs[0] if len(outs) == 1 else tuple(outs)    # one output: a bare array


def _parse_shapes(inputs, attrs):
    lead = inputs[0].shape.as_list() if inputs[0].shape.rank is not None else []
    out = []
    for _key, spec, dtype in attrs["specs"]:
        if isinstance(spec, FixedLenFeature):
            out.append((TensorShape(lead + [int(d) for d in spec.shape]), dtype))
        else:
            out.append((TensorShape(lead + [None]), dtype))
    return out


_PARSE = OpDef("ParseExampleV2", _parse_kernel, NO_GRADIENT, shape_fn=_parse_shapes)


def _parse(serialized, features):
    if not isinstance(features, dict) or not features:
        raise ValueError(f"`features` must be a non-empty dict of feature specs; got "
                         f"{features!r}.")
    specs = tuple((key, spec, _check_spec(key, spec)) for key, spec in sorted(features.items()))
    outs = execute(_PARSE.with_outputs(len(specs)), (_string_input(serialized, "serialized"),),
                   {"specs": specs})
    outs = outs if isinstance(outs, tuple) else (outs,)
    return {key: out for (key, _, _), out in zip(specs, outs)}


@tf_export("io.parse_single_example")
def parse_single_example(serialized, features, example_names=None, name=None):
    """Parses one serialized `tf.train.Example` into a dict of tensors.

    `FixedLenFeature(shape, dtype)` gives a tensor of `shape` (its `default_value` when the
    feature is absent); `VarLenFeature(dtype)` the 1-D tensor of its values (TF: a
    SparseTensor whose `.values` this is).
    """
    return _parse(serialized, features)


@tf_export("io.parse_example")
def parse_example(serialized, features, example_names=None, name=None):
    """Parses a vector of serialized `tf.train.Example`s into a dict of batched tensors.

    A `VarLenFeature` comes back as a dense 2-D tensor, each row padded with 0 or `b''`
    to the longest (TF: a SparseTensor; this is its `tf.sparse.to_dense`).
    """
    return _parse(serialized, features)
