"""Helpers the dataset stages share: calling user functions on elements, checking
their arity, tracing them for an output spec, reading integer arguments."""
from __future__ import annotations

import inspect

from tapeflow.data import structure
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_spec import TensorSpec


def count_arg(value, what, op):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: `{what}` must be an integer, got {type(value).__name__} "
                        f"{value!r}.") from None


def fn_name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def element_caller(fn, spec, wrap=Tensor):
    """`flat -> fn(element)` the way tf.data calls user functions: a tuple is unpacked."""
    pack = structure.make_packer(spec, wrap)
    if isinstance(spec, tuple):
        return lambda flat: fn(*pack(flat))
    return lambda flat: fn(pack(flat))


def check_arity(fn, spec, op: str, what: str = "map_func") -> None:
    """Fails at construction, as TF does, when `fn` cannot take this dataset's elements."""
    n = len(spec) if isinstance(spec, tuple) else 1
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):     # builtins without a signature: let the call decide
        return
    try:
        signature.bind(*range(n))
    except TypeError as e:
        passed = (f"tuples, passed as {n} separate arguments" if isinstance(spec, tuple)
                  else "passed as one argument")
        raise TypeError(
            f"{op}: `{what}` {fn_name(fn)}{signature} cannot be called with this dataset's "
            f"elements ({e}). The elements are {passed}; element_spec: {spec!r}.") from None


def traced_spec(fn, in_spec):
    """The output spec of `fn` from one symbolic call on placeholders (None on failure).

    Shapes that depend on values (`tf.fill([n], n)`) come out unknown, as in TF.
    Tapes are paused so the trace records nothing in the caller's tapes.
    """
    from tapeflow.framework.context import state
    from tapeflow.framework.graph import FuncGraph
    graph = FuncGraph("dataset_map")
    placeholders = [graph.placeholder(s.shape, s.dtype) for s in structure.flatten(in_spec)]
    saved = state.graph, state.tapes
    state.graph, state.tapes = graph, []
    try:
        out = element_caller(fn, in_spec, wrap=lambda t: t)(placeholders)
        if isinstance(out, list):
            out = tuple(out)
        specs = [TensorSpec(v.shape, v.dtype) if isinstance(v, Tensor) and v._is_symbolic
                 else TensorSpec.from_tensor(structure.to_array(v))
                 for v in structure.flatten(out)]
        return structure.pack(out, specs)
    except Exception:   # noqa: BLE001 - any failure: fall back to a concrete first call
        return None
    finally:
        state.graph, state.tapes = saved
