"""Where the program is: in a strategy's scope (cross-replica) or inside `run` (a replica).

The state is per thread, as TF keeps it: a stack of entered strategy scopes and the
replica now running, if any. With no scope entered, the default strategy is current and
code runs in its (only) replica's context.
"""
from __future__ import annotations

import enum
import threading



class ReduceOp(enum.Enum):
    """How values from the replicas are combined: `SUM` or `MEAN`."""

    SUM = "SUM"
    MEAN = "MEAN"

    @staticmethod
    def from_variable_aggregation(aggregation):
        name = getattr(aggregation, "name", str(aggregation)).upper()
        if name.endswith("SUM"):
            return ReduceOp.SUM
        if name.endswith("MEAN"):
            return ReduceOp.MEAN
        raise ValueError(f"Could not convert from variable aggregation {aggregation!r} to a "
                         "ReduceOp; expected SUM or MEAN")


def as_reduce_op(op) -> ReduceOp:
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in ("SUM", "MEAN"):
        return ReduceOp[op.upper()]
    raise ValueError(f"reduce_op must be tf.distribute.ReduceOp.SUM or .MEAN (or 'SUM'/'MEAN'); "
                     f"received {op!r}")


class _State(threading.local):
    def __init__(self):
        self.scopes = []        # entered strategies, innermost last
        self.replica = None     # the ReplicaContext of the replica running now


state = _State()


class ReplicaContext:
    """The replica running now: its strategy and its id among all replicas."""

    def __init__(self, strategy, replica_id_in_sync_group, local_index=0,
                 mean_gradients=False):
        self._strategy = strategy
        self._replica_id = replica_id_in_sync_group
        self.local_index = local_index
        # Keras's fit: each replica's loss is its local mean, so gradients are averaged
        # (summed, then divided by num_replicas_in_sync) rather than summed.
        self.mean_gradients = mean_gradients

    @property
    def strategy(self):
        return self._strategy

    @property
    def replica_id_in_sync_group(self):
        from tapeflow.ops.array_ops import constant
        return constant(self._replica_id)

    @property
    def num_replicas_in_sync(self) -> int:
        return self._strategy.num_replicas_in_sync

    @property
    def devices(self):
        return (self._strategy._local_devices[self.local_index],)

    def all_reduce(self, reduce_op, value):
        """Not available inside a sequential replica: replicas of one process run one after
        another, so one replica cannot wait for the values of the next."""
        if self._strategy.num_replicas_in_sync == 1:
            return value
        raise NotImplementedError(
            "ReplicaContext.all_reduce is not supported: tapeflow runs a process's replicas "
            "one after another. Return the value from strategy.run and combine it with "
            "strategy.reduce, or let optimizer.apply_gradients all-reduce the gradients.")

    def __enter__(self):
        self._outer = state.replica
        state.replica = self
        return self

    def __exit__(self, *exc):
        state.replica = self._outer


def current_strategy():
    """The innermost entered strategy, or None (the default strategy)."""
    return state.scopes[-1] if state.scopes else None


def get_strategy():
    """The current strategy: the one whose `scope()` (or `run`) we are in, else the default."""
    if state.replica is not None:
        return state.replica.strategy
    strategy = current_strategy()
    if strategy is not None:
        return strategy
    from tapeflow.distribute.strategy import default_strategy
    return default_strategy()


def has_strategy() -> bool:
    """True inside a non-default strategy's scope (or one of its replicas)."""
    from tapeflow.distribute.strategy import default_strategy
    return get_strategy() is not default_strategy()


def in_cross_replica_context() -> bool:
    """True in a strategy's scope outside `run`: code there sees all replicas at once."""
    return state.replica is None and current_strategy() is not None


def get_replica_context():
    """The running replica's context; the default one outside any scope; None in a
    strategy's scope outside `run` (cross-replica context)."""
    if state.replica is not None:
        return state.replica
    if current_strategy() is not None:
        return None
    from tapeflow.distribute.strategy import default_strategy
    return ReplicaContext(default_strategy(), 0)
