"""The functional forms of the merge layers (keras.layers.average(...), ...)."""
import numpy as np
import pytest

from tapeflow import keras

A = np.array([[1.0, -2.0]], np.float32)
B = np.array([[3.0, 4.0]], np.float32)


@pytest.mark.parametrize("name, expected", [
    ("add", A + B), ("subtract", A - B), ("multiply", A * B), ("average", (A + B) / 2),
    ("maximum", np.maximum(A, B)), ("minimum", np.minimum(A, B))])
def test_merge_function_computes_its_layer(name, expected):
    np.testing.assert_allclose(getattr(keras.layers, name)([A, B]).numpy(), expected)


def test_merge_function_builds_a_functional_model():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(2,))
    model = keras.Model([a, b], keras.layers.average([a, b]))
    np.testing.assert_allclose(model([A, B]).numpy(), (A + B) / 2)
    assert type(model.layers[-1]).__name__ == "Average"

