"""Nested structures (`tf.nest`): lists, tuples, namedtuples and dicts of leaves.

Dicts flatten in sorted-key order, as TF does, so a structure packed back
from a flat list keeps each value under its key.

    >>> from tapeflow.utils import nest
    >>> nest.flatten({'b': 1, 'a': [2, 3]})
    [2, 3, 1]
    >>> nest.pack_sequence_as({'b': 0, 'a': [0, 0]}, [7, 8, 9])
    {'b': 9, 'a': [7, 8]}
"""
from __future__ import annotations

from collections.abc import Mapping


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


_LEAF_TYPES: set = set()   # types seen not to be sequences or mappings (skips the ABC check)


def is_nested(x) -> bool:
    """True for lists, tuples (namedtuples too) and mappings."""
    t = type(x)
    if t in _LEAF_TYPES:
        return False
    if isinstance(x, (list, tuple, Mapping)):
        return True
    _LEAF_TYPES.add(t)
    return False


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def flatten(structure, expand_composites=False) -> list:
    """All leaves of `structure`, depth first (None is a leaf)."""
    if not is_nested(structure):
        return [structure]
    out = []
    _flatten_into(structure, out)
    return out


def _flatten_into(s, out):
    if isinstance(s, Mapping):
        for k in _sorted_keys(s):
            v = s[k]
            if is_nested(v):
                _flatten_into(v, out)
            else:
                out.append(v)
    elif isinstance(s, (list, tuple)):
        for v in s:
            if is_nested(v):
                _flatten_into(v, out)
            else:
                out.append(v)
    else:
        out.append(s)


def pack_sequence_as(structure, flat_sequence, expand_composites=False):
    """Rebuilds `structure`'s nesting with the leaves of `flat_sequence`."""
    flat_sequence = list(flat_sequence)
    if not is_nested(structure):
        if len(flat_sequence) != 1:
            raise ValueError(f"Structure is a leaf but {len(flat_sequence)} values were given.")
        return flat_sequence[0]
    it = iter(flat_sequence)
    result = _pack(structure, it)
    rest = list(it)
    if rest:
        raise ValueError(f"{len(rest)} values left over when packing into {structure!r}.")
    return result


def _pack(s, it):
    if isinstance(s, Mapping):
        packed = {k: _pack(s[k], it) for k in _sorted_keys(s)}
        try:
            return type(s)((k, packed[k]) for k in s)
        except TypeError:
            return {k: packed[k] for k in s}
    if _is_namedtuple(s):
        return type(s)(*[_pack(v, it) for v in s])
    if isinstance(s, (list, tuple)):
        return type(s)(_pack(v, it) for v in s)
    try:
        return next(it)
    except StopIteration:
        raise ValueError("Not enough values to pack into the structure.") from None


def map_structure(func, *structures, **kwargs):
    """Applies `func` leaf-wise over structures of the same nesting.

    >>> map_structure(lambda a, b: a + b, {'x': 1, 'y': [2]}, {'x': 10, 'y': [20]})
    {'x': 11, 'y': [22]}
    """
    if not structures:
        raise ValueError("map_structure needs at least one structure.")
    check_types = kwargs.pop("check_types", True)
    for other in structures[1:]:
        assert_same_structure(structures[0], other, check_types=check_types)
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [func(*leaves) for leaves in zip(*flats)])


def _describe(x) -> str:
    return f"{type(x).__name__} {x!r}" if len(repr(x)) < 80 else type(x).__name__


def _compare(a, b, check_types, path):
    na, nb = is_nested(a), is_nested(b)
    where = f" at {path}" if path else ""
    if na != nb:
        raise ValueError(f"The two structures don't have the same nested structure{where}: "
                         f"{_describe(a)} vs {_describe(b)}.")
    if not na:
        return
    # As TF, list subclasses (a Module's ListWrapper) count as lists.
    if check_types and type(a) is not type(b) and not (
            isinstance(a, Mapping) and isinstance(b, Mapping)) and not (
            isinstance(a, list) and isinstance(b, list)):
        raise TypeError(f"The two structures don't have the same sequence type{where}: "
                        f"{type(a).__name__} vs {type(b).__name__}.")
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        raise ValueError(f"The two structures don't have the same nested structure{where}: "
                         f"{type(a).__name__} vs {type(b).__name__}.")
    if isinstance(a, Mapping):
        ka, kb = _sorted_keys(a), _sorted_keys(b)
        if set(ka) != set(kb):
            raise ValueError(f"The two dictionaries don't have the same set of keys{where}: "
                             f"{ka} vs {kb}.")
        for k in ka:
            _compare(a[k], b[k], check_types, f"{path}[{k!r}]")
        return
    if len(a) != len(b):
        raise ValueError(f"The two structures don't have the same sequence length{where}: "
                         f"{len(a)} vs {len(b)}.")
    for i, (x, y) in enumerate(zip(a, b)):
        _compare(x, y, check_types, f"{path}[{i}]")


def assert_same_structure(a, b, check_types=True, expand_composites=False):
    """Raises if `a` and `b` nest differently (ValueError) or, with `check_types`, use
    different sequence types (TypeError); the message names where they differ.

    >>> assert_same_structure([1, (2, 3)], ['a', ('b', 'c')])
    """
    _compare(a, b, check_types, "")
