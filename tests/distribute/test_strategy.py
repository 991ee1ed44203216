"""Strategies of one process: the default strategy, OneDeviceStrategy, MirroredStrategy
on virtual CPUs (replicas run one after another, gradients summed over them)."""
import numpy as np
import pytest

import mpi_run
import tapeflow as tf
from tapeflow.distribute.values import PerReplica


def test_default_strategy_is_current_outside_any_scope():
    strategy = tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert not tf.distribute.has_strategy()
    assert not tf.distribute.in_cross_replica_context()
    assert tf.distribute.get_replica_context() is not None


def test_scope_makes_the_strategy_current_in_cross_replica_context():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        assert tf.distribute.get_strategy() is strategy
        assert tf.distribute.has_strategy()
        assert tf.distribute.in_cross_replica_context()
        assert tf.distribute.get_replica_context() is None
    assert not tf.distribute.has_strategy()


def test_run_enters_a_replica_context():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    seen = strategy.run(lambda: (tf.distribute.in_cross_replica_context(),
                                 tf.distribute.get_replica_context().num_replicas_in_sync))
    assert seen == (False, 1)


def test_scopes_of_two_strategies_do_not_nest():
    first, second = tf.distribute.OneDeviceStrategy("/cpu:0"), tf.distribute.MirroredStrategy()
    with first.scope():
        with pytest.raises(ValueError, match="Mixing different tf.distribute.Strategy"):
            with second.scope():
                pass


def test_one_device_strategy_rejects_a_gpu():
    with pytest.raises(ValueError, match="CPUs only"):
        tf.distribute.OneDeviceStrategy("/gpu:0")


def test_mirrored_strategy_has_one_replica_per_logical_cpu(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    assert strategy.num_replicas_in_sync == 2
    assert strategy.extended.worker_devices == ("/device:CPU:0", "/device:CPU:1")


def test_mirrored_strategy_rejects_a_device_that_does_not_exist(two_cpus):
    with pytest.raises(ValueError, match="does not exist"):
        tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:5"])


def test_run_returns_per_replica_values_and_reduce_combines_them(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    values = strategy.run(lambda: tf.cast(
        tf.distribute.get_replica_context().replica_id_in_sync_group, tf.float32) + 1.0)
    local = [float(v) for v in strategy.experimental_local_results(values)]
    assert local == [1.0, 2.0]
    assert float(strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None)) == sum(local)
    assert float(strategy.reduce("MEAN", values, axis=None)) == np.mean(local)


def test_reduce_over_an_axis_averages_every_element(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    batch = np.arange(10, dtype=np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(batch).batch(10)
    (per_replica,) = list(strategy.experimental_distribute_dataset(dataset))
    mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=0)
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=0)
    assert float(mean) == pytest.approx(batch.mean())
    assert float(total) == pytest.approx(batch.sum())


def test_gather_concatenates_the_replicas_values(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    dataset = tf.data.Dataset.from_tensor_slices(np.arange(6.0, dtype=np.float32)).batch(6)
    (per_replica,) = list(strategy.experimental_distribute_dataset(dataset))
    np.testing.assert_array_equal(strategy.gather(per_replica, axis=0).numpy(),
                                  np.arange(6.0, dtype=np.float32))


def test_apply_gradients_in_replicas_applies_the_sum_once(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    with strategy.scope():
        v = tf.Variable([1.0, 2.0])
        optimizer = tf.keras.optimizers.SGD(learning_rate=1.0)

    def step(scale):
        optimizer.apply_gradients([(tf.constant([1.0, 1.0]) * scale, v)])

    strategy.run(step, args=(PerReplica([tf.constant(1.0), tf.constant(2.0)]),))
    np.testing.assert_allclose(v.numpy(), [1.0 - 3.0, 2.0 - 3.0])
    assert int(optimizer.iterations) == 1


def test_mirrored_fit_and_custom_loop_match_one_replica(tmp_path):
    # A fresh process: virtual CPUs are fixed once the runtime starts.
    process = mpi_run.run("equivalence.py", ["mirrored", tmp_path], np=0)
    assert process.returncode == 0, process.stderr[-3000:]
    (result,) = mpi_run.results(tmp_path, 1)
    assert result["replicas"] == 2
    assert result["fit_max_diff"] < 1e-6
    assert result["loop_max_diff"] < 1e-6
    assert result["ref_eval"] == pytest.approx(result["dist_eval"], abs=1e-6)


def test_the_guides_options_are_accepted(two_cpus):
    strategy = tf.distribute.MirroredStrategy(
        cross_device_ops=tf.distribute.HierarchicalCopyAllReduce())
    assert strategy.num_replicas_in_sync == 2
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    assert options.implementation.name == "RING"


def test_replicas_updating_different_variables_is_an_error(two_cpus):
    strategy = tf.distribute.MirroredStrategy()
    with strategy.scope():
        a, b = tf.Variable(1.0), tf.Variable(2.0)
        optimizer = tf.keras.optimizers.SGD(learning_rate=1.0)

    def step():
        replica = tf.distribute.get_replica_context()
        v = a if int(replica.replica_id_in_sync_group) == 0 else b
        optimizer.apply_gradients([(tf.constant(1.0), v)])

    with pytest.raises(ValueError, match="every replica must update the same ones"):
        strategy.run(step)


def test_public_names_are_tensorflows(real_tf):
    ours = {n for n in dir(tf.distribute) if not n.startswith("_")}
    extra = ours - set(dir(real_tf.distribute))
    assert not extra, f"tf.distribute names TF does not have: {sorted(extra)}"
