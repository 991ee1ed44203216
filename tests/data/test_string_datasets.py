"""String elements in tf.data: slices, map, batch, unbatch, as TF gives them."""
import numpy as np

import tapeflow as tf


def test_from_tensor_slices_of_strings_yields_string_scalars():
    ds = tf.data.Dataset.from_tensor_slices(["a b", "c"])
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    first = next(iter(ds))
    assert repr(first) == "<tf.Tensor: shape=(), dtype=string, numpy=b'a b'>"
    assert list(ds.as_numpy_iterator()) == [b"a b", b"c"]


def test_map_over_strings_runs_string_ops():
    ds = tf.data.Dataset.from_tensor_slices(["ab", "c"]).map(tf.strings.upper)
    assert list(ds.as_numpy_iterator()) == [b"AB", b"C"]


def test_map_split_has_unknown_trailing_dim():
    ds = tf.data.Dataset.from_tensor_slices(["a b", "c"]).map(tf.strings.split)
    assert ds.element_spec.shape.as_list() == [None]
    out = list(ds.as_numpy_iterator())
    assert [o.tolist() for o in out] == [[b"a", b"b"], [b"c"]]


def test_batch_and_unbatch_of_strings():
    ds = tf.data.Dataset.from_tensor_slices(["a", "b", "c"])
    batches = list(ds.batch(2).as_numpy_iterator())
    assert [b.tolist() for b in batches] == [[b"a", b"b"], [b"c"]]
    assert batches[0].dtype == object
    assert list(ds.batch(2).unbatch().as_numpy_iterator()) == [b"a", b"b", b"c"]


def test_strings_with_labels_shuffled_and_batched_keep_pairs():
    text = [f"t{i}" for i in range(10)]
    ds = tf.data.Dataset.from_tensor_slices((text, np.arange(10))).shuffle(10, seed=1).batch(5)
    for s, y in ds.as_numpy_iterator():
        assert [t.decode() for t in s] == [f"t{i}" for i in y]


def test_padded_batch_pads_strings_with_empty_bytes(real_tf):
    def batches(m):
        ds = m.data.Dataset.from_tensor_slices(["a b", "c", "d e f"]).map(m.strings.split)
        return [b.tolist() for b in ds.padded_batch(2).as_numpy_iterator()]
    assert batches(tf) == batches(real_tf)
