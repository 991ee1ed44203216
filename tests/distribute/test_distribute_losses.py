"""tf.nn.compute_average_loss and tf.nn.scale_regularization_loss, against TensorFlow."""
import numpy as np
import pytest

import tapeflow as tf


def test_compute_average_loss_divides_by_the_batch_size(real_tf):
    losses = np.array([1.0, 2.0, 3.0, 6.5], np.float32)
    expected = real_tf.nn.compute_average_loss(losses).numpy()
    assert tf.nn.compute_average_loss(losses).numpy() == pytest.approx(expected)


def test_compute_average_loss_uses_the_global_batch_size_and_weights(real_tf):
    losses = np.array([1.0, 2.0, 3.0], np.float32)
    weights = np.array([0.5, 1.0, 2.0], np.float32)
    expected = real_tf.nn.compute_average_loss(losses, sample_weight=weights,
                                               global_batch_size=8).numpy()
    got = tf.nn.compute_average_loss(losses, sample_weight=weights, global_batch_size=8)
    assert got.numpy() == pytest.approx(expected)


def test_compute_average_loss_counts_every_replica_inside_run(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    per_example = tf.constant([2.0, 4.0])
    got = strategy.run(lambda: tf.nn.compute_average_loss(per_example))
    # Each replica divides by its batch times the 2 replicas: the sum over replicas is
    # the mean over the global batch.
    expected = float(tf.reduce_sum(per_example)) / (2 * 2)
    assert [float(g) for g in strategy.experimental_local_results(got)] == [expected] * 2


def test_scale_regularization_loss_divides_by_the_replicas(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    got = strategy.run(lambda: tf.nn.scale_regularization_loss([tf.constant(3.0),
                                                                tf.constant(1.0)]))
    assert float(strategy.experimental_local_results(got)[0]) == pytest.approx(4.0 / 2)


def test_compute_average_loss_rejects_a_scalar_loss():
    with pytest.raises(ValueError, match="at least rank 1"):
        tf.nn.compute_average_loss(tf.constant(1.0))


def test_compute_average_loss_rejects_a_float_global_batch_size():
    with pytest.raises(TypeError, match="must be an integer"):
        tf.nn.compute_average_loss(tf.constant([1.0]), global_batch_size=2.0)


def test_compute_average_loss_outside_run_in_a_scope_is_an_error():
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        with pytest.raises(RuntimeError, match="cross replica context"):
            tf.nn.compute_average_loss(tf.constant([1.0]))


def test_scale_regularization_loss_matches_tensorflow(real_tf):
    expected = real_tf.nn.scale_regularization_loss(np.float32(3.0)).numpy()
    assert tf.nn.scale_regularization_loss(tf.constant(3.0)).numpy() == pytest.approx(expected)
