"""keras.utils.pad_sequences (also keras.preprocessing.sequence), against Keras."""
import numpy as np
import pytest

from tapeflow import keras

SEQS = [[5, 1, 7], [3], [9, 8, 6, 4, 2], []]


@pytest.mark.parametrize("kwargs", [
    {}, {"padding": "post"}, {"maxlen": 2}, {"maxlen": 2, "truncating": "post"},
    {"maxlen": 4, "padding": "post", "truncating": "post", "value": -1},
    {"dtype": "float32", "value": 0.5}])
def test_pad_sequences_matches_keras(real_tf, kwargs):
    ours = keras.preprocessing.sequence.pad_sequences(SEQS, **kwargs)
    theirs = real_tf.keras.utils.pad_sequences(SEQS, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_pad_sequences_keeps_the_shape_of_vector_steps():
    out = keras.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1, 0], [0, 0, 0])


@pytest.mark.parametrize("kwargs, match", [({"padding": "middle"}, "padding"),
                                           ({"truncating": "end"}, "truncating")])
def test_pad_sequences_rejects_unknown_sides(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.utils.pad_sequences(SEQS, **kwargs)


def test_pad_sequences_rejects_a_non_iterable_sequence():
    with pytest.raises(ValueError, match="index 1"):
        keras.utils.pad_sequences([[1], 2])
