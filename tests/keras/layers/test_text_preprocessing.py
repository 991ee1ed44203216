"""Text preprocessing layers against Keras 3 (skipped without it): vocabularies, indices,
encodings, hashing; use in models, Dataset.map, and .keras save/load."""
import numpy as np
import pytest

import tapeflow as tf

CORPUS = ["The cat sat.", "the dog sat, the end", "b a", "A cat! a DOG?"]


@pytest.fixture(scope="module")
def keras3(real_tf):
    return pytest.importorskip("keras")


def _both(keras3, name, **kwargs):
    return getattr(tf.keras.layers, name)(**kwargs), getattr(keras3.layers, name)(**kwargs)


@pytest.mark.parametrize("kwargs", [
    {}, {"output_sequence_length": 5}, {"ngrams": 2, "output_sequence_length": 6},
    {"max_tokens": 5}, {"output_mode": "multi_hot"}, {"output_mode": "count"},
    {"output_mode": "tf_idf"}, {"standardize": "lower", "split": "whitespace"},
    {"split": "character", "output_sequence_length": 8}, {"standardize": None},
], ids=str)
def test_text_vectorization_matches_keras(keras3, kwargs):
    ours, theirs = _both(keras3, "TextVectorization", **kwargs)
    ours.adapt(CORPUS)
    theirs.adapt(CORPUS)
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()]
    data = ["the cat ran", "a b c d e f g", "Dog"]
    if "output_sequence_length" not in kwargs and kwargs.get("output_mode", "int") == "int":
        data = ["the cat ran", "a b c"]       # equal lengths: Keras returns a dense tensor
    got, want = ours(data).numpy(), np.asarray(theirs(data))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.dtype == want.dtype


def test_text_vectorization_adapts_on_a_dataset(keras3):
    ours, theirs = _both(keras3, "TextVectorization")
    ours.adapt(tf.data.Dataset.from_tensor_slices(CORPUS).batch(2))
    theirs.adapt(CORPUS)
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()]


@pytest.mark.parametrize("kwargs", [{}, {"mask_token": "[M]"}, {"num_oov_indices": 3},
                                    {"output_mode": "one_hot"}, {"output_mode": "count"},
                                    {"max_tokens": 3}], ids=str)
def test_string_lookup_matches_keras(keras3, kwargs):
    ours, theirs = _both(keras3, "StringLookup", **kwargs)
    data = np.array(["b", "a", "b", "c", "c", "c", "d"])
    ours.adapt(data)
    theirs.adapt(data)
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()]
    query = np.array(["c", "zzz", "a", "qq", "hello"])
    got, want = ours(query).numpy(), np.asarray(theirs(query))
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


def test_integer_lookup_matches_keras(keras3):
    ours, theirs = _both(keras3, "IntegerLookup")
    data = np.array([5, 5, 7, 9, 9, 9])
    ours.adapt(data)
    theirs.adapt(data)
    assert ours.get_vocabulary() == [int(t) for t in theirs.get_vocabulary()]
    np.testing.assert_array_equal(ours(np.array([9, 5, 7, 1])).numpy(),
                                  np.asarray(theirs(np.array([9, 5, 7, 1]))))


@pytest.mark.parametrize("kwargs", [{"num_bins": 10}, {"num_bins": 7, "mask_value": ""}],
                         ids=str)
def test_hashing_strings_matches_keras(keras3, kwargs):
    ours, theirs = _both(keras3, "Hashing", **kwargs)
    data = np.array(["a", "b", "hello", "", "a longer string with more than 64 bytes in it" * 2])
    np.testing.assert_array_equal(ours(data).numpy(), np.asarray(theirs(data)))


def test_hashing_integers_matches_keras(keras3):
    ours, theirs = _both(keras3, "Hashing", num_bins=10)
    data = np.array([1, 2, 3, 12345])
    np.testing.assert_array_equal(ours(data).numpy(), np.asarray(theirs(data)))


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("data", [[1, 3], [[1, 3, 3], [0, 0, 2]]], ids=["rank1", "rank2"])
def test_category_encoding_matches_keras(keras3, mode, data):
    if mode == "one_hot" and np.ndim(data) == 2:
        data = [[1], [3]]
    ours, theirs = _both(keras3, "CategoryEncoding", num_tokens=4, output_mode=mode)
    np.testing.assert_array_equal(ours(np.array(data)).numpy(), np.asarray(theirs(np.array(
        data))))


def _model():
    tv = tf.keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    tv.adapt(["a b c", "a b", "a"])
    inp = tf.keras.Input(shape=(1,), dtype="string")
    x = tf.keras.layers.Embedding(20, 3)(tv(inp))
    x = tf.keras.layers.GlobalAveragePooling1D()(x)
    return tf.keras.Model(inp, tf.keras.layers.Dense(1)(x))


def test_text_vectorization_in_a_model_saves_and_loads(tmp_path):
    model = _model()
    model.compile("adam", "mse")
    model.fit(tf.constant([["a b"], ["c"]]), np.array([[1.0], [0.0]]), epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    x = tf.constant([["a b"], ["c zz"]])
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert loaded.layers[1].get_vocabulary() == model.layers[1].get_vocabulary()


def test_lookup_layer_config_round_trip():
    layer = tf.keras.layers.StringLookup(num_oov_indices=2, mask_token="")
    layer.adapt(["x", "y", "y"])
    clone = tf.keras.layers.StringLookup.from_config(layer.get_config())
    assert clone.get_vocabulary() == layer.get_vocabulary()


def test_text_vectorization_in_dataset_map():
    tv = tf.keras.layers.TextVectorization()
    tv.adapt(["a b", "b"])
    ds = tf.data.Dataset.from_tensor_slices(["a b", "b zz"]).batch(2).map(tv)
    np.testing.assert_array_equal(next(iter(ds)).numpy(), [[3, 2], [2, 1]])


def test_num_oov_zero_with_unknown_token_is_an_error():
    layer = tf.keras.layers.StringLookup(vocabulary=["a"], num_oov_indices=0)
    with pytest.raises(Exception, match="num_oov_indices=0"):
        layer(["b"])
