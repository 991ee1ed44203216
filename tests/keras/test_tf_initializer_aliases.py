"""tf.zeros_initializer, tf.random_normal_initializer, ...: TF's top-level initializers."""
import numpy as np
import pytest

import tapeflow as tf


@pytest.mark.parametrize("name, args", [("zeros_initializer", ()), ("ones_initializer", ()),
                                        ("constant_initializer", (3.5,))])
def test_deterministic_initializers_match_tensorflow(real_tf, name, args):
    ours = getattr(tf, name)(*args)(shape=(2, 3), dtype="float32")
    theirs = getattr(real_tf, name)(*args)(shape=(2, 3), dtype="float32")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_random_normal_initializer_has_tensorflows_default_spread():
    values = tf.random_normal_initializer()(shape=(200, 200), dtype="float32").numpy()
    assert abs(values.mean()) < 0.002 and values.std() == pytest.approx(0.05, rel=0.02)


def test_random_uniform_initializer_keeps_tensorflows_default_range():
    values = tf.random_uniform_initializer()(shape=(1000,), dtype="float32").numpy()
    assert values.min() >= -0.05 and values.max() <= 0.05 and values.std() > 0.02


def test_initializer_values_make_a_variable():
    v = tf.Variable(tf.random_normal_initializer()(shape=(2, 4), dtype="float32"))
    assert v.shape == (2, 4) and v.dtype == tf.float32
