"""tapeflow/ops/_random_seed.py: seeded stateful draws give TensorFlow 2.21's numbers."""
import numpy as np
import pytest

import tapeflow


def _draws(tf, calls, global_seed=5):
    tf.random.set_seed(global_seed)
    return [np.asarray(call(tf).numpy()) for call in calls]


def _assert_same(calls, real_tf, global_seed=5):
    ours = _draws(tapeflow, calls, global_seed)
    theirs = _draws(real_tf, calls, global_seed)
    for i, (got, want) in enumerate(zip(ours, theirs)):
        assert got.dtype == want.dtype and got.shape == want.shape, i
        np.testing.assert_array_equal(got, want, err_msg=f"call {i}")


SHAPES = [[], [1], [5], [2, 3], [3, 1, 4], [17]]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_draws_with_only_a_global_seed_equal_tensorflow(real_tf, shape, dtype):
    _assert_same([lambda tf: tf.random.uniform(shape, dtype=dtype),
                  lambda tf: tf.random.normal(shape, dtype=dtype),
                  lambda tf: tf.random.truncated_normal(shape, dtype=dtype),
                  lambda tf: tf.random.uniform(shape, -1.5, 2.5, dtype=dtype),
                  lambda tf: tf.random.normal(shape, mean=3.0, stddev=0.5, dtype=dtype)], real_tf)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_draws_equal_tensorflow(real_tf, dtype):
    _assert_same([lambda tf: tf.random.uniform([9], -4, 7, dtype=dtype),
                  lambda tf: tf.random.uniform([2, 5], 0, 1000, dtype=dtype, seed=3),
                  lambda tf: tf.random.uniform([2, 5], 0, 1000, dtype=dtype, seed=3)], real_tf)


def test_an_op_seed_called_again_continues_its_stream_as_in_tensorflow(real_tf):
    _assert_same([lambda tf: tf.random.uniform([3], seed=7),
                  lambda tf: tf.random.uniform([2, 2], seed=7),   # same kernel, moved on
                  lambda tf: tf.random.normal([3], seed=7),       # another op: its own stream
                  lambda tf: tf.random.uniform([3], seed=7, dtype="float64"),
                  lambda tf: tf.random.uniform([3], seed=8)], real_tf)


@pytest.mark.parametrize("global_seed", [0, 1, 2**31 - 1, 2**40 + 3])
def test_seed_edge_cases_equal_tensorflow(real_tf, global_seed):
    # (0, 0) becomes (0, 2**31 - 1); seeds are taken mod 2**31 - 1.
    _assert_same([lambda tf: tf.random.uniform([4], seed=0),
                  lambda tf: tf.random.uniform([4]),
                  lambda tf: tf.random.normal([4], seed=2**31 - 1)], real_tf, global_seed)


def test_op_seed_without_a_global_seed_equals_tensorflow(real_tf):
    def run(tf):
        tf.random.set_seed(None)
        return [tf.random.uniform([3], seed=11).numpy(), tf.random.uniform([3], seed=11).numpy()]
    for got, want in zip(run(tapeflow), run(real_tf)):
        np.testing.assert_array_equal(got, want)


def _traced_runs(tf):
    tf.random.set_seed(9)

    @tf.function
    def f():
        return tf.random.uniform([2]), tf.random.normal([3]), tf.random.uniform([2], seed=3)
    runs = [f(), f()]
    tf.random.set_seed(9)
    runs.append(f())                 # set_seed restarts the traced ops' streams
    return [x.numpy() for run in runs for x in run]


def test_traced_draws_and_their_restart_by_set_seed_equal_tensorflow(real_tf):
    for got, want in zip(_traced_runs(tapeflow), _traced_runs(real_tf)):
        np.testing.assert_array_equal(got, want)


def test_without_any_seed_draws_differ_from_call_to_call():
    tapeflow.random.set_seed(None)
    a, b = tapeflow.random.uniform([8]), tapeflow.random.uniform([8])
    assert not np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("n", [1, 2, 5, 33, 100])
def test_shuffle_equals_tensorflow(real_tf, n):
    _assert_same([lambda tf: tf.random.shuffle(tf.range(n)),
                  lambda tf: tf.random.shuffle(tf.reshape(tf.range(2 * n), [n, 2]), seed=3),
                  lambda tf: tf.random.shuffle(tf.range(n), seed=3),
                  lambda tf: tf.random.uniform([3])], real_tf)


@pytest.mark.parametrize("rows, classes, samples", [(1, 2, 1), (2, 3, 7), (3, 4, 5), (1, 6, 13)])
def test_categorical_equals_tensorflow(real_tf, rows, classes, samples):
    logits = np.log(np.random.default_rng(rows).uniform(0.1, 1.0, (rows, classes)))
    logits = logits.astype(np.float32)
    _assert_same([lambda tf: tf.random.categorical(logits, samples),
                  lambda tf: tf.random.categorical(logits, samples, seed=4),
                  lambda tf: tf.random.categorical(logits, samples, seed=4, dtype="int32"),
                  lambda tf: tf.random.categorical(logits, samples, seed=4),
                  lambda tf: tf.random.normal([2])], real_tf)
