"""Keras masks seen from user code: `_keras_mask`, the Masking layer, custom layers that
split, make or pass on a mask."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers
PADDED = np.array([[4, 2, 0, 0], [7, 0, 0, 0]], np.int32)


def test_keras_mask_attribute_reads_the_mask_of_an_embedding_output():
    out = L.Embedding(10, 3, mask_zero=True)(PADDED)
    np.testing.assert_array_equal(out._keras_mask.numpy(), PADDED != 0)


def test_keras_mask_is_none_for_a_tensor_without_mask():
    assert tf.ones([2])._keras_mask is None


def test_keras_mask_can_be_set_and_cleared():
    t = tf.ones([1, 2, 3])
    t._keras_mask = tf.constant([[True, False]])
    np.testing.assert_array_equal(t._keras_mask.numpy(), [[True, False]])
    t._keras_mask = None
    assert t._keras_mask is None


def test_keras_tensors_carry_the_mask_of_a_functional_build():
    x = L.Embedding(10, 3, mask_zero=True)(keras.Input(shape=(None,), dtype="int32"))
    assert x._keras_mask.shape.as_list() == [None, None]


def test_masking_layer_matches_keras(real_tf):
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]], np.float32)
    ours, theirs = L.Masking()(x), real_tf.keras.layers.Masking()(x)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(ours._keras_mask.numpy(), theirs._keras_mask.numpy())


def test_masking_layer_uses_its_mask_value():
    out = L.Masking(mask_value=-1.0)(np.array([[[-1.0], [0.0]]], np.float32))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[False, True]])


def test_a_layer_returning_a_list_gives_each_output_its_own_mask():
    class SplitInTime(L.Layer):
        def call(self, inputs):
            return tf.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else tf.split(mask, 2, axis=1)

    first, second = SplitInTime()(L.Embedding(10, 3, mask_zero=True)(PADDED))
    np.testing.assert_array_equal(first._keras_mask.numpy(), [[True, True], [True, False]])
    np.testing.assert_array_equal(second._keras_mask.numpy(), [[False, False]] * 2)


def test_a_user_layer_with_compute_mask_makes_a_mask_from_plain_inputs():
    class NonZero(L.Layer):
        def call(self, inputs):
            return tf.cast(inputs, "float32")

        def compute_mask(self, inputs, mask=None):
            return tf.not_equal(inputs, 0)

    np.testing.assert_array_equal(NonZero()(PADDED)._keras_mask.numpy(), PADDED != 0)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_a_user_layer_gets_integer_and_bool_inputs_uncast_as_in_keras(real_tf, dtype):
    class Identity(L.Layer):
        def call(self, inputs):
            return inputs

    class TheirIdentity(real_tf.keras.layers.Layer):
        def call(self, inputs):
            return inputs

    x = np.ones((2,), dtype)
    assert Identity()(x).dtype.name == TheirIdentity()(x).dtype.name == dtype


def test_a_user_layer_still_casts_float64_inputs_to_float32():
    class Identity(L.Layer):
        def call(self, inputs):
            return inputs

    assert Identity()(np.ones((2,))).dtype == tf.float32
