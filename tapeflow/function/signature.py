"""How `tf.function` arguments select a trace: binding, cache keys, relaxing shapes.

Each call's arguments are bound to the Python signature (defaults filled in),
then every argument gets a *key*, a tuple of hashable tokens, one per leaf of
its nest structure:

- tensors and NumPy arrays by shape and dtype (their values are fed at run
  time, so any tensor of that shape and dtype reuses the trace);
- Variables by identity (a trace reads the Variable it was traced with);
- Python numbers by value (they are constants of the trace: a new value means a
  new trace; as in TF, 1, 1.0 and True are one value), strings and None by value;
- other objects by equality when hashable, else by identity.

The key of a call is the tuple of its arguments' keys. A *spec key* is a key
whose tensor tokens may have None dims: it stands for a relaxed trace that
serves every call whose key fits it.

    >>> import tapeflow as tf
    >>> key, tensors = call_key([tf.zeros([2, 3]), 4])
    >>> key
    (((<TENSOR>, (2, 3), dtype('float32')),), ((<NUMBER>, 4),))
    >>> fits(generalize(key, call_key([tf.zeros([5, 3]), 4])[0]), key)
    True
"""
from __future__ import annotations

import inspect
from collections import OrderedDict

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.utils import nest


class _Token:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<{self.name}>"


TENSOR = _Token("TENSOR")     # (TENSOR, shape tuple, numpy dtype)
VARIABLE = _Token("VARIABLE")  # (VARIABLE, id)
OBJECT = _Token("OBJECT")      # (OBJECT, id) for unhashable objects
NUMBER = _Token("NUMBER")      # (NUMBER, value): equal numbers share a trace, as in TF
_NUMBERS = (bool, int, float, complex, np.number, np.bool_)
_PLAIN = (str, bytes, type(None))


# -- binding ------------------------------------------------------------------------------

class Binder:
    """Binds call arguments to a function's parameters, in parameter order."""

    def __init__(self, fn, skip_first=False):
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        params = list(sig.parameters.values()) if sig is not None else []
        if skip_first and params:
            params = params[1:]
            sig = sig.replace(parameters=params)
        self.signature = sig
        self.names = [p.name for p in params]
        # Fast path: only positional-or-keyword parameters, called positionally.
        self.simple = sig is not None and all(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
        self.n_params = len(params)

    def bind(self, args, kwargs):
        """(names, values) of the call, defaults applied."""
        if self.signature is None:
            names = [f"args[{i}]" for i in range(len(args))] + sorted(kwargs)
            return names, list(args) + [kwargs[k] for k in sorted(kwargs)]
        if self.simple and not kwargs and len(args) == self.n_params:
            return self.names, args
        try:
            ba = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{e} (signature: {self.signature})") from None
        ba.apply_defaults()
        return list(ba.arguments), list(ba.arguments.values())

    def call(self, fn, names, values):
        """Calls `fn` with bound values (as `bind` returned them)."""
        if self.signature is None:
            n = len(values) - sum(1 for name in names if not name.startswith("args["))
            return fn(*values[:n], **dict(zip(names[n:], values[n:])))
        if self.simple:
            return fn(*values)
        ba = inspect.BoundArguments(self.signature, OrderedDict(zip(names, values)))
        return fn(*ba.args, **ba.kwargs)


# -- keys ------------------------------------------------------------------------------------

def _structure(v):
    if isinstance(v, dict):
        keys = sorted(v) if all(isinstance(k, str) for k in v) else list(v)
        return (dict, tuple(keys), tuple(_structure(v[k]) for k in keys))
    if isinstance(v, (list, tuple)):
        return (type(v), tuple(_structure(x) for x in v))
    return None


def _leaf(v, tensors):
    t = type(v)
    if t is Tensor:
        value = v._value
        tensors.append(v)
        return (TENSOR, value.shape, value.dtype)
    if t is np.ndarray or (isinstance(v, Tensor) and not v._is_symbolic):
        tensor = v if isinstance(v, Tensor) else convert_to_tensor(v)
        tensors.append(tensor)
        return (TENSOR, tensor._value.shape, tensor._value.dtype)
    if getattr(v, "_is_variable", False):
        return (VARIABLE, id(v))
    if t is TensorSpec:
        # Unknown rank is a shape of None: the trace serves tensors of any rank.
        shape = None if v.shape.rank is None else tuple(v.shape.as_list())
        return (TENSOR, shape, v.dtype._np)
    if isinstance(v, _NUMBERS):
        return (NUMBER, v)
    if isinstance(v, _PLAIN):
        return (t, v)
    from tapeflow.function.trace_type import tracing_key
    trace_type = tracing_key(v)
    if trace_type is not None:          # a custom type: equal trace types share a trace
        return (OBJECT, trace_type)
    try:
        hash(v)
    except TypeError:
        return (OBJECT, id(v))
    return (t, v)


def arg_key(v, tensors):
    """The key of one argument; its tensor leaves are appended to `tensors`."""
    if isinstance(v, (list, tuple, dict)):
        return (_structure(v),) + tuple(_leaf(x, tensors) for x in nest.flatten(v))
    return (_leaf(v, tensors),)


def call_key(values):
    """(key, tensor leaves in order) of a bound call."""
    tensors = []
    return tuple(arg_key(v, tensors) for v in values), tensors


def _is_tensor_token(tok):
    return type(tok) is tuple and len(tok) == 3 and tok[0] is TENSOR


def fits(spec_key, key) -> bool:
    """Whether a call with `key` can run a trace made for `spec_key`."""
    if len(spec_key) != len(key):
        return False
    for sa, ka in zip(spec_key, key):
        if sa == ka:
            continue
        if len(sa) != len(ka):
            return False
        for st, kt in zip(sa, ka):
            if st == kt:
                continue
            if not (_is_tensor_token(st) and _is_tensor_token(kt)) or st[2] != kt[2]:
                return False
            if st[1] is None:                   # unknown rank: any shape fits
                continue
            if kt[1] is None or len(st[1]) != len(kt[1]) or any(s is not None and s != k
                                                for s, k in zip(st[1], kt[1])):
                return False
    return True


def generalize(spec_key, key):
    """The spec key serving both, with differing dims as None; None if none exists
    (different structure, values, dtypes or ranks)."""
    if len(spec_key) != len(key):
        return None
    out = []
    for sa, ka in zip(spec_key, key):
        if len(sa) != len(ka):
            return None
        toks = []
        for st, kt in zip(sa, ka):
            if st == kt:
                toks.append(st)
                continue
            if not (_is_tensor_token(st) and _is_tensor_token(kt)) or st[2] != kt[2]:
                return None
            if st[1] is None or kt[1] is None:
                toks.append((TENSOR, None, st[2]))
                continue
            if len(st[1]) != len(kt[1]):
                return None
            toks.append((TENSOR, tuple(s if s == k else None for s, k in zip(st[1], kt[1])),
                         st[2]))
        out.append(tuple(toks))
    return tuple(out)


def trace_values(values, spec_key):
    """The bound values with each tensor leaf replaced by its TensorSpec from `spec_key`."""
    out = []
    for v, toks in zip(values, spec_key):
        specs = [TensorSpec(t[1], dtypes.from_numpy(t[2])) if _is_tensor_token(t) else None
                 for t in toks]
        if isinstance(v, (list, tuple, dict)):
            leaves = nest.flatten(v)
            new = [s if s is not None else leaf for s, leaf in zip(specs[1:], leaves)]
            out.append(nest.pack_sequence_as(v, new))
        else:
            out.append(specs[0] if specs[0] is not None else v)
    return out


def describe_change(names, old_key, new_key):
    """Names the first argument whose key differs and says how (for retrace warnings)."""
    for i, (name, old, new) in enumerate(zip(names, old_key, new_key)):
        if old == new:
            continue
        if len(old) == len(new):
            for o, n in zip(old, new):
                if o == n:
                    continue
                if _is_tensor_token(o) and _is_tensor_token(n):
                    if o[2] != n[2]:
                        old_d, new_d = dtypes.from_numpy(o[2]).name, dtypes.from_numpy(n[2]).name
                        return name, f"dtype {old_d} -> {new_d}"
                    return name, f"shape {_shape_text(o[1])} -> {_shape_text(n[1])}"
                return name, f"{_token_text(o)} -> {_token_text(n)}"
        return name, "its structure changed"
    if len(old_key) != len(new_key):
        return None, "the number of arguments changed"
    return None, "an unknown change"


def _shape_text(shape):
    if shape is None:
        return "<unknown>"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _token_text(tok):
    if _is_tensor_token(tok):
        return f"a {dtypes.from_numpy(tok[2]).name} tensor of shape {_shape_text(tok[1])}"
    if tok[0] is VARIABLE:
        return "a Variable"
    if tok[0] is OBJECT:
        return f"an object (id {tok[1]:#x})"
    if tok[0] is NUMBER:
        return f"{type(tok[1]).__name__} {tok[1]!r}"
    if isinstance(tok[0], type):
        return f"{tok[0].__name__} {tok[1]!r}"
    return repr(tok)


# -- input_signature -----------------------------------------------------------------------

def check_signature(input_signature):
    """Validates `input_signature`: a list/tuple of (nested) TensorSpecs."""
    if not isinstance(input_signature, (list, tuple)):
        raise TypeError(f"input_signature must be a list or tuple of tf.TensorSpec; got "
                        f"{type(input_signature).__name__} {input_signature!r}.")
    for spec in nest.flatten(list(input_signature)):
        if not isinstance(spec, TensorSpec):
            raise TypeError(f"input_signature must contain only tf.TensorSpec objects; got "
                            f"{spec!r} of type {type(spec).__name__}.")
    return tuple(input_signature)


def bind_to_signature(name, input_signature, names, values, args, kwargs):
    """The tensors filling `input_signature`'s placeholders, converted and checked."""
    n = len(input_signature)
    if len(values) < n:
        raise TypeError(f"{name}() takes fewer arguments than its input_signature has specs.")
    tensors = []
    for arg_name, spec_tree, v in zip(names[:n], input_signature, values[:n]):
        specs = nest.flatten(spec_tree)
        if not nest.is_nested(spec_tree):
            leaves = [v]          # a list for one TensorSpec is a value to convert
        else:
            leaves = None
        try:
            leaves = leaves or nest.flatten(v)
            if len(leaves) != len(specs):
                raise ValueError
            if nest.is_nested(spec_tree):
                nest.assert_same_structure(spec_tree, v)
        except ValueError:
            raise TypeError(
                f"Binding inputs to tf.function '{name}' failed: argument '{arg_name}' has "
                f"structure {v!r}, which does not match its input_signature {spec_tree!r}."
            ) from None
        for spec, leaf in zip(specs, leaves):
            t = _as_signature_tensor(leaf, spec)
            if t is None or not spec.is_compatible_with(t):
                got = (f"TensorSpec(shape={t.shape}, dtype={t.dtype!r}, name=None)"
                       if t is not None else f"{leaf!r}")
                sig = ", ".join(f"{a}: {s!r}" for a, s in zip(names, input_signature))
                raise TypeError(
                    f"Binding inputs to tf.function '{name}' failed due to `Can not cast {got} "
                    f"to {spec!r}` for argument '{arg_name}'. Received args: {tuple(args)!r} "
                    f"and kwargs: {kwargs!r} for signature: ({sig}).")
            tensors.append(t)
    if len(values) > n and any(isinstance(v, Tensor) for v in nest.flatten(list(values[n:]))):
        raise TypeError(f"{name}() received more tensor arguments than its input_signature "
                        f"({n} spec(s)) describes.")
    return tensors


def _as_signature_tensor(leaf, spec):
    if isinstance(leaf, Tensor):
        return None if leaf._is_symbolic else leaf
    if getattr(leaf, "_is_variable", False):
        return leaf.read_value()
    try:
        if isinstance(leaf, (np.ndarray, np.generic)):
            return convert_to_tensor(leaf)
        return convert_to_tensor(leaf, spec.dtype)
    except (TypeError, ValueError):
        return None
