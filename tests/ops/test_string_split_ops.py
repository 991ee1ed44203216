"""ngrams, unicode_split, bytes_split and to_hash_bucket_strong against TF 2.21."""
import random

import numpy as np
import pytest

import tapeflow as tf

CASES = {
    "ngrams_vector": lambda m: m.strings.ngrams(m.constant(["a", "b", "c"]), 2),
    "ngrams_rows_widths": lambda m: m.strings.ngrams(
        m.constant([["a", "b", "c"], ["d", "e", "f"]]), (1, 2), separator="_"),
    "unicode_split_scalar": lambda m: m.strings.unicode_split("hé!", "UTF-8"),
    "bytes_split_scalar": lambda m: m.strings.bytes_split("hé"),
    "hash_strong": lambda m: m.strings.to_hash_bucket_strong(
        ["", "a", "hello world", "x" * 100, "1234567", "12345678"], 1000, [1, 2]),
    "hash_strong_negative_key": lambda m: m.strings.to_hash_bucket_strong(
        ["abc", "defghijk"], 2**40, [-5, 12345]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_split_op_matches_tf(real_tf, case):
    ours, theirs = CASES[case](tf), CASES[case](real_tf)
    assert ours.dtype.name == theirs.dtype.name
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_unicode_split_of_vector_is_tf_ragged_padded(real_tf):
    ours = tf.strings.unicode_split(["hé", "abc"], "UTF-8")
    theirs = real_tf.strings.unicode_split(["hé", "abc"], "UTF-8").to_tensor()
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_siphash_matches_tf_on_random_strings(real_tf):
    gen = random.Random(1)
    data = [bytes(gen.randrange(256) for _ in range(n)) for n in range(0, 40)]
    ours = tf.strings.to_hash_bucket_strong(data, 2**62, [7, 9]).numpy()
    theirs = real_tf.strings.to_hash_bucket_strong(data, 2**62, [7, 9]).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_hashing_layer_with_salt_matches_keras(real_tf):
    keras3 = pytest.importorskip("keras")
    data = np.array(["a", "b", "hello"])
    for salt in (133, [133, 137]):
        ours = tf.keras.layers.Hashing(num_bins=3, salt=salt)(data).numpy()
        theirs = np.asarray(keras3.layers.Hashing(num_bins=3, salt=salt)(data))
        np.testing.assert_array_equal(ours, theirs)
