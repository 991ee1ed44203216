"""`tf.distribute`: data-parallel training over replicas and MPI workers.

`MirroredStrategy` runs one replica per (virtual) CPU of this process;
`MultiWorkerMirroredStrategy` one replica per MPI process (`mpirun -np N python
train.py`, with mpi4py). Gradients applied inside `strategy.run` (and by Keras's `fit`
under `strategy.scope()`) are summed over all replicas with one bucketed all-reduce per
step. See docs/distribute.md.
"""
from tapeflow.distribute.context import (  # noqa: F401
    ReduceOp, ReplicaContext, get_replica_context, get_strategy, has_strategy,
    in_cross_replica_context)
from tapeflow.distribute.input import InputContext  # noqa: F401
from tapeflow.distribute.multi_worker import MultiWorkerMirroredStrategy  # noqa: F401
from tapeflow.distribute.strategy import (  # noqa: F401
    MirroredStrategy, OneDeviceStrategy, Strategy, StrategyExtended)
from tapeflow.distribute.values import PerReplica as DistributedValues  # noqa: F401
from tapeflow.distribute.options import (  # noqa: F401
    CrossDeviceOps, HierarchicalCopyAllReduce, NcclAllReduce, ReductionToOneDevice,
    experimental_namespace as _experimental_namespace)
from tapeflow.distribute import losses as _losses  # noqa: F401  (tf.nn.compute_average_loss)

experimental = _experimental_namespace(MultiWorkerMirroredStrategy)

# The implementation modules stay reachable by their paths (`tapeflow.distribute.collective`)
# but out of the public listing, which holds TensorFlow's names only.
_MODULES = frozenset({"aggregation", "collective", "context", "input", "keras_support",
                      "losses", "multi_worker", "options", "strategy", "values"})


def __dir__():
    return sorted(name for name in globals() if name not in _MODULES)
