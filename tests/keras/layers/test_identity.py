"""keras.layers.Identity."""
import numpy as np

from tapeflow import keras


def test_identity_layer_passes_values_and_masks_through():
    x = np.array([[1, 0, 2]], np.int32)
    embedded = keras.layers.Embedding(4, 2, mask_zero=True)(x)
    out = keras.layers.Identity()(embedded)
    np.testing.assert_array_equal(out.numpy(), embedded.numpy())
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True]])
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    np.testing.assert_array_equal(model(np.ones((1, 3), np.float32)).numpy(),
                                  np.ones((1, 3)))
