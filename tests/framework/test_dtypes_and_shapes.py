"""tapeflow/framework/dtypes.py and tensor_shape.py."""
import numpy as np
import pytest

import tapeflow as tf

ALL = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@pytest.mark.parametrize("name", ALL)
def test_dtypes_round_trip_and_compare_like_tensorflow(name, real_tf):
    d = getattr(tf, name)
    assert tf.as_dtype(name) is d and tf.as_dtype(np.dtype(name if name != "bool" else "?")) is d
    assert d.name == name == getattr(real_tf, name).name
    assert repr(d) == repr(getattr(real_tf, name))
    for prop in ("is_floating", "is_integer", "is_bool", "is_unsigned", "size"):
        if hasattr(getattr(real_tf, name), prop):
            assert getattr(d, prop) == getattr(getattr(real_tf, name), prop), prop
    assert tf.zeros((2,), d).dtype is d


def test_dtype_aliases_and_errors():
    assert tf.as_dtype(float) is tf.float32 and tf.as_dtype(int) is tf.int32
    assert tf.as_dtype("float") is tf.float32 and tf.double is tf.float64 and tf.half is tf.float16
    assert tf.float32 == np.float32 and tf.float32 != tf.float64
    assert tf.float32.min == np.finfo(np.float32).min and tf.uint8.max == 255
    with pytest.raises(TypeError, match="float33.*expected one of"):
        tf.as_dtype("float33")


def test_cast_between_all_dtypes_matches_tensorflow(real_tf):
    vals = [-1.7, 0.0, 2.5, 300.0]
    for src in ["float32", "float64", "int32"]:
        for dst in ALL:
            a = tf.cast(tf.constant(vals, src), getattr(tf, dst)) if src != "int32" else \
                tf.cast(tf.constant([-1, 0, 2, 300]), getattr(tf, dst))
            b = real_tf.cast(real_tf.constant(vals, src), getattr(real_tf, dst)) if src != "int32" \
                else real_tf.cast(real_tf.constant([-1, 0, 2, 300]), getattr(real_tf, dst))
            assert a.dtype.name == b.dtype.name
            if dst not in ("int8", "uint8"):   # out-of-range wrap-around is platform-defined
                np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{src}->{dst}")


def test_tensor_shape():
    s = tf.TensorShape([None, 28, 28, 1])
    assert repr(s) == "TensorShape([None, 28, 28, 1])" and str(s) == "(None, 28, 28, 1)"
    assert s.rank == 4 and s[1] == 28 and s[1:].as_list() == [28, 28, 1]
    assert not s.is_fully_defined() and s.num_elements() is None
    assert s.is_compatible_with([5, 28, 28, 1]) and not s.is_compatible_with([5, 28, 28])
    assert s.merge_with([7, None, 28, 1]).as_list() == [7, 28, 28, 1]
    assert tf.TensorShape([2, 3]) == (2, 3) and tf.TensorShape([2, 3]) != [3, 2]
    assert str(tf.TensorShape([5])) == "(5,)" and tf.TensorShape(None).rank is None
    assert tf.TensorShape([2]) + [3] == tf.TensorShape([2, 3])
    with pytest.raises(ValueError, match="unknown"):
        tf.TensorShape(None).as_list()


def test_config_devices_and_memory_growth():
    gpus = tf.config.experimental.list_physical_devices("GPU")
    assert gpus == [] and tf.config.list_physical_devices("GPU") == []
    cpu = tf.config.list_physical_devices("CPU")[0]
    assert cpu.device_type == "CPU"
    tf.config.experimental.set_memory_growth(cpu, True)
    assert tf.config.experimental.get_memory_growth(cpu) is True
    assert tf.config.experimental.list_logical_devices("CPU")[0].device_type == "CPU"
    with pytest.raises(ValueError, match="Unrecognized device"):
        tf.config.experimental.set_memory_growth("GPU:0", True)


def test_version_and_eager_flags():
    assert tf.__version__.startswith("2.")
    assert tf.executing_eagerly()
    assert tf.UnconnectedGradients.ZERO.value == "zero"


@pytest.mark.parametrize("enum", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 18, 19, 22, 23])
def test_as_dtype_reads_tensorflow_datatype_enum_numbers(real_tf, enum):
    assert tf.as_dtype(enum).name == real_tf.as_dtype(enum).name


def test_a_datatype_enum_number_as_dtype_argument_makes_that_dtype():
    # tf.zeros(2, 1): the second positional argument is the dtype, 1 = DT_FLOAT.
    assert tf.zeros(2, 1).dtype == tf.float32


def test_unknown_datatype_enum_number_is_an_error():
    with pytest.raises(TypeError, match="Cannot convert 999"):
        tf.as_dtype(999)
