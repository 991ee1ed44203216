"""What a functional model accepts as inputs: by name, or one unit axis off its Inputs."""
import numpy as np
import pytest

from tapeflow import keras


def _two_input_model():
    a, b = keras.Input(shape=(None,), name="words"), keras.Input(shape=(2,), name="tags")
    feats = keras.layers.concatenate([
        keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(10, 3)(a)), b])
    return keras.Model([a, b], [keras.layers.Dense(1)(feats), keras.layers.Dense(3)(feats)])


def test_inputs_given_by_name_reach_a_list_input_model_in_order():
    model = _two_input_model()
    words, tags = np.ones((2, 5), np.int32), np.full((2, 2), 3.0, np.float32)
    by_name = model({"tags": tags, "words": words})
    by_position = model([words, tags])
    for a, b in zip(by_name, by_position):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("input_shape, data_shape", [((1,), (4,)), ((3,), (4, 3, 1))])
def test_an_input_one_rank_off_by_a_unit_axis_is_adjusted_as_keras(real_tf, input_shape,
                                                                   data_shape):
    x = np.arange(np.prod(data_shape), dtype=np.float32).reshape(data_shape)
    inputs = keras.Input(shape=input_shape)
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    theirs_in = real_tf.keras.Input(shape=input_shape)
    theirs = real_tf.keras.Model(theirs_in, real_tf.keras.layers.Dense(2)(theirs_in))
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(model(x).numpy(), theirs(x).numpy(), rtol=1e-5)


def test_an_input_two_ranks_off_is_still_an_error():
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="incompatible"):
        model(np.ones((2, 3, 1, 1), np.float32))


def test_a_sequential_without_input_shape_builds_on_its_first_call():
    model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3, 2), np.float32), np.ones((4, 2), np.float32), verbose=0)
    assert model.predict(np.ones((1, 3, 2), np.float32), verbose=0).shape == (1, 2)
