"""`PerReplica`: one value per local replica, and picking a replica's part of a structure."""
from __future__ import annotations


class PerReplica(tuple):
    """The values of this process's replicas, in replica order.

    A tuple, so that `tf.nest` and `tf.function` see its tensors (a traced step taking a
    distributed batch is traced once, not once per batch).
    """

    def __new__(cls, values):
        return super().__new__(cls, values)

    @property
    def values(self) -> tuple:
        return tuple(self)

    def __repr__(self):
        body = ",\n".join(f"  {i}: {v!r}" for i, v in enumerate(self))
        return f"PerReplica:{{\n{body}\n}}"


def select_replica(structure, index):
    """`structure` with each PerReplica replaced by its `index`-th value."""
    if isinstance(structure, PerReplica):
        return structure[index]
    if isinstance(structure, dict):
        return type(structure)((k, select_replica(v, index)) for k, v in structure.items())
    if isinstance(structure, (list, tuple)):
        items = [select_replica(v, index) for v in structure]
        if hasattr(type(structure), "_fields"):
            return type(structure)(*items)
        return type(structure)(items)
    return structure
