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
