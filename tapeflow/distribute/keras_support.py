"""The hooks tapeflow's lower layers call when a strategy is in use (installed by the
first strategy made; each is a module attribute that is None otherwise):

- `Optimizer.apply_gradients` -> `aggregation.aggregate` (sum over replicas, one bucket);
- `Model.compile` / `make_*_function` -> remember the strategy, run each step over the
  replicas (`DistributedStep`), and make saving chief-only;
- `Reduce.result` (Mean, Sum, accuracies, loss trackers) -> state summed over workers;
- `Variable(...)` in a multi-worker scope -> initial value broadcast from rank 0.
"""
from __future__ import annotations

import logging
import weakref

import numpy as np

from tapeflow.distribute import aggregation, context
from tapeflow.distribute.context import ReplicaContext
from tapeflow.distribute.input import split_batch
from tapeflow.framework.op import convert_to_tensor

_logger = logging.getLogger("tapeflow")
# Variables made in a multi-worker scope -> their strategy (metrics read them summed).
# Keyed by id (Variables are unhashable, as TF's); the weak reference tells a reused id.
_mirrored = {}


def _multi(strategy) -> bool:
    return strategy is not None and strategy._comm is not None and strategy._num_workers > 1


def on_variable_created(variable):
    strategy = context.current_strategy()
    if _multi(strategy):
        strategy._comm.broadcast([variable._value],
                                 describe=[(variable.name, variable._value.shape)])
        key = id(variable)
        _mirrored[key] = (weakref.ref(variable, lambda _, k=key: _mirrored.pop(k, None)),
                          strategy)


def metric_result(metric):
    """A Reduce metric's result from its state summed over the workers, or None."""
    total = metric.total
    entry = _mirrored.get(id(total))
    if entry is None or entry[0]() is not total:
        return None
    strategy = entry[1]
    from tapeflow.distribute import collective
    from tapeflow.ops import math_ops
    if metric._reduction == "sum":
        return collective.all_reduce([total], strategy._comm_key)[0]
    total, count = collective.all_reduce([total, metric.count], strategy._comm_key)
    return math_ops.divide_no_nan(total, count)


class _KerasHooks:
    """What keras/models/training.py calls (see its `_distribute` attribute)."""

    @staticmethod
    def on_compile(model):
        strategy = context.get_strategy() if context.has_strategy() else None
        model.__dict__["_distribute_strategy"] = strategy
        if _multi(strategy) and strategy._worker_index != 0:
            # Only the chief writes files: the workers' weights are identical.
            for name in ("save", "save_weights"):
                model.__dict__[name] = _skipped(name, strategy._worker_index)

    @staticmethod
    def wrap(model, step, kind):
        strategy = model.__dict__.get("_distribute_strategy")
        if strategy is None or (strategy._num_local == 1 and not _multi(strategy)):
            return None
        return DistributedStep(model, strategy, step, kind)


def _skipped(name, rank):
    def skip(*args, **kwargs):
        _logger.info("tf.distribute: worker %d skips %s (the chief writes it)", rank, name)
    return skip


class DistributedStep:
    """A Keras step run over this worker's replicas, each on its part of the global batch."""

    def __init__(self, model, strategy, step, kind):
        self._model = model
        self._strategy = strategy
        self._step = step
        self._kind = kind
        self._fn = model._maybe_function(self._replicas)
        self._synced = False

    def _replicas(self, parts):
        s = self._strategy
        outs = []
        s._grad_stash.clear()         # nothing kept from a step that failed part-way
        with s.scope():
            for i, part in enumerate(parts):
                replica = ReplicaContext(s, s._worker_index * s._num_local + i, i,
                                         mean_gradients=True)
                with replica:
                    outs.append(self._step(part))
        return tuple(outs) if self._kind == "predict" else outs[-1]

    def _sync_weights(self):
        """Rank 0's weights everywhere before the first step (a model built outside the
        scope was not broadcast when made)."""
        self._synced = True
        model = self._model
        variables = list(model.variables) if getattr(model, "built", False) else []
        opt = getattr(model, "optimizer", None)
        if opt is not None and getattr(opt, "built", False):
            variables += list(opt.variables)
        self._strategy._comm.broadcast([v._value for v in variables],
                                       describe=[(v.name, v._value.shape) for v in variables])

    def __call__(self, batch):
        s = self._strategy
        multi = _multi(s)
        if multi and not self._synced:
            self._sync_weights()
        parts = split_batch(batch, s)
        try:
            out = self._fn(tuple(parts))
        except Exception as e:
            if multi:
                s._comm.report_failure(e)
            raise
        if self._kind != "predict":
            return out
        return self._gather_predictions(out, multi)

    def _gather_predictions(self, outs, multi):
        from tapeflow.utils import nest
        flat = [[np.asarray(t._value) for t in nest.flatten(o)] for o in outs]
        local = [np.concatenate([f[i] for f in flat]) for i in range(len(flat[0]))]
        if multi:
            every = self._strategy._comm.allgather(local)
            local = [np.concatenate([w[i] for w in every]) for i in range(len(local))]
        return nest.pack_sequence_as(outs[0], [convert_to_tensor(a) for a in local])

    def end_of_data(self):
        """Called by fit at the end of each epoch: every worker must end together."""
        if _multi(self._strategy):
            self._strategy._comm.finish()


_installed = []


def install():
    """Sets the hooks (once)."""
    if _installed:
        return
    from tapeflow.framework import variables
    from tapeflow.keras import metrics
    from tapeflow.keras.models import training
    from tapeflow.keras.optimizers import base
    base._distribute_hook = aggregation.aggregate
    training._distribute = _KerasHooks
    metrics._cross_replica_result = metric_result
    variables._creation_hook = on_variable_created
    _installed.append(True)
