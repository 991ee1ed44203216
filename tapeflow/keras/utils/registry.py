"""Looking up Keras objects by identifier: a name, a `{"class_name", "config"}` dict, an
instance or a callable. Regularizers and constraints share this one rule.

    >>> from tapeflow.keras import regularizers
    >>> type(regularizers.get("l2")).__name__
    'L2'
"""
from __future__ import annotations


def get_object(kind: str, by_name: dict, identifier):
    """The object `identifier` names; `kind` ('regularizer', ...) words the errors."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in by_name:
            raise ValueError(f"Unknown {kind}: expected one of {sorted(by_name)}, "
                             f"received {identifier!r}")
        return by_name[identifier]()
    if isinstance(identifier, dict):
        cls = by_name.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown {kind} class {identifier.get('class_name')!r}: expected "
                             f"one of {sorted(by_name)}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret {kind} identifier {identifier!r}")


def serialize_object(kind: str, base: type, obj):
    """`{"class_name", "config"}` for an instance of `base`; None for None."""
    if obj is None:
        return None
    if isinstance(obj, base):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    raise ValueError(f"Cannot serialize {kind} {obj!r}")
