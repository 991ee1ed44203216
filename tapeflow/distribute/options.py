"""Options the guides pass to strategies, accepted for compatibility: within a process the
replicas' values are summed in memory, and across processes MPI does the all-reduce."""
from __future__ import annotations

import enum
import types


class CrossDeviceOps:
    """How `MirroredStrategy` would combine values across devices (one way here)."""

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = args, kwargs


class ReductionToOneDevice(CrossDeviceOps):
    pass


class HierarchicalCopyAllReduce(CrossDeviceOps):
    pass


class NcclAllReduce(CrossDeviceOps):
    pass


class CommunicationImplementation(enum.Enum):
    AUTO = "AUTO"
    RING = "RING"
    NCCL = "NCCL"


class CommunicationOptions:
    """`MultiWorkerMirroredStrategy(communication_options=...)`: recorded, not needed (MPI
    picks its own all-reduce algorithm)."""

    def __init__(self, bytes_per_pack=0, timeout_seconds=None,
                 implementation=CommunicationImplementation.AUTO):
        if bytes_per_pack < 0:
            raise ValueError(f"bytes_per_pack must be non-negative; received {bytes_per_pack}")
        self.bytes_per_pack = bytes_per_pack
        self.timeout_seconds = timeout_seconds
        self.implementation = implementation


def experimental_namespace(multi_worker_strategy):
    """`tf.distribute.experimental`: the options, and the strategy under its old name."""
    return types.SimpleNamespace(
        CommunicationOptions=CommunicationOptions,
        CommunicationImplementation=CommunicationImplementation,
        CollectiveCommunication=CommunicationImplementation,
        MultiWorkerMirroredStrategy=multi_worker_strategy)
