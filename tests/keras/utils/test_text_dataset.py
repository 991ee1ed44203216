"""keras.utils.text_dataset_from_directory against Keras 3 (skipped without it)."""
import numpy as np
import pytest

import tapeflow as tf


@pytest.fixture
def corpus(tmp_path):
    for label in ("neg", "pos"):
        (tmp_path / label / "sub").mkdir(parents=True)
        for i in range(5):
            (tmp_path / label / f"{label}{i}.txt").write_text(f"{label} text {i} é")
        (tmp_path / label / "notes.md").write_text("not a .txt file")
    (tmp_path / "pos" / "sub" / "nested.txt").write_text("nested")
    return str(tmp_path)


@pytest.fixture(scope="module")
def keras3(real_tf):
    return pytest.importorskip("keras")


@pytest.mark.parametrize("kwargs", [
    {"shuffle": False}, {"shuffle": False, "label_mode": "categorical", "max_length": 5},
    {"shuffle": False, "label_mode": "binary", "batch_size": 4}], ids=str)
def test_batches_match_keras_without_shuffle(keras3, corpus, kwargs):
    ours = tf.keras.utils.text_dataset_from_directory(corpus, verbose=False, **kwargs)
    theirs = keras3.utils.text_dataset_from_directory(corpus, verbose=False, **kwargs)
    assert ours.class_names == theirs.class_names == ["neg", "pos"]
    pairs = list(zip(ours.as_numpy_iterator(), theirs.as_numpy_iterator()))
    assert len(pairs) == len(list(theirs))
    for (x1, y1), (x2, y2) in pairs:
        assert x1.tolist() == x2.tolist()
        np.testing.assert_array_equal(y1, y2)
        assert y1.dtype == y2.dtype


def test_validation_split_selects_kerass_files_for_a_seed(keras3, corpus):
    def files(m, subset):
        ds = m.utils.text_dataset_from_directory(corpus, seed=3, validation_split=0.3,
                                                 subset=subset, batch_size=None,
                                                 verbose=False)
        return sorted((x, int(y)) for x, y in ds.as_numpy_iterator())
    for subset in ("training", "validation"):
        assert files(tf.keras, subset) == files(keras3, subset)


def test_empty_directory_is_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No text files found"):
        tf.keras.utils.text_dataset_from_directory(str(tmp_path), verbose=False)
