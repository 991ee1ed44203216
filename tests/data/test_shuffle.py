"""Dataset.shuffle: TF's buffer semantics, on the fused index path and the element path."""
import collections

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.data import shuffle as shuffle_mod

D = tf.data.Dataset


def _indexed(n):
    return D.range(n)


def _generic(n):
    """The same elements through a generator: exercises the element-by-element shuffle."""
    return D.from_generator(lambda: iter(range(n)), output_signature=tf.TensorSpec([], tf.int64))


SOURCES = {"indexed": _indexed, "generic": _generic}


def _order(ds):
    return [int(v) for v in ds]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_buffer_size_one_keeps_the_order(source):
    assert _order(SOURCES[source](50).shuffle(1)) == list(range(50))


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_element_exactly_once_per_epoch(source):
    ds = SOURCES[source](500).shuffle(64)
    for _ in range(3):
        assert sorted(_order(ds)) == list(range(500))


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_first_output_comes_from_first_buffer_size_elements(source):
    firsts = {_order(SOURCES[source](1000).shuffle(10))[0] for _ in range(40)}
    assert firsts <= set(range(10)) and len(firsts) > 3


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_output_k_comes_from_the_first_buffer_size_plus_k_inputs(source):
    for _ in range(10):
        order = _order(SOURCES[source](300).shuffle(20))
        assert all(v < 20 + k for k, v in enumerate(order))


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_reshuffles_each_epoch_unless_told_not_to(source):
    ds = SOURCES[source](100).shuffle(100, seed=3)
    assert _order(ds) != _order(ds)
    fixed = SOURCES[source](100).shuffle(100, reshuffle_each_iteration=False)
    assert _order(fixed) == _order(fixed)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_same_seed_same_orders(source):
    a = SOURCES[source](100).shuffle(30, seed=7)
    b = SOURCES[source](100).shuffle(30, seed=7)
    assert [_order(a), _order(a)] == [_order(b), _order(b)]
    assert _order(SOURCES[source](100).shuffle(30, seed=8)) != _order(b)


def test_global_seed_makes_shuffles_reproducible():
    def run():
        tf.random.set_seed(42)
        a, b = D.range(50).shuffle(50), D.range(50).shuffle(50)
        return _order(a), _order(b), _order(a)
    first, second = run(), run()
    assert first == second
    assert first[0] != first[1]          # two datasets get different streams
    tf.random.set_seed(None)


def test_unseeded_shuffles_differ():
    assert _order(D.range(200).shuffle(200)) != _order(D.range(200).shuffle(200))


def _position_frequencies(make, n, trials):
    counts = np.zeros((n, n))
    for _ in range(trials):
        for pos, v in enumerate(_order(make())):
            counts[v, pos] += 1
    return counts / trials


def _exact_position_probabilities(n, b):
    """P(element e is emitted at step k) for TF's buffer shuffle, by exact recursion."""
    probs = np.zeros((n, n))
    # State: which inputs are still buffered, each with its probability (dynamic programming
    # over steps: every buffered element is equally likely to be emitted next).
    in_buffer = np.zeros(n)
    in_buffer[:min(b, n)] = 1.0           # P(element still in the buffer) before step 0
    for k in range(n):
        size = min(b, n - k)               # buffer holds b items until the input runs out
        emitted = in_buffer / size
        probs[:, k] = emitted
        in_buffer = in_buffer - emitted
        if b + k < n:
            in_buffer[b + k] = 1.0         # the next input refills the freed slot
    return probs


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_position_distribution_matches_tensorflows_algorithm(source):
    n, b, trials = 8, 3, 3000
    tf.random.set_seed(2024)       # reproducible: the bound below can never flake
    try:
        got = _position_frequencies(lambda: SOURCES[source](n).shuffle(b), n, trials)
    finally:
        tf.random.set_seed(None)
    want = _exact_position_probabilities(n, b)
    # ~4.5 standard errors of a proportion estimated from 3000 trials.
    assert np.abs(got - want).max() < 4.5 * np.sqrt(0.25 / trials)
    assert want[0, 0] == pytest.approx(1 / 3) and want[7, 0] == 0


def test_vectorised_index_shuffle_handles_many_chunks():
    rng = np.random.default_rng(0)
    chunks = [range(5), np.arange(5, 9), range(9, 40), np.arange(40, 41)]
    out = np.concatenate(list(shuffle_mod.shuffle_indices(chunks, 7, rng)))
    assert sorted(out.tolist()) == list(range(41))
    assert all(v < 7 + k for k, v in enumerate(out.tolist()))


def test_shuffle_after_repeat_mixes_epochs_lazily():
    order = _order(D.range(10).repeat().shuffle(5).take(35))
    assert len(order) == 35 and set(order) == set(range(10))
    counts = collections.Counter(_order(D.range(10).repeat(3).shuffle(4)))
    assert all(c == 3 for c in counts.values()) and len(counts) == 10


def test_shuffle_then_batch_is_a_gather_of_contiguous_arrays():
    x = np.arange(60000 * 4, dtype=np.float32).reshape(60000, 2, 2)
    y = np.arange(60000, dtype=np.int64)
    ds = D.from_tensor_slices((x, y)).shuffle(10000, seed=1).batch(32)
    batches = list(ds)
    assert len(batches) == len(ds) == 1875
    xb, yb = batches[0]
    assert xb.numpy().flags.c_contiguous and xb.shape == tf.TensorShape([32, 2, 2])
    np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()])    # rows stay paired
    seen = np.concatenate([b[1].numpy() for b in batches])
    assert np.array_equal(np.sort(seen), y)
    assert seen[0] < 10000


def test_source_is_not_copied_per_epoch():
    ds = D.from_tensor_slices(np.zeros((100, 3), np.float32)).shuffle(10)
    a, _ = ds._indexed()
    list(ds.batch(7))
    list(ds.batch(7))
    b, _ = ds._indexed()
    assert a[0] is b[0]


def test_bad_buffer_size_is_explained():
    with pytest.raises(ValueError, match="greater than zero"):
        D.range(3).shuffle(0)
    with pytest.raises(TypeError, match="buffer_size"):
        D.range(3).shuffle("big")


def test_tensorflows_own_shuffle_has_the_same_position_distribution(real_tf):
    """The reference probabilities above are TF's: checked against TF's tf.data itself."""
    n, b, trials = 6, 2, 2000
    ds = real_tf.data.Dataset.range(n).shuffle(b, seed=1).batch(n).repeat(trials)
    counts = np.zeros((n, n))
    for batch in ds.as_numpy_iterator():
        counts[batch, np.arange(n)] += 1
    got = counts / trials
    assert np.abs(got - _exact_position_probabilities(n, b)).max() < 4.5 * np.sqrt(0.25 / trials)
