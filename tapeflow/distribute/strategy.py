"""The strategies of one process: the default one, `OneDeviceStrategy`, `MirroredStrategy`.

A strategy has `local` replicas (this process's) and, for `MultiWorkerMirroredStrategy`,
a communicator joining the processes. `run(fn, args)` calls `fn` once per local replica,
one after another, each under its `ReplicaContext` and device scope, with that replica's
part of any `PerReplica` argument. Variables are shared by the local replicas (one copy
per process, mirrored by construction); `optimizer.apply_gradients` called in a replica
waits for the last local replica, then applies the sum of all replicas' gradients
(distribute/aggregation.py), so every replica of a step sees the same weights.

    >>> import tapeflow as tf
    >>> strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    >>> strategy.num_replicas_in_sync
    1
    >>> with strategy.scope():
    ...     v = tf.Variable(1.0)
    >>> strategy.reduce("SUM", strategy.run(lambda: v * 2.0), axis=None).numpy()
    np.float32(2.0)
"""
from __future__ import annotations

import contextlib

import numpy as np

from tapeflow.distribute import context
from tapeflow.distribute.context import ReduceOp, ReplicaContext, as_reduce_op
from tapeflow.distribute.values import PerReplica, select_replica
from tapeflow.framework import device as device_mod
from tapeflow.framework.op import convert_to_tensor
from tapeflow.ops import array_ops, math_ops, reduce_ops


class StrategyExtended:
    """`strategy.extended`: devices and the worker's role."""

    def __init__(self, strategy):
        self._strategy = strategy

    @property
    def worker_devices(self):
        return tuple(self._strategy._local_devices)

    @property
    def parameter_devices(self):
        return tuple(self._strategy._local_devices)

    @property
    def should_checkpoint(self) -> bool:
        """True on the chief (worker 0): only it writes checkpoints and saved models."""
        return self._strategy._worker_index == 0

    should_save_summary = should_checkpoint

    @property
    def experimental_should_init(self) -> bool:
        return True

    def _in_multi_worker_mode(self) -> bool:
        return self._strategy._num_workers > 1

    def variable_created_in_scope(self, v) -> bool:
        return True

    def non_slot_devices(self, var_list):
        return self.worker_devices


class Strategy:
    """A distribution strategy (see the module docstring)."""

    def __init__(self, devices, comm=None, worker_index=0, num_workers=1):
        self._local_devices = list(devices)
        self._comm = comm
        self._comm_key = None
        self._worker_index = worker_index
        self._num_workers = num_workers
        self._grad_stash = {}
        self._extended = StrategyExtended(self)
        from tapeflow.distribute import keras_support
        keras_support.install()

    # -- properties ------------------------------------------------------------------------
    @property
    def num_replicas_in_sync(self) -> int:
        """All replicas of all workers."""
        return len(self._local_devices) * self._num_workers

    @property
    def extended(self) -> StrategyExtended:
        return self._extended

    @property
    def _num_local(self) -> int:
        return len(self._local_devices)

    # -- scope -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self):
        """Variables (and optimizer slots) made here are mirrored across the replicas."""
        outer = context.current_strategy()
        if outer is not None and outer is not self:
            raise ValueError(f"Mixing different tf.distribute.Strategy objects: entering the "
                             f"scope of {self!r} inside that of {outer!r}")
        context.state.scopes.append(self)
        try:
            yield self
        finally:
            context.state.scopes.pop()

    # -- running replicas ----------------------------------------------------------------
    def run(self, fn, args=(), kwargs=None, options=None):
        """Calls `fn` once per local replica; returns its result (one local replica) or a
        structure of `PerReplica` values."""
        kwargs = kwargs or {}
        outs = []
        self._grad_stash.clear()      # nothing kept from a run that failed part-way
        with self.scope():
            for i in range(self._num_local):
                replica = ReplicaContext(self, self._worker_index * self._num_local + i, i)
                with replica, device_mod.device(self._local_devices[i]):
                    outs.append(self._call_replica(fn, select_replica(args, i),
                                                   select_replica(kwargs, i)))
        if len(outs) == 1:
            return outs[0]
        return _regroup(outs)

    def _call_replica(self, fn, args, kwargs):
        if self._comm is None or self._num_workers == 1:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            # The other workers learn of it at their next collective and stop, naming us.
            self._comm.report_failure(e)
            raise

    def experimental_local_results(self, value):
        """The values of this process's replicas, as a tuple."""
        if isinstance(value, PerReplica):
            return tuple(value.values)
        return (value,)

    def reduce(self, reduce_op, value, axis):
        """Combines a per-replica value over all replicas (and `axis`, when given)."""
        op = as_reduce_op(reduce_op)
        parts = [convert_to_tensor(v) for v in self.experimental_local_results(value)]
        if axis is not None:
            count = float(sum(int(array_ops.shape(p)[axis]) for p in parts))
            parts = [reduce_ops.reduce_sum(p, axis=axis) for p in parts]
        else:
            count = float(self.num_replicas_in_sync) / self._num_workers
        total = parts[0] if len(parts) == 1 else math_ops.add_n(parts)
        if self._comm is not None and self._num_workers > 1:
            from tapeflow.distribute import collective
            counts = convert_to_tensor(np.float64(count))
            total, counts = collective.all_reduce([total, counts], self._comm_key)
            count = counts
        if op is ReduceOp.SUM:
            return total
        count = math_ops.cast(convert_to_tensor(count), total.dtype)
        return total / count

    def gather(self, value, axis):
        """Concatenates the replicas' values along `axis` (every replica's, on every worker)."""
        parts = [convert_to_tensor(v) for v in self.experimental_local_results(value)]
        local = parts[0] if len(parts) == 1 else array_ops.concat(parts, axis)
        if self._comm is None or self._num_workers == 1:
            return local
        pieces = self._comm.allgather(np.asarray(local._value))
        return convert_to_tensor(np.concatenate(pieces, axis=axis))

    # -- input ---------------------------------------------------------------------------------
    def experimental_distribute_dataset(self, dataset, options=None):
        """Each global batch of `dataset` split over all replicas; this worker keeps its
        replicas' parts (a plain value for one local replica, else `PerReplica`)."""
        from tapeflow.distribute.input import DistributedDataset
        return DistributedDataset(self, dataset)

    def distribute_datasets_from_function(self, dataset_fn, options=None):
        """`dataset_fn(InputContext)` makes this worker's pipeline of per-replica batches."""
        from tapeflow.distribute.input import DistributedDatasetFromFunction
        return DistributedDatasetFromFunction(self, dataset_fn)

    experimental_distribute_datasets_from_function = distribute_datasets_from_function

    def experimental_distribute_values_from_function(self, value_fn):
        from tapeflow.distribute.input import InputContext
        values = []
        for i in range(self._num_local):
            ctx = InputContext(self._num_workers, self._worker_index, self.num_replicas_in_sync)
            ctx.replica_id_in_sync_group = self._worker_index * self._num_local + i
            values.append(value_fn(ctx))
        return values[0] if len(values) == 1 else PerReplica(values)

    def __repr__(self):
        return f"<{type(self).__name__} replicas={self.num_replicas_in_sync}>"


def _regroup(outs):
    """[structure per replica] -> the structure with a PerReplica at each leaf."""
    first = outs[0]
    if isinstance(first, (list, tuple)) and not isinstance(first, PerReplica):
        items = [_regroup([o[i] for o in outs]) for i in range(len(first))]
        return type(first)(*items) if hasattr(type(first), "_fields") else type(first)(items)
    if isinstance(first, dict):
        return {k: _regroup([o[k] for o in outs]) for k in first}
    if first is None:
        return None
    return PerReplica(outs)


class _DefaultStrategy(Strategy):
    """The strategy in force outside any scope: one replica, this process."""

    def __init__(self):
        super().__init__(["/job:localhost/replica:0/task:0/device:CPU:0"])

    def scope(self):
        return contextlib.nullcontext(self)


_DEFAULT = []


def default_strategy():
    if not _DEFAULT:
        _DEFAULT.append(_DefaultStrategy())
    return _DEFAULT[0]


class OneDeviceStrategy(Strategy):
    """Everything on one device: one replica (`device='/cpu:0'`)."""

    def __init__(self, device):
        spec = device_mod.DeviceSpec.from_string(device)
        if (spec.device_type or "CPU").upper() != "CPU":
            raise ValueError(f"OneDeviceStrategy: tapeflow runs on CPUs only; received device "
                             f"{device!r}")
        super().__init__([device])


class MirroredStrategy(Strategy):
    """Synchronous training on this machine's (virtual) CPUs: one replica per device.

    Args:
        devices: device names ('/cpu:0', '/cpu:1'); by default every logical CPU of
            `tf.config.list_logical_devices('CPU')` (one, unless virtual CPUs were set
            with `tf.config.set_logical_device_configuration`).
        cross_device_ops: accepted for compatibility; replicas of one process are summed
            in memory.
    """

    def __init__(self, devices=None, cross_device_ops=None):
        from tapeflow import config
        known = [d.name for d in config.list_logical_devices("CPU")]
        if devices is None:
            devices = known
        devices = list(devices)
        if not devices:
            raise ValueError("MirroredStrategy: `devices` is empty; give at least one device")
        for d in devices:
            spec = device_mod.DeviceSpec.from_string(d)
            if (spec.device_type or "CPU").upper() != "CPU" or (spec.device_index or 0) >= len(
                    known):
                raise ValueError(f"MirroredStrategy: device {d!r} does not exist; the logical "
                                 f"devices are {known}")
        if len(set(devices)) != len(devices):
            raise ValueError(f"MirroredStrategy: duplicate devices in {devices}")
        super().__init__(devices)
