"""Decoding TensorProtos, StructuredValues and DataType numbers (no TensorFlow needed)."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.saved_model import structure_decoder as sd
from tapeflow.saved_model._protos import protos

pytest.importorskip("tensorboard", reason="the SavedModel protos come from tensorboard")


def _tensor(dtype_enum, dims, **fields):
    proto = protos().tensor.TensorProto(dtype=dtype_enum)
    for d in dims:
        proto.tensor_shape.dim.add(size=d)
    for name, value in fields.items():
        if name == "tensor_content":
            proto.tensor_content = value
        else:
            getattr(proto, name).extend(value)
    return proto


def test_tensor_content_is_little_endian_bytes():
    data = np.arange(6, dtype="<f4").reshape(2, 3)
    value = sd.decode_tensor(_tensor(1, [2, 3], tensor_content=data.tobytes()))
    assert value.dtype == np.float32 and value.shape == (2, 3)
    np.testing.assert_array_equal(value, data)


def test_single_typed_value_fills_the_whole_shape():
    value = sd.decode_tensor(_tensor(3, [2, 2], int_val=[7]))
    np.testing.assert_array_equal(value, np.full((2, 2), 7, np.int32))


def test_last_typed_value_repeats_after_the_given_ones():
    value = sd.decode_tensor(_tensor(9, [4], int64_val=[1, 2]))
    np.testing.assert_array_equal(value, [1, 2, 2, 2])


def test_empty_value_field_gives_zeros():
    value = sd.decode_tensor(_tensor(1, [3]))
    np.testing.assert_array_equal(value, np.zeros(3, np.float32))


def test_half_values_are_stored_as_bit_patterns():
    bits = np.array([1.5, -2.0], np.float16).view(np.uint16).tolist()
    value = sd.decode_tensor(_tensor(19, [2], half_val=bits))
    assert value.dtype == np.float16
    np.testing.assert_array_equal(value, [1.5, -2.0])


def test_strings_and_complex_values():
    strings = sd.decode_tensor(_tensor(7, [2], string_val=[b"ab", b"c"]))
    assert strings.dtype == object and strings.tolist() == [b"ab", b"c"]
    complex_value = sd.decode_tensor(_tensor(8, [1], scomplex_val=[1.0, 2.0]))
    assert complex_value.tolist() == [1 + 2j]


def test_tensor_content_of_the_wrong_size_is_an_error():
    with pytest.raises(sd.SavedModelFormatError, match="holds 2 values"):
        sd.decode_tensor(_tensor(1, [3], tensor_content=np.zeros(2, "<f4").tobytes()))


def test_dtype_without_a_tapeflow_counterpart_is_named():
    with pytest.raises(sd.SavedModelFormatError, match="bfloat16"):
        sd.to_dtype(14)
    assert sd.to_dtype(9) is tf.int64


def test_structured_values_decode_to_python_values():
    v = protos().struct.StructuredValue()
    spec = v.tuple_value.values.add().tensor_spec_value
    spec.name, spec.dtype = "x", 1
    spec.shape.dim.add(size=-1)
    entry = v.tuple_value.values.add().dict_value.fields["k"]
    entry.list_value.values.add().float64_value = 2.0
    entry.list_value.values.add().none_value.SetInParent()
    decoded = sd.decode_structure(v)
    assert decoded == (tf.TensorSpec([None], tf.float32, "x"), {"k": [2.0, None]})


def test_named_tuples_are_rebuilt_with_their_fields():
    v = protos().struct.StructuredValue()
    v.named_tuple_value.name = "Point"
    field = v.named_tuple_value.values.add()
    field.key = "x"
    field.value.int64_value = 3
    point = sd.decode_structure(v)
    assert type(point).__name__ == "Point" and point.x == 3


def test_composite_type_specs_are_a_clear_error():
    v = protos().struct.StructuredValue()
    v.type_spec_value.type_spec_class_name = "RaggedTensorSpec"
    with pytest.raises(sd.SavedModelFormatError, match="RaggedTensorSpec"):
        sd.decode_structure(v)
