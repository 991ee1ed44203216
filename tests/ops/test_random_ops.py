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
