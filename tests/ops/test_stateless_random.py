"""Stateless random ops: TensorFlow's exact values for the same seeds (Philox4x32-10)."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.ops import _philox

SEEDS = [(1, 2), (0, 0), (-5, 7), (2**40, -(2**35))]
SHAPES = [[], [1], [5], [3, 4], [2, 3, 7]]
FLOATS = ["float16", "float32", "float64"]


def _same(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform_floats_equal_tf(real_tf, seed, dtype):
    for shape in SHAPES:
        _same(tf.random.stateless_uniform(shape, seed=seed, dtype=dtype).numpy(),
              real_tf.random.stateless_uniform(shape, seed=seed, dtype=dtype).numpy())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_normal_equals_tf(real_tf, seed, dtype):
    for shape in SHAPES:
        _same(tf.random.stateless_normal(shape, seed=seed, dtype=dtype).numpy(),
              real_tf.random.stateless_normal(shape, seed=seed, dtype=dtype).numpy())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_truncated_normal_equals_tf(real_tf, seed, dtype):
    for shape in SHAPES + [[1001]]:
        _same(tf.random.stateless_truncated_normal(shape, seed=seed, dtype=dtype).numpy(),
              real_tf.random.stateless_truncated_normal(shape, seed=seed, dtype=dtype).numpy())


def test_large_normal_draw_equals_tf_everywhere(real_tf):
    # Many values: the C library's log/sin/cos are matched, not just approximated.
    if _philox._libm() is None:
        pytest.skip("no C math library to call: values may differ from TF in the last bit")
    _same(tf.random.stateless_normal([65536], seed=[3, 4]).numpy(),
          real_tf.random.stateless_normal([65536], seed=[3, 4]).numpy())


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_bounded_integers_equal_tf(real_tf, dtype):
    info = np.iinfo(dtype)
    for lo, hi in [(0, 10), (-7, 3), (5, 6), (int(info.min), int(info.max))]:
        for seed in SEEDS[:2]:
            _same(tf.random.stateless_uniform([3, 5], seed=seed, minval=lo, maxval=hi,
                                              dtype=dtype).numpy(),
                  real_tf.random.stateless_uniform([3, 5], seed=seed, minval=lo, maxval=hi,
                                                   dtype=dtype).numpy())


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32", "uint64"])
def test_full_range_integers_equal_tf(real_tf, dtype):
    _same(tf.random.stateless_uniform([7], seed=[9, 9], minval=None, maxval=None,
                                      dtype=dtype).numpy(),
          real_tf.random.stateless_uniform([7], seed=[9, 9], minval=None, maxval=None,
                                           dtype=dtype).numpy())


def test_mean_stddev_and_bounds_are_applied_as_tf(real_tf):
    for fw in (tf, real_tf):
        fw.result = (fw.random.stateless_normal([4], [1, 2], mean=3.0, stddev=0.5).numpy(),
                     fw.random.stateless_uniform([3], [1, 2], minval=[0.0, 1.0, 2.0],
                                                 maxval=5.0).numpy(),
                     fw.random.stateless_truncated_normal([2, 2], [1, 2], mean=-1.0,
                                                          stddev=2.0, dtype="float64").numpy())
    for ours, theirs in zip(tf.result, real_tf.result):
        _same(ours, theirs)


def test_int64_seed_and_tensor_seed_give_the_same_values_as_tf(real_tf):
    seed = np.array([2**40 + 3, -9], np.int64)
    _same(tf.random.stateless_uniform([6], seed=tf.constant(seed)).numpy(),
          real_tf.random.stateless_uniform([6], seed=real_tf.constant(seed)).numpy())


def test_prefix_of_a_longer_draw_is_the_shorter_draw():
    long = tf.random.stateless_normal([40], seed=[5, 6]).numpy()
    np.testing.assert_array_equal(tf.random.stateless_normal([13], seed=[5, 6]).numpy(),
                                  long[:13])


@pytest.mark.parametrize("rows,classes,samples", [(1, 2, 5), (3, 4, 10), (50, 10, 100),
                                                  (200, 50, 300)])
def test_categorical_equals_tf(real_tf, rng, rows, classes, samples):
    # The larger cases are split over threads by TF's cost model: same split here.
    logits = rng.normal(size=(rows, classes)).astype(np.float32)
    _same(tf.random.stateless_categorical(logits, samples, seed=[7, 8]).numpy(),
          real_tf.random.stateless_categorical(logits, samples, seed=[7, 8]).numpy())


def test_categorical_skips_infinite_logits_as_tf(real_tf):
    with np.errstate(divide="ignore"):
        logits = np.log(np.array([[0.5, 0.0, 0.5, 1.0]], np.float32))
    ours = tf.random.stateless_categorical(logits, 30, seed=[1, 1], dtype=tf.int32).numpy()
    _same(ours, real_tf.random.stateless_categorical(logits, 30, seed=[1, 1],
                                                     dtype="int32").numpy())
    assert 1 not in ours


def test_split_and_fold_in_equal_tf(real_tf):
    _same(tf.random.split([1, 2], 3).numpy(), real_tf.random.split([1, 2], 3).numpy())
    _same(tf.random.fold_in([1, 2], 3).numpy(), real_tf.random.fold_in([1, 2], 3).numpy())
    _same(tf.random.experimental.stateless_split([4, 5]).numpy(),
          real_tf.random.experimental.stateless_split([4, 5]).numpy())


def test_philox_matches_the_published_known_answer():
    # Random123's known-answer test for Philox4x32-10 (all-ones counter and key).
    ones = 0xFFFFFFFF
    out = _philox.philox((ones, ones), (ones, ones, ones, ones), np.zeros(1, np.uint64))[0]
    assert [hex(int(v)) for v in out] == ["0x408f276d", "0x41c83b0e", "0xa20bc7c6",
                                          "0x6d5451fd"]


def test_counter_carries_into_the_high_word():
    low_full = (0xFFFFFFFF, 0xFFFFFFFF, 5, 0)
    carried = _philox.philox((1, 2), low_full, np.array([1], np.uint64))[0]
    direct = _philox.philox((1, 2), (0, 0, 6, 0), np.zeros(1, np.uint64))[0]
    np.testing.assert_array_equal(carried, direct)


def test_values_are_the_same_inside_tf_function():
    @tf.function
    def draw(seed):
        return tf.random.stateless_normal([3], seed=seed)
    np.testing.assert_array_equal(draw(tf.constant([1, 2])).numpy(),
                                  tf.random.stateless_normal([3], seed=[1, 2]).numpy())


def test_bad_seed_shape_is_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"seed must have shape \[2\], not"):
        tf.random.stateless_uniform([2], seed=[1, 2, 3])


def test_float_seed_is_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="int32, int64"):
        tf.random.stateless_uniform([2], seed=[1.0, 2.0])


def test_integer_bounds_in_wrong_order_are_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Need minval < maxval, got 5 >= 3"):
        tf.random.stateless_uniform([2], seed=[1, 2], minval=5, maxval=3, dtype=tf.int32)


def test_integer_dtype_needs_both_bounds_or_neither():
    with pytest.raises(ValueError, match="must be both None or not None"):
        tf.random.stateless_uniform([2], seed=[1, 2], dtype=tf.int32)


def test_unsupported_dtype_is_named():
    with pytest.raises(ValueError, match="Argument `dtype` got invalid value"):
        tf.random.stateless_uniform([2], seed=[1, 2], minval=0, maxval=4, dtype=tf.int16)
    with pytest.raises(TypeError, match="floating dtype"):
        tf.random.stateless_normal([2], seed=[1, 2], dtype=tf.int32)


def test_negative_dimension_is_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Dimension -2 must be >= 0"):
        tf.random.stateless_normal([-2], seed=[1, 2])


def test_categorical_needs_a_matrix():
    with pytest.raises(tf.errors.InvalidArgumentError, match="logits should be a matrix"):
        tf.random.stateless_categorical([1.0, 2.0], 3, seed=[1, 2])


def test_threefry_is_refused_on_cpu_as_in_tf():
    with pytest.raises(tf.errors.InvalidArgumentError, match="ThreeFry"):
        tf.random.stateless_uniform([2], seed=[1, 2], alg="threefry")


def test_small_and_large_normal_draws_agree_on_both_loops(real_tf, monkeypatch):
    # Small draws go through the ctypes loop, large ones through the compiled loop: the
    # same stream gives the same values on either path, and TF's.
    if _philox._libm() is None:
        pytest.skip("no C math library to call")
    monkeypatch.setitem(_philox._libm_state, "looped_pairs", 0)
    small = tf.random.stateless_normal([8], seed=[5, 6]).numpy()
    _same(small, real_tf.random.stateless_normal([8], seed=[5, 6]).numpy())
    large = tf.random.stateless_normal([2 * _philox._COMPILE_FROM_PAIRS], seed=[5, 6]).numpy()
    np.testing.assert_array_equal(large[:8], small)
