"""`optimizer.apply_gradients` in a replica: the replicas' gradients summed, then applied once.

Local replicas run one after another, so the call of every replica but the last only
keeps its gradients; the last sums them (in memory), all-reduces that sum over the
workers as ONE bucket (one flat buffer, see collective.py), and the update runs once on
the shared variables. Custom loops scale their loss by the global batch
(`tf.nn.compute_average_loss`), so gradients are summed; Keras's `fit` averages each
replica's mean loss, so there they are also divided by `num_replicas_in_sync`.
"""
from __future__ import annotations

from tapeflow.distribute import context
from tapeflow.ops import math_ops


def aggregate(optimizer, pairs):
    """The pairs to apply now (summed over all replicas), or None for an earlier local
    replica whose gradients wait for the last one."""
    replica = context.state.replica
    if replica is None:
        return pairs
    strategy = replica.strategy
    multi = strategy._comm is not None and strategy._num_workers > 1
    if strategy._num_local == 1 and not multi:
        return pairs
    key = id(optimizer)
    stash = strategy._grad_stash.setdefault(key, [])
    stash.append(pairs)
    if replica.local_index < strategy._num_local - 1:
        return None
    del strategy._grad_stash[key]
    variables = [v for _, v in stash[0]]
    ids = [id(v) for v in variables]
    for i, other in enumerate(stash[1:], 1):
        if [id(v) for _, v in other] != ids:
            raise ValueError(
                f"apply_gradients: replica {i} updates the variables "
                f"{[v.name for _, v in other]} but replica 0 updates "
                f"{[v.name for v in variables]}; every replica must update the same ones")
    grads = [pairs_[j][0] for pairs_ in stash for j in range(len(ids))]
    n_local = len(stash)
    grads = [grads[j] if n_local == 1 else
             math_ops.add_n([grads[r * len(ids) + j] for r in range(n_local)])
             for j in range(len(ids))]
    n = strategy.num_replicas_in_sync
    if multi:
        from tapeflow.distribute import collective
        grads = collective.all_reduce(grads, strategy._comm_key,
                                      mean_over=n if replica.mean_gradients else 0,
                                      names=tuple(v.name for v in variables))
    elif replica.mean_gradients and n > 1:
        grads = [g * (1.0 / n) for g in grads]
    return list(zip(grads, variables))
