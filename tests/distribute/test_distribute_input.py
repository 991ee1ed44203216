"""Distributed input: global batches split over replicas, InputContext, TF_CONFIG."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.distribute import input as dist_input
from tapeflow.distribute import multi_worker


def test_replica_bounds_give_the_first_replicas_the_extra_rows():
    bounds = [dist_input.replica_bounds(10, 4, r) for r in range(4)]
    assert bounds == [(0, 3), (3, 6), (6, 8), (8, 10)]


def test_input_context_per_replica_batch_size():
    ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1,
                                     num_replicas_in_sync=4)
    assert (ctx.num_input_pipelines, ctx.input_pipeline_id) == (2, 1)
    assert ctx.get_per_replica_batch_size(64) == 16
    with pytest.raises(ValueError, match="not divisible"):
        ctx.get_per_replica_batch_size(10)


def test_distribute_datasets_from_function_passes_the_input_context():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    seen = []

    def dataset_fn(ctx):
        seen.append((ctx.num_input_pipelines, ctx.input_pipeline_id,
                     ctx.get_per_replica_batch_size(8)))
        return tf.data.Dataset.from_tensor_slices(np.arange(16)).batch(
            ctx.get_per_replica_batch_size(8))

    batches = list(strategy.distribute_datasets_from_function(dataset_fn))
    assert seen == [(1, 0, 8)]
    assert [b.numpy().tolist() for b in batches] == [list(range(8)), list(range(8, 16))]


def test_distributed_dataset_keeps_none_parts_of_a_batch():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    parts = dist_input.split_batch((np.ones((4, 2)), None), strategy)
    assert parts[0][1] is None and parts[0][0].shape == (4, 2)


def test_tf_config_orders_the_chief_first():
    config = ('{"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}, '
              '"task": {"type": "worker", "index": 1}}')
    assert multi_worker.parse_tf_config(config) == ("worker", 2, 3)
    assert multi_worker.parse_tf_config("") is None


def test_tf_config_with_another_task_type_is_an_error():
    config = '{"cluster": {"worker": ["b:1"], "ps": ["p:1"]}, "task": {"type": "ps"}}'
    with pytest.raises(ValueError, match="'chief' and 'worker'"):
        multi_worker.parse_tf_config(config)
