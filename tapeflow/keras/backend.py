"""Process-wide Keras state: unique layer/model names, floatx, epsilon.

Names are unique per process, as in Keras 2: the first `Dense` is 'dense',
the next 'dense_1'; `Input` layers count from one ('input_1').
`clear_session()` restarts the counts. The counters are shared by all
threads and taken under a lock, so models built in two threads at once never
get the same layer (and weight) names.

    >>> from tapeflow.keras import backend
    >>> backend.clear_session()
    >>> backend.unique_object_name('dense'), backend.unique_object_name('dense')
    ('dense', 'dense_1')
"""
from __future__ import annotations

import re
import threading
from collections import defaultdict

_name_uids: defaultdict = defaultdict(int)
_name_lock = threading.Lock()
_FLOATX = "float32"
_EPSILON = 1e-7


def unique_object_name(base: str, zero_based: bool = True) -> str:
    """'base' the first time, then 'base_1', 'base_2', ... (zero_based)."""
    with _name_lock:
        n = _name_uids[("name", base)]
        _name_uids[("name", base)] = n + 1
    if zero_based:
        return base if n == 0 else f"{base}_{n}"
    return f"{base}_{n + 1}"


def get_uid(prefix: str = "") -> int:
    """A counter per prefix, starting at 1 (`Input` names are 'input_<uid>')."""
    with _name_lock:
        n = _name_uids[("uid", prefix)] = _name_uids[("uid", prefix)] + 1
    return n


def clear_session() -> None:
    """Forgets the name counters (the next Dense is 'dense' again)."""
    with _name_lock:
        _name_uids.clear()


def to_snake_case(name: str) -> str:
    """'Conv2D' -> 'conv2d', 'BatchNormalization' -> 'batch_normalization'."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


def floatx() -> str:
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"Unknown floatx type: expected 'float16', 'float32' or 'float64', "
                         f"received {value!r}")
    _FLOATX = value


def epsilon() -> float:
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)
