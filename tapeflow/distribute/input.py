"""Distributed input: each worker reads its replicas' share of every global batch.

`experimental_distribute_dataset(ds)`: `ds` yields global batches; each is split along
its first axis over all replicas (sizes differing by at most one, the first replicas
taking the extra rows, as TF's rebatching does) and this worker keeps its replicas'
parts. `distribute_datasets_from_function(fn)`: `fn(InputContext)` builds this worker's
own pipeline (sharded by `input_pipeline_id`), which yields per-replica batches.
"""
from __future__ import annotations

import numpy as np

from tapeflow.distribute.values import PerReplica
from tapeflow.framework.op import convert_to_tensor
from tapeflow.utils import nest


class InputContext:
    """What an input function needs to know to build its worker's pipeline."""

    def __init__(self, num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=1):
        self._num_input_pipelines = num_input_pipelines
        self._input_pipeline_id = input_pipeline_id
        self._num_replicas_in_sync = num_replicas_in_sync

    @property
    def num_input_pipelines(self) -> int:
        return self._num_input_pipelines

    @property
    def input_pipeline_id(self) -> int:
        return self._input_pipeline_id

    @property
    def num_replicas_in_sync(self) -> int:
        return self._num_replicas_in_sync

    def get_per_replica_batch_size(self, global_batch_size) -> int:
        """`global_batch_size / num_replicas_in_sync`; it must divide evenly."""
        if global_batch_size % self._num_replicas_in_sync:
            raise ValueError(f"The `global_batch_size` {global_batch_size} is not divisible by "
                             f"`num_replicas_in_sync` {self._num_replicas_in_sync}")
        return global_batch_size // self._num_replicas_in_sync

    def __repr__(self):
        return (f"tf.distribute.InputContext(input pipeline id {self._input_pipeline_id}, "
                f"total: {self._num_input_pipelines})")


def replica_bounds(batch_size, num_replicas, replica):
    """[start, end) of `replica`'s rows in a global batch of `batch_size` rows."""
    base, extra = divmod(batch_size, num_replicas)
    start = replica * base + min(replica, extra)
    return start, start + base + (1 if replica < extra else 0)


def split_batch(element, strategy):
    """This worker's replicas' parts of one global batch (a list, one per local replica)."""
    flat = nest.flatten(element)
    arrays = [None if t is None else np.asarray(getattr(t, "_value", t)) for t in flat]
    sizes = {a.shape[0] for a in arrays if a is not None and a.ndim}
    if len(sizes) > 1:
        raise ValueError(f"Cannot split a batch whose components have different first "
                         f"dimensions {sorted(sizes)} over the replicas")
    n = sizes.pop() if sizes else 0
    parts = []
    for i in range(strategy._num_local):
        replica = strategy._worker_index * strategy._num_local + i
        start, end = replica_bounds(n, strategy.num_replicas_in_sync, replica)
        pieces = [None if a is None else convert_to_tensor(a[start:end] if a.ndim else a)
                  for a in arrays]
        parts.append(nest.pack_sequence_as(element, pieces))
    return parts


def _combine(parts):
    return parts[0] if len(parts) == 1 else PerReplica(parts)


class DistributedDataset:
    """Iterates this worker's parts of each global batch of a dataset."""

    def __init__(self, strategy, dataset):
        self._strategy = strategy
        self._dataset = dataset

    def __iter__(self):
        for element in self._dataset:
            yield _combine(split_batch(element, self._strategy))

    @property
    def element_spec(self):
        return getattr(self._dataset, "element_spec", None)


class DistributedDatasetFromFunction:
    """This worker's pipeline from `dataset_fn(InputContext)`; consecutive elements go to
    consecutive local replicas."""

    def __init__(self, strategy, dataset_fn):
        self._strategy = strategy
        ctx = InputContext(strategy._num_workers, strategy._worker_index,
                           strategy.num_replicas_in_sync)
        self._dataset = dataset_fn(ctx)

    def __iter__(self):
        n = self._strategy._num_local
        group = []
        for element in self._dataset:
            group.append(element)
            if len(group) == n:
                yield _combine(group)
                group = []

    @property
    def element_spec(self):
        return getattr(self._dataset, "element_spec", None)
