"""`MultiWorkerMirroredStrategy`: one replica per MPI process (`mpirun -np N python train.py`).

The workers are MPI's ranks; where `TF_CONFIG` is set, its cluster names the workers (a
`chief` first, then the `worker`s) and its task says which one this process is: the
number of workers must equal MPI's size, and ranks are renumbered to follow TF_CONFIG.
At start the workers share one random state (rank 0's), so models built later (a Keras
model built at its first batch) start from the same weights everywhere; variables made
in the strategy's scope are also broadcast from rank 0 when made.
"""
from __future__ import annotations

import json
import os

import numpy as np

from tapeflow.distribute import collective
from tapeflow.distribute.strategy import Strategy


class ClusterResolver:
    """The worker's place in the cluster (`task_type`, `task_id`, `num_workers`)."""

    def __init__(self, task_type, task_id, num_workers, rpc_layer="mpi"):
        self.task_type = task_type
        self.task_id = task_id
        self.num_workers = num_workers
        self.rpc_layer = rpc_layer

    def num_accelerators(self, *args, **kwargs):
        return {}

    def __repr__(self):
        return (f"ClusterResolver(task_type={self.task_type!r}, task_id={self.task_id}, "
                f"num_workers={self.num_workers})")


def parse_tf_config(text):
    """(task_type, worker index, number of workers) from TF_CONFIG's JSON, or None."""
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}; received {text!r}") from None
    cluster = config.get("cluster") or {}
    task = config.get("task") or {}
    chiefs = list(cluster.get("chief", []))
    workers = list(cluster.get("worker", []))
    if not chiefs and not workers:
        return None
    task_type = task.get("type", "worker")
    index = int(task.get("index", 0))
    if task_type == "chief":
        return task_type, index, len(chiefs) + len(workers)
    if task_type != "worker":
        raise ValueError(f"TF_CONFIG: MultiWorkerMirroredStrategy runs 'chief' and 'worker' "
                         f"tasks; received task type {task_type!r}")
    return task_type, len(chiefs) + index, len(chiefs) + len(workers)


class MultiWorkerMirroredStrategy(Strategy):
    """Synchronous data-parallel training over MPI processes, one replica each.

    Args:
        communication_options: accepted for compatibility (MPI does the all-reduce).
        cluster_resolver: accepted for compatibility; TF_CONFIG and MPI decide.
    """

    def __init__(self, communication_options=None, cluster_resolver=None):
        mpi = collective.import_mpi()
        world = mpi.COMM_WORLD
        parsed = parse_tf_config(os.environ.get("TF_CONFIG"))
        if parsed is None:
            task_type = "worker"
            index, count, comm = world.Get_rank(), world.Get_size(), world
        else:
            task_type, index, count = parsed
            if count != world.Get_size():
                raise ValueError(f"TF_CONFIG names {count} workers but MPI started "
                                 f"{world.Get_size()} processes; start one process per worker "
                                 f"(mpirun -np {count})")
            # Ranks follow TF_CONFIG's order, so worker 0 (the chief) is rank 0.
            comm = world if index == world.Get_rank() else world.Split(0, index)
        self._communicator = collective.Communicator(comm)
        super().__init__([f"/job:worker/replica:0/task:{index}/device:CPU:0"],
                         self._communicator, index, count)
        self._comm_key = collective.register(self._communicator)
        self.cluster_resolver = ClusterResolver(task_type, index, count)
        if count > 1:
            _share_random_state(self._communicator)

    def __repr__(self):
        return (f"<MultiWorkerMirroredStrategy worker={self._worker_index} "
                f"of {self._num_workers}>")


def _share_random_state(comm):
    """Rank 0's draw seeds the unseeded global generator everywhere (initializers of models
    built after this agree without a broadcast per variable)."""
    from tapeflow.ops import random_ops
    seed = np.array([np.random.SeedSequence().entropy % (2 ** 63)], np.int64)
    comm.broadcast([seed])
    if random_ops._global_seed is None:
        random_ops._generator = np.random.default_rng(int(seed[0]))
