"""tf.strings ops: values compared with TensorFlow 2.21 (skipped without it)."""
import random

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.ops._farmhash import fingerprint64

WORDS = ["Hello World", "  padded\t", "héllo wörld", "", "a,b,,c", "x1y22z333"]

CASES = {
    "lower": lambda m: m.strings.lower(WORDS),
    "lower_utf8": lambda m: m.strings.lower(["ÀÉ Ab"], encoding="utf-8"),
    "upper": lambda m: m.strings.upper(WORDS),
    "strip": lambda m: m.strings.strip(WORDS),
    "length": lambda m: m.strings.length(WORDS),
    "length_chars": lambda m: m.strings.length(WORDS, unit="UTF8_CHAR"),
    "substr": lambda m: m.strings.substr(["hello", "abc"], 1, 3),
    "substr_negative": lambda m: m.strings.substr(["hello", "abc"], -2, 5),
    "substr_chars": lambda m: m.strings.substr("héllo", 1, 2, unit="UTF8_CHAR"),
    "join": lambda m: m.strings.join(["a", m.constant(["x", "y"])], separator="-"),
    "reduce_join_all": lambda m: m.strings.reduce_join([["a", "b"], ["c", "d"]]),
    "reduce_join_axis": lambda m: m.strings.reduce_join([["a", "b"], ["c", "d"]], axis=0,
                                                        separator="+"),
    "reduce_join_keepdims": lambda m: m.strings.reduce_join([["a", "b"], ["c", "d"]], axis=1,
                                                            keepdims=True),
    "split_scalar": lambda m: m.strings.split("a b  c"),
    "split_sep": lambda m: m.strings.split("a,b,,c", ","),
    "split_maxsplit": lambda m: m.strings.split("a b c d", maxsplit=2),
    "regex_replace": lambda m: m.strings.regex_replace(WORDS, "[0-9]+", "#"),
    "regex_replace_group": lambda m: m.strings.regex_replace(["ab cd"], r"(\w+) (\w+)", r"\2 \1"),
    "regex_replace_first": lambda m: m.strings.regex_replace(["aaa"], "a", "b",
                                                             replace_global=False),
    "regex_full_match": lambda m: m.strings.regex_full_match(WORDS, "[a-z0-9]+"),
    "to_number": lambda m: m.strings.to_number(["1.5", " 2", "-3e2"]),
    "to_number_int": lambda m: m.strings.to_number(["15", "-2"], out_type=m.int64),
    "as_string_float": lambda m: m.strings.as_string(m.constant([1.5, -2.25])),
    "as_string_padded": lambda m: m.strings.as_string(m.constant([1.5]), precision=2, width=8,
                                                      fill="0"),
    "as_string_shortest": lambda m: m.strings.as_string(m.constant([1e-7, 123456789.0]),
                                                        shortest=True),
    "as_string_int": lambda m: m.strings.as_string(m.constant([3, 40]), width=4),
    "as_string_bool": lambda m: m.strings.as_string(m.constant([True, False])),
    "hash_bucket": lambda m: m.strings.to_hash_bucket_fast(WORDS, 1000),
    "format_matrix": lambda m: m.strings.format("{}", m.constant(np.arange(40).reshape(8, 5))),
    "format_cube": lambda m: m.strings.format("a={} b={}", (m.constant(np.arange(8).reshape(
        2, 2, 2)), m.constant(["x", "y"]))),
    "format_floats": lambda m: m.strings.format("{}", m.constant([0.1, 2.0, 1e-7, 1e10])),
    "format_summarize": lambda m: m.strings.format("{}", m.constant(np.arange(10)), summarize=2),
    "format_scalars": lambda m: m.strings.format("{} {}", (m.constant(3), m.constant(True))),
    "unicode_decode": lambda m: m.strings.unicode_decode("héllo", "UTF-8"),
    "unicode_encode": lambda m: m.strings.unicode_encode([[104, 233], [97, 98]], "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_string_op_matches_tf(real_tf, case):
    ours, theirs = CASES[case](tf), CASES[case](real_tf)
    assert ours.dtype.name == theirs.dtype.name
    assert ours.shape.as_list() == theirs.shape.as_list()
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_split_of_vector_is_tf_ragged_padded_with_empty_strings(real_tf):
    ours = tf.strings.split(["a b", "c"])
    theirs = real_tf.strings.split(["a b", "c"]).to_tensor()
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_unicode_decode_of_vector_is_tf_ragged_padded_with_zeros(real_tf):
    ours = tf.strings.unicode_decode(["hé", "abc"], "UTF-8")
    theirs = real_tf.strings.unicode_decode(["hé", "abc"], "UTF-8").to_tensor()
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_fingerprint64_matches_tf_on_every_length_class(real_tf):
    gen = random.Random(0)
    samples = [bytes(gen.randrange(256) for _ in range(n)) for n in
               list(range(0, 70)) + [127, 128, 129, 200, 1000]]
    theirs = real_tf.fingerprint(real_tf.constant(samples)).numpy()
    expected = [int.from_bytes(row.tobytes(), "little") for row in theirs]
    assert [fingerprint64(s) for s in samples] == expected


def test_substr_out_of_range_is_an_error_naming_position():
    with pytest.raises(tf.errors.InvalidArgumentError, match="pos 5 out of range"):
        tf.strings.substr("abc", 5, 1)


def test_to_number_of_text_is_an_error_naming_the_string():
    with pytest.raises(tf.errors.InvalidArgumentError, match="convert string: abc"):
        tf.strings.to_number("abc")


def test_string_op_on_numbers_is_a_type_error():
    with pytest.raises(TypeError, match="string"):
        tf.strings.upper(tf.constant([1.0]))


def test_string_ops_inside_tf_function_match_eager():
    f = tf.function(lambda s: tf.strings.regex_replace(tf.strings.lower(s), "[^a-z ]", ""))
    words = tf.constant(WORDS)
    np.testing.assert_array_equal(f(words).numpy(),
                                  tf.strings.regex_replace(tf.strings.lower(words), "[^a-z ]",
                                                           "").numpy())
