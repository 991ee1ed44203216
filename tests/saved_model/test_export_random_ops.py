"""Random draws saved by tapeflow: stateless and Generator streams equal tapeflow's in
TensorFlow; stateful draws keep shapes, dtypes and ranges.
"""
import numpy as np

import tapeflow as tf


class _Seeded(tf.Module):
    def __init__(self):
        self.generator = tf.random.Generator.from_seed(7)

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int32)])
    def draw(self, seed):
        return {"normal": tf.random.stateless_normal([2, 3], seed=seed),
                "uniform": tf.random.stateless_uniform([3], seed=seed, minval=1.0, maxval=2.0),
                "ints": tf.random.stateless_uniform([3], seed=seed, minval=0, maxval=10,
                                                    dtype=tf.int32),
                "truncated": tf.random.stateless_truncated_normal([2], seed=seed),
                "categorical": tf.random.stateless_categorical(
                    tf.math.log([[0.5, 0.5]]), 4, seed=seed),
                "generator": self.generator.normal([3])}


def test_stateless_and_generator_draws_are_tapeflows_numbers_in_tensorflow(save_load, real_tf,
                                                                           tmp_path):
    module = _Seeded()
    loaded = save_load(module, tmp_path / "seeded")
    for _ in range(2):              # the generator's state moves on in both
        expected = module.draw(tf.constant([1, 2]))
        got = loaded.draw(real_tf.constant([1, 2]))
        for key in expected:
            np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)


def test_random_ops_draw_in_tensorflow_with_tapeflows_shapes_and_ranges(save_load, tmp_path):
    class Noisy(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2, 500], tf.float32)])
        def draw(self, x):
            return {"normal": tf.random.normal([2, 500], mean=3.0, stddev=0.5, seed=1),
                    "uniform": tf.random.uniform([2, 500], 1.0, 2.0),
                    "ints": tf.random.uniform([2, 500], 0, 5, dtype=tf.int32),
                    "truncated": tf.random.truncated_normal([2, 500]),
                    "dropped": tf.nn.dropout(x, 0.5)}

    noisy = Noisy()
    expected = noisy.draw(tf.ones([2, 500]))
    got = save_load(noisy, tmp_path / "noisy").draw(np.ones([2, 500], np.float32))
    for key in expected:
        assert got[key].shape == expected[key].shape
        assert got[key].dtype.name == expected[key].dtype.name
    assert abs(float(np.mean(got["normal"])) - 3.0) < 0.1
    assert 1.0 <= np.min(got["uniform"]) and np.max(got["uniform"]) < 2.0
    assert set(np.unique(got["ints"])) <= set(range(5))
    assert np.max(np.abs(got["truncated"])) <= 2.0
    assert set(np.unique(got["dropped"])) == {0.0, 2.0}


def test_seeded_stateful_draws_are_tapeflows_numbers_in_tensorflow(save_load, tmp_path):
    tf.random.set_seed(3)

    class Seeded(tf.Module):
        @tf.function(input_signature=[])
        def draw(self):
            return {"normal": tf.random.normal([4], seed=5),
                    "ints": tf.random.uniform([3], maxval=10, dtype=tf.int32),
                    "truncated": tf.random.truncated_normal([2, 2], seed=9)}

    module = Seeded()
    expected = module.draw()            # the function's first run: each op's stream starts
    got = save_load(module, tmp_path / "seeded_stateful").draw()
    for key in expected:
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)
