"""tf.string tensors: conversion, printing, numpy values and equality, as TF."""
import numpy as np
import pytest

import tapeflow as tf

VALUES = ["a", ["a", "b"], [["ab", "c"], ["d", "e"]], ["é"], [b"\xff"], np.array(["x", "y"]),
          np.array([b"p", b"q"])]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_string_tensor_prints_as_tf(real_tf, value):
    ours, theirs = tf.constant(value), real_tf.constant(value)
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs)


def test_empty_string_tensor_prints_as_tf(real_tf):
    assert str(tf.constant([], dtype=tf.string)) == str(real_tf.constant([], real_tf.string))


def test_string_numpy_gives_bytes_and_object_arrays():
    assert tf.constant("a").numpy() == b"a"
    arr = tf.constant(["a", "é"]).numpy()
    assert arr.dtype == object and arr.tolist() == [b"a", "é".encode()]


def test_string_dtype_properties(real_tf):
    assert tf.constant("a").dtype is tf.string
    assert tf.as_dtype("string") is tf.string and tf.as_dtype(np.object_) is tf.string
    assert tf.as_dtype(np.bytes_) is tf.string
    assert tf.string.as_numpy_dtype is real_tf.string.as_numpy_dtype
    assert str(tf.string) == str(real_tf.string) and tf.string.size == real_tf.string.size
    assert not tf.string.is_floating and not tf.string.is_integer


def test_string_equality_elementwise_with_broadcast():
    t = tf.constant(["a", "b"])
    np.testing.assert_array_equal((t == "a").numpy(), [True, False])
    np.testing.assert_array_equal(tf.equal(t, tf.constant(["a", "c"])).numpy(), [True, False])
    np.testing.assert_array_equal(tf.not_equal(t, "b").numpy(), [True, False])


def test_number_in_string_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="str or bytes"):
        tf.constant(["a", 1])
    with pytest.raises(TypeError):
        tf.constant(3, dtype=tf.string)


def test_string_mixed_with_numbers_in_an_op_is_an_error():
    with pytest.raises(Exception, match="string"):
        tf.add(tf.constant(["a"]), tf.constant([1]))


def test_string_tensor_in_tf_function_signature():
    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def f(s):
        return tf.strings.length(s) + 1

    assert int(f(tf.constant("abcd"))) == 5 and int(f("xy")) == 3


def test_string_tensor_traced_without_signature():
    @tf.function
    def f(s):
        return tf.strings.join([s, "z"])

    assert f(tf.constant(["a", "b"])).numpy().tolist() == [b"az", b"bz"]


def test_keras_input_of_dtype_string():
    x = tf.keras.Input(shape=(), dtype="string")
    assert x.dtype == tf.string and tuple(x.shape) == (None,)


def test_tf_print_quotes_strings_inside_tensors_as_tf(capsys):
    tf.print(tf.constant(["a", "bb"]))
    tf.print(tf.constant("x"))
    tf.print(tf.constant([["a"], ["b"]]))
    assert capsys.readouterr().err == '["a" "bb"]\nx\n[["a"]\n ["b"]]\n'
