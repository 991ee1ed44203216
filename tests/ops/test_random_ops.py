"""tapeflow/ops/random_ops.py: seeded, reproducible random tensors."""
import numpy as np
import pytest

import tapeflow as tf


def test_global_seed_makes_sequences_reproducible():
    tf.random.set_seed(42)
    a1, a2 = tf.random.normal((3,)), tf.random.uniform((2, 2))
    tf.random.set_seed(42)
    b1, b2 = tf.random.normal((3,)), tf.random.uniform((2, 2))
    np.testing.assert_array_equal(a1.numpy(), b1.numpy())
    np.testing.assert_array_equal(a2.numpy(), b2.numpy())
    assert not np.array_equal(tf.random.normal((3,)).numpy(), a1.numpy())


def test_op_seed_gives_a_repeatable_stream():
    tf.random.set_seed(1)
    x1, x2 = tf.random.normal((4,), seed=7), tf.random.normal((4,), seed=7)
    tf.random.set_seed(1)
    y1 = tf.random.normal((4,), seed=7)
    np.testing.assert_array_equal(x1.numpy(), y1.numpy())
    assert not np.array_equal(x1.numpy(), x2.numpy())


@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64])
def test_distributions_have_the_right_moments_shapes_and_dtypes(dtype):
    tf.random.set_seed(0)
    n = tf.random.normal((200, 100), mean=2.0, stddev=3.0, dtype=dtype).numpy().astype(np.float64)
    assert n.shape == (200, 100) and abs(n.mean() - 2.0) < 0.1 and abs(n.std() - 3.0) < 0.1
    u = tf.random.uniform((20000,), -1.0, 3.0, dtype=dtype)
    assert u.dtype == dtype
    u = u.numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.05
    t = tf.random.truncated_normal((20000,), stddev=2.0, dtype=dtype).numpy()
    assert np.abs(t).max() <= 4.0 + 1e-3 and t.std() > 1.5


def test_integer_uniform_and_its_required_maxval():
    tf.random.set_seed(0)
    i = tf.random.uniform((1000,), minval=3, maxval=7, dtype=tf.int32)
    assert i.dtype == tf.int32 and set(np.unique(i.numpy())) == {3, 4, 5, 6}
    with pytest.raises(ValueError, match="maxval"):
        tf.random.uniform((2,), dtype=tf.int32)


def test_shape_may_be_a_tensor_or_tensorshape():
    assert tf.random.normal(tf.constant([2, 3])).shape == (2, 3)
    assert tf.random.uniform(tf.TensorShape([4])).shape == (4,)
    assert tf.random.normal([]).shape == ()


def test_shuffle_and_categorical():
    tf.random.set_seed(3)
    s = tf.random.shuffle(tf.range(10))
    assert sorted(s.numpy().tolist()) == list(range(10))
    c = tf.random.categorical(tf.math.log([[0.5, 0.5, 0.0]]), 50)
    assert c.shape == (1, 50) and c.dtype == tf.int64 and set(c.numpy().ravel()) <= {0, 1}


def test_random_samples_are_constants_to_a_tape():
    m = tf.Variable(1.0)
    with tf.GradientTape() as t:
        r = tf.random.normal((3,))
        y = r * m
    np.testing.assert_allclose(float(t.gradient(y, m)), float(tf.reduce_sum(r)), rtol=1e-6)


def test_shapes_known_only_at_run_time_inside_tf_function():
    spec = tf.TensorSpec([None, 4], tf.float32)

    @tf.function(input_signature=[spec])
    def draws(x):
        n = tf.shape(x)[0]
        return (tf.random.normal(tf.shape(x), mean=1.0), tf.random.uniform([n, 2], maxval=3.0),
                tf.random.truncated_normal(tf.shape(x), stddev=0.5),
                tf.random.uniform(tf.stack([n, 3]), maxval=5, dtype=tf.int32))

    # The traced shapes keep what is known: the batch is unknown, the rest is not.
    tf.random.set_seed(3)       # before the trace: the traced ops take their seeds from it
    traced = draws.get_concrete_function(spec).structured_outputs
    assert [t.shape.as_list() for t in traced] == [[None, 4], [None, 2], [None, 4], [None, 3]]
    assert [t.dtype for t in traced] == [tf.float32, tf.float32, tf.float32, tf.int32]
    tf.random.set_seed(3)
    normal, uniform, truncated, ints = draws(tf.zeros([500, 4]))
    assert normal.shape == (500, 4) and uniform.shape == (500, 2) and ints.shape == (500, 3)
    assert abs(float(tf.reduce_mean(normal)) - 1.0) < 0.1
    assert 0.0 <= float(tf.reduce_min(uniform)) and float(tf.reduce_max(uniform)) < 3.0
    assert float(tf.reduce_max(tf.abs(truncated))) <= 1.0
    assert set(np.unique(ints.numpy())) <= set(range(5))
    assert draws(tf.zeros([7, 4]))[0].shape == (7, 4)      # same trace, another batch
    # set_seed restarts the traced ops' streams, as TF's: the draws repeat.
    tf.random.set_seed(3)
    np.testing.assert_array_equal(draws(tf.zeros([500, 4]))[0].numpy(), normal.numpy())


def test_dropout_inside_tf_function_with_an_unknown_batch():
    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32)])
    def drop(x):
        return tf.nn.dropout(x, rate=0.25)

    out = drop(tf.ones([400, 8])).numpy()
    assert out.shape == (400, 8)
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.03
    assert drop(tf.ones([3, 8])).shape == (3, 8)
