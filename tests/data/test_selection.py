"""take_while, unique, scan, random, sample_from_datasets, choose_from_datasets."""
import collections

import numpy as np
import pytest

import tapeflow as tf

D = tf.data.Dataset


def _np(ds):
    return [np.asarray(v).tolist() for v in ds.as_numpy_iterator()]


PIPELINES = {
    "take_while": lambda t: t.data.Dataset.range(10).take_while(lambda x: x < 4),
    "unique": lambda t: t.data.Dataset.from_tensor_slices([1, 3, 1, 2, 3, 5]).unique(),
    "scan": lambda t: t.data.Dataset.range(6).scan(
        t.constant(0, t.int64), lambda s, x: (s + x, (s, t.cast(x, t.float32) * 2))),
    "scan_tuples": lambda t: t.data.Dataset.zip((t.data.Dataset.range(3), t.data.Dataset.range(3)))
    .scan(t.constant(0, t.int64), lambda s, e: (s + e[0], e[1] + s)),
    "choose": lambda t: t.data.Dataset.choose_from_datasets(
        [t.data.Dataset.range(3), t.data.Dataset.range(10, 13)],
        t.data.Dataset.from_tensor_slices(t.constant([0, 1, 1, 0, 0, 0, 1], t.int64))),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_matches_tensorflow(name, real_tf):
    ours, theirs = PIPELINES[name](tf), PIPELINES[name](real_tf)
    assert repr(ours.element_spec) == repr(theirs.element_spec)
    assert int(ours.cardinality()) == int(theirs.cardinality())
    assert _np(ours) == _np(theirs)


def test_unique_refuses_floats():
    with pytest.raises(TypeError, match="does not support"):
        D.from_tensor_slices([1.0]).unique()


def test_scan_needs_a_state_output_pair():
    with pytest.raises(TypeError, match="pair"):
        list(D.range(3).scan(np.int64(0), lambda s, x: s + x))


def test_sample_from_datasets_follows_weights_and_seed():
    a, b = D.range(0, 1).repeat(), D.range(1, 2).repeat()
    ds = D.sample_from_datasets([a, b], weights=[0.8, 0.2], seed=3).take(2000)
    counts = collections.Counter(int(v) for v in ds)
    assert 0.75 < counts[0] / 2000 < 0.85
    again = D.sample_from_datasets([a, b], weights=[0.8, 0.2], seed=3).take(50)
    assert _np(again) == _np(D.sample_from_datasets([a, b], weights=[0.8, 0.2], seed=3).take(50))


def test_sample_from_datasets_drains_every_input_unless_told_to_stop():
    ds = D.sample_from_datasets([D.range(3), D.range(10, 15)], seed=0)
    assert sorted(_np(ds)) == [0, 1, 2, 10, 11, 12, 13, 14]
    stopping = D.sample_from_datasets([D.range(3), D.range(10, 15)], seed=0,
                                      stop_on_empty_dataset=True)
    assert len(_np(stopping)) < 8
    with pytest.raises(ValueError, match="weights"):
        D.sample_from_datasets([D.range(3)], weights=[-1.0])


def test_choose_from_datasets_checks_choices():
    with pytest.raises(TypeError, match="tf.int64"):
        D.choose_from_datasets([D.range(2)], D.range(2).map(lambda x: tf.cast(x, tf.int32)))
    bad = D.choose_from_datasets([D.range(2)], D.from_tensor_slices(np.array([3], np.int64)))
    with pytest.raises(ValueError, match="out of range"):
        list(bad)


def test_random_is_seeded_and_infinite():
    assert int(D.random(seed=5).cardinality()) == tf.data.INFINITE_CARDINALITY
    assert _np(D.random(seed=5).take(4)) == _np(D.random(seed=5).take(4))
    assert all(v >= 0 for v in _np(D.random().take(100)))


def _gen3():
    return D.from_generator(lambda: iter(range(3)), output_signature=tf.TensorSpec([], tf.int64))


def test_assert_cardinality_declares_and_checks_the_length():
    ds = _gen3().apply(tf.data.experimental.assert_cardinality(3))
    assert len(ds) == 3 and [int(v) for v in ds] == [0, 1, 2]
    with pytest.raises(tf.errors.FailedPreconditionError, match="expected to contain 5 elements "
                       "but contained only 3"):
        list(_gen3().apply(tf.data.experimental.assert_cardinality(5)))
    with pytest.raises(tf.errors.FailedPreconditionError, match="contained at least 3"):
        list(_gen3().apply(tf.data.experimental.assert_cardinality(2)))


def test_counter():
    assert [int(v) for v in D.counter(start=3, step=2).take(3)] == [3, 5, 7]
    assert int(D.counter().cardinality()) == tf.data.INFINITE_CARDINALITY
    assert [int(v) for v in tf.data.experimental.Counter(1).take(2)] == [1, 2]


def test_rebatch_matches_tensorflow(real_tf):
    for make in (lambda t: t.data.Dataset.range(7).batch(3).rebatch(2),
                 lambda t: t.data.Dataset.range(8).batch(4, drop_remainder=True).rebatch(2)):
        ours, theirs = make(tf), make(real_tf)
        assert repr(ours.element_spec) == repr(theirs.element_spec)
        assert _np(ours) == _np(theirs)
