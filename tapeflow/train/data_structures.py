"""Lists and dicts that take part in checkpoints: `ListWrapper` and `DictWrapper`.

A list or dict assigned as an attribute of a `tf.train.Checkpoint` or a `tf.Module`
is replaced by one of these, as TensorFlow does. They behave as the built-in types
(they are subclasses: equal to plain lists and dicts, `isinstance(x, list)` holds)
and add two things a checkpoint needs:

* a Variable added later (`append`, `extend`, `x[k] = v`, `update`) is restored at
  once if a `restore()` is waiting for it (delayed restoration, `deferred.py`);
* a list whose trackable items were replaced, removed or moved refuses to be saved:
  items are saved by position ('0', '1', ...), so a checkpoint of a reordered list
  would restore values into the wrong variables. Appending is always safe.

A dict with a non-string key mapping to a trackable value cannot be saved either
(its children are named by key).

    >>> import tapeflow as tf
    >>> ckpt = tf.train.Checkpoint()
    >>> ckpt.listed = [tf.Variable(1.0)]
    >>> type(ckpt.listed).__name__, ckpt.listed == ckpt.listed[:]
    ('ListWrapper', True)
    >>> ckpt.mapped = {'one': 1}
    >>> ckpt.mapped
    DictWrapper({'one': 1})
"""
from __future__ import annotations

from tapeflow.train import deferred


def wrap(value):
    """`value` as tracked: a plain list or dict (exactly those types) becomes a wrapper;
    anything else (tuples, wrappers, other list or dict subclasses) is returned as is."""
    if type(value) is list:
        return ListWrapper(value)
    if type(value) is dict:
        return DictWrapper(value)
    return value


def _holds_trackable(value) -> bool:
    from tapeflow.train.trackable import is_trackable
    return is_trackable(value)


class ListWrapper(list):
    """A list attribute of a trackable object (see the module docstring)."""

    def __init__(self, values=()):
        super().__init__(wrap(v) for v in values)
        self._non_append_mutation = False

    def _mutating(self, touched) -> None:
        # Only a change that moves or drops trackable items breaks positional names.
        if any(_holds_trackable(v) for v in touched):
            self._non_append_mutation = True

    def _added(self) -> None:
        deferred.notify(self)

    # -- appends: always savable, may complete a waiting restore -------------------------------
    def append(self, value):
        super().append(wrap(value))
        self._added()

    def extend(self, values):
        super().extend(wrap(v) for v in values)
        self._added()

    def __iadd__(self, values):
        self.extend(values)
        return self

    def __imul__(self, n):
        if n <= 0:
            self._mutating(self)
        super().__imul__(n)
        self._added()
        return self

    # -- other mutations: tracked so that a save can refuse -----------------------------------
    def __setitem__(self, key, value):
        if isinstance(key, slice):
            old = self[key]
            value = [wrap(v) for v in value]
            super().__setitem__(key, value)
            self._mutating(old)
        else:
            old = self[key]
            super().__setitem__(key, wrap(value))
            self._mutating([old])
        self._added()

    def __delitem__(self, key):
        old = self[key]
        super().__delitem__(key)
        self._mutating(old if isinstance(key, slice) else [old])

    def insert(self, index, value):
        value = wrap(value)
        self._mutating(list(self) + [value])
        super().insert(index, value)
        self._added()

    def pop(self, index=-1):
        value = super().pop(index)
        self._mutating([value])
        return value

    def remove(self, value):
        super().remove(value)
        self._mutating([value])

    def clear(self):
        self._mutating(self)
        super().clear()

    def sort(self, *args, **kwargs):
        self._mutating(self)
        super().sort(*args, **kwargs)

    def reverse(self):
        self._mutating(self)
        super().reverse()

    # -- checkpoints -----------------------------------------------------------------------------
    def _check_savable(self) -> None:
        """Raises ValueError if a save would name items wrongly (see the module docstring)."""
        if self._non_append_mutation:
            raise ValueError(
                f"Unable to save the object {self!r} (a list wrapper constructed to track "
                "trackable objects): a list element was replaced, deleted or moved, and "
                "items are saved by position, so only appends keep a checkpoint correct. "
                "If this list need not be checkpointed, hold it in a non-trackable object.")

    def _children(self) -> list:
        return [(str(i), v) for i, v in enumerate(self) if _holds_trackable(v)]

    def __repr__(self):
        return f"ListWrapper({list.__repr__(self)})"

    def __reduce_ex__(self, protocol):
        return type(self), (list(self),)


class DictWrapper(dict):
    """A dict attribute of a trackable object (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.update(*args, **kwargs)

    def __setitem__(self, key, value):
        super().__setitem__(key, wrap(value))
        deferred.notify(self)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            super().__setitem__(key, wrap(value))
        deferred.notify(self)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other):
        self.update(other)
        return self

    def _check_savable(self) -> None:
        """Raises ValueError if a trackable value has a non-string key."""
        for key, value in self.items():
            if not isinstance(key, str) and _holds_trackable(value):
                raise ValueError(
                    f"Unable to save the object {self!r} (a dictionary wrapper constructed "
                    f"automatically on attribute assignment): its non-string key {key!r} "
                    "maps to a trackable object, and children are named by key. If this "
                    "dict need not be checkpointed, hold it in a non-trackable object.")

    def _children(self) -> list:
        return [(str(k), v) for k, v in self.items() if _holds_trackable(v)]

    def __repr__(self):
        return f"DictWrapper({dict.__repr__(self)})"

    def __reduce_ex__(self, protocol):
        return type(self), (dict(self),)


# The tracking containers, for isinstance tests.
WRAPPERS = (ListWrapper, DictWrapper)
