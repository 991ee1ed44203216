"""Restorations waiting for variables that do not exist yet (TensorFlow's delayed
restoration): `Checkpoint.restore` before a model is built, or before an optimizer
has created its slots, records here which object is waiting; the layer or optimizer
calls `notify(self)` once it has created its variables, and the restores waiting on it
(or on an object holding it, as a model holds its optimizer) walk it again.

Kept tiny and import-free so that layers can call `notify` on every build cheaply:
with nothing pending it is one dict lookup.
"""
from __future__ import annotations

# id(owner) -> (owner, [(restore, node id)]); owners are kept alive, as TensorFlow keeps
# a pending restoration alive with the objects it is attached to.
PENDING: dict = {}


def wait(owner, restore, node_id) -> None:
    """Records that `restore` must walk `owner` (checkpoint node `node_id`) again later."""
    entry = PENDING.setdefault(id(owner), (owner, []))
    if (restore, node_id) not in entry[1]:
        entry[1].append((restore, node_id))


def notify(obj) -> None:
    """Called when `obj` has created variables: retries the restorations waiting on `obj`
    or on an object that holds it directly (a model waiting for its optimizer)."""
    if not PENDING:
        return
    from tapeflow.train import trackable
    for key, (owner, waiting) in list(PENDING.items()):
        if owner is not obj and not _holds(owner, obj, trackable):
            continue
        PENDING.pop(key, None)
        for restore, node_id in waiting:
            restore._walk_deferred(owner, node_id)


def _holds(owner, obj, trackable) -> bool:
    """Whether `obj` is a child of `owner`, directly or inside its lists and dicts (a
    Variable appended to a list nested in a dict attribute completes the owner's wait)."""
    for _, child in trackable.children(owner):
        if child is obj or (isinstance(child, (list, tuple, dict)) and
                            _holds(child, obj, trackable)):
            return True
    return False
