"""interleave and window: TF's element order, specs and cardinality."""
import pytest

import tapeflow as tf

INTERLEAVES = [
    (lambda D: lambda x: D.from_tensors(x).repeat(x), 2, 1),
    (lambda D: lambda x: D.from_tensors(x).repeat(x), 2, 2),
    (lambda D: lambda x: D.from_tensors(x).repeat(6 - x), 3, 2),
    (lambda D: lambda x: D.range(x), 4, 3),
    (lambda D: lambda x: D.range(10 * x, 10 * x + 3), 1, 5),
]


def _ints(ds):
    return [int(v) for v in ds]


@pytest.mark.parametrize("case", range(len(INTERLEAVES)))
def test_interleave_order_matches_tensorflow(case, real_tf):
    make, cycle, block = INTERLEAVES[case]
    ours = tf.data.Dataset.range(1, 6).interleave(make(tf.data.Dataset), cycle, block)
    theirs = real_tf.data.Dataset.range(1, 6).interleave(make(real_tf.data.Dataset), cycle, block)
    assert _ints(ours) == _ints(theirs)
    assert repr(ours.element_spec) == repr(theirs.element_spec)


def test_interleave_round_robin_and_refill():
    ds = tf.data.Dataset.range(1, 4).interleave(
        lambda x: tf.data.Dataset.range(10 * x, 10 * x + 3), cycle_length=2,
        num_parallel_calls=tf.data.AUTOTUNE)
    assert _ints(ds) == [10, 20, 11, 21, 12, 22, 30, 31, 32]
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    with pytest.raises(TypeError, match="must return a Dataset"):
        list(tf.data.Dataset.range(2).interleave(lambda x: x, cycle_length=1))


WINDOWS = [(3, None, 1, False), (3, 2, 1, True), (2, 5, 1, False), (3, 1, 2, True),
           (4, 3, 2, False)]   # (size, shift, stride, drop_remainder)


@pytest.mark.parametrize("args", WINDOWS, ids=str)
def test_window_matches_tensorflow(args, real_tf):
    ours = tf.data.Dataset.range(7).window(*args)
    theirs = real_tf.data.Dataset.range(7).window(*args)
    assert [_ints(w) for w in ours] == [[int(v) for v in w] for w in theirs]
    assert int(ours.cardinality()) == int(theirs.cardinality())
    assert repr(ours.element_spec) == repr(theirs.element_spec)


def test_window_of_tuples_is_a_tuple_of_datasets():
    d = tf.data.Dataset
    z = d.zip((d.range(5), d.range(5, 10))).window(2)
    batches = z.flat_map(lambda a, b: d.zip((a.batch(2), b.batch(2))))
    assert [(a.numpy().tolist(), b.numpy().tolist()) for a, b in batches] == [
        ([0, 1], [5, 6]), ([2, 3], [7, 8]), ([4], [9])]
    with pytest.raises(ValueError, match="size"):
        d.range(3).window(0)


def _seqs(lib, n=7):
    data = [[i] * i for i in range(1, n + 1)]
    return lib.data.Dataset.from_generator(lambda: iter(data),
                                           output_signature=lib.TensorSpec([None], lib.int32))


GROUPINGS = {
    "group_by_window": lambda t: t.data.Dataset.range(20).group_by_window(
        key_func=lambda x: x % 3, reduce_func=lambda k, w: w.batch(4), window_size=4),
    "group_keys_in_output": lambda t: t.data.Dataset.from_tensor_slices(
        [5, 1, 4, 1, 3, 9, 2, 6, 8]).group_by_window(
        key_func=lambda x: t.cast(x % 2, t.int64),
        reduce_func=lambda k, w: w.batch(10).map(lambda b: (k, b)), window_size=3),
    "bucket": lambda t: _seqs(t).bucket_by_sequence_length(
        lambda x: t.shape(x)[0], bucket_boundaries=[3, 5], bucket_batch_sizes=[2, 2, 2]),
    "bucket_pad_to_boundary": lambda t: _seqs(t, 6).bucket_by_sequence_length(
        lambda x: t.shape(x)[0], bucket_boundaries=[3, 7], bucket_batch_sizes=[2, 2, 2],
        pad_to_bucket_boundary=True),
}


def _nested_lists(ds):
    out = []
    for e in ds.as_numpy_iterator():
        out.append([v.tolist() for v in e] if isinstance(e, tuple) else e.tolist())
    return out


@pytest.mark.parametrize("name", sorted(GROUPINGS))
def test_grouping_matches_tensorflow(name, real_tf):
    ours, theirs = GROUPINGS[name](tf), GROUPINGS[name](real_tf)
    assert repr(ours.element_spec) == repr(theirs.element_spec)
    assert _nested_lists(ours) == _nested_lists(theirs)


def test_group_by_window_needs_one_window_size():
    with pytest.raises(ValueError, match="exactly one"):
        tf.data.Dataset.range(3).group_by_window(lambda x: x, lambda k, w: w)
    with pytest.raises(tf.errors.InvalidArgumentError, match="pad_to_bucket_boundary"):
        list(_seqs(tf).bucket_by_sequence_length(
            lambda x: tf.shape(x)[0], [3, 5], [2, 2, 2], pad_to_bucket_boundary=True))
