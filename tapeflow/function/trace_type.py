"""`tf.types.experimental.TraceType`: how a custom argument type keys `tf.function` traces.

An argument object with a `__tf_tracing_type__(context)` method is keyed by
the TraceType it returns: calls whose arguments have equal trace types share
one trace (the type decides what "equal" means with `__eq__`/`__hash__`).

    >>> import tapeflow as tf
    >>> class Kind(tf.types.experimental.TraceType):
    ...     def __init__(self, label):
    ...         self.label = label
    ...     def is_subtype_of(self, other):
    ...         return self == other
    ...     def most_specific_common_supertype(self, others):
    ...         return self if all(self == o for o in others) else None
    ...     def placeholder_value(self, placeholder_context=None):
    ...         return self.label
    ...     def __eq__(self, other):
    ...         return isinstance(other, Kind) and other.label == self.label
    ...     def __hash__(self):
    ...         return hash(self.label)
    >>> class Box:
    ...     def __init__(self, label, size):
    ...         self.label, self.size = label, size
    ...     def __tf_tracing_type__(self, context):
    ...         return Kind(self.label)
    >>> f = tf.function(lambda box, x: x * 2.0)
    >>> _ = f(Box('a', 1), tf.constant(1.0)); _ = f(Box('a', 2), tf.constant(1.0))
    >>> f.experimental_get_tracing_count()
    1
"""
from __future__ import annotations

import abc
import types as _types


class TraceType(abc.ABC):
    """The type of a `tf.function` argument as tracing sees it (TF's protocol)."""

    @abc.abstractmethod
    def is_subtype_of(self, other) -> bool:
        """Whether a trace for `other` can serve values of this type."""

    @abc.abstractmethod
    def most_specific_common_supertype(self, others):
        """The most specific type all of `self` and `others` are subtypes of, or None."""

    def placeholder_value(self, placeholder_context=None):
        """The value the function is traced with."""
        raise NotImplementedError(f"{type(self).__name__} does not give a placeholder value.")

    @abc.abstractmethod
    def __eq__(self, other) -> bool:
        """Equal types share a trace."""

    @abc.abstractmethod
    def __hash__(self) -> int:
        """Consistent with `__eq__`."""


def tracing_key(value):
    """The trace type of `value` when it defines `__tf_tracing_type__`, else None."""
    method = getattr(type(value), "__tf_tracing_type__", None)
    return None if method is None else method(value, None)


types = _types.SimpleNamespace(experimental=_types.SimpleNamespace(TraceType=TraceType))
