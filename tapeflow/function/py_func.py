"""`tf.py_function`, `tf.numpy_function` and `tf.group`.

Eagerly both call the Python function at once. Inside `tf.function` each is a
stateful op whose kernel calls the Python function every time the graph runs
(with eager tensors for `py_function`, NumPy arrays for `numpy_function`); the
results' shapes are unknown to the graph, as in TF. A `py_function` is
differentiable: its gradient runs the function again under a tape.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def halve_in_python(x):
    ...     return tf.py_function(lambda t: t.numpy() / 2, [x], tf.float32)
    >>> halve_in_python(tf.constant([2.0, 5.0])).numpy()
    array([1. , 2.5], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.context import init_scope, state
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape


def _tout_list(Tout):
    if isinstance(Tout, (list, tuple)):
        return [dtypes.as_dtype(t) for t in Tout], False
    if Tout is None:
        return [], True
    return [dtypes.as_dtype(Tout)], True


def _results_as_arrays(name, result, douts):
    values = list(result) if isinstance(result, (list, tuple)) else \
        ([] if result is None else [result])
    if len(values) != len(douts):
        raise errors.InvalidArgumentError(
            f"{name}: the function returned {len(values)} value(s) but Tout lists "
            f"{len(douts)} dtype(s).")
    out = []
    for v, d in zip(values, douts):
        a = np.asarray(v._value if isinstance(v, Tensor) else v)
        if a.dtype != d._np:
            if isinstance(v, Tensor) or (a.dtype.kind != d._np.kind and a.size):
                raise errors.InvalidArgumentError(
                    f"{name}: expected the function's result to be {d.name}; got "
                    f"{dtypes.from_numpy(a.dtype).name}.")
            a = a.astype(d._np)
        out.append(a)
    return out


def _pack(outs, single):
    if single:
        return outs[0] if outs else None
    return list(outs)


# -- py_function -----------------------------------------------------------------------------

def py_function(func, inp, Tout, name=None):
    """`tf.py_function`: `func` on eager tensors, also inside `tf.function`.

    Args:
        func: takes tensors (one per `inp` entry), returns tensors/arrays.
        inp: the input tensors.
        Tout: the result dtype, or a list of them (the result is then a list).
    """
    douts, single = _tout_list(Tout)
    inputs = [as_input(x) for x in inp]
    if state.graph is None:
        result = func(*inputs)
        outs = [convert_to_tensor(v, d) if not isinstance(v, Tensor) else v
                for v, d in zip(_as_list(result), douts)]
        _results_as_arrays("py_function", [o._value for o in outs], douts)
        return _pack(outs, single)
    op = _py_function_op(func, douts)
    outs = execute(op, tuple(inputs))
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    return _pack(outs[:len(douts)], single)


def _as_list(result):
    return list(result) if isinstance(result, (list, tuple)) else \
        ([] if result is None else [result])


def _py_function_op(func, douts):
    def kernel(*arrays):
        with init_scope():
            result = func(*[Tensor(np.asarray(a)) for a in arrays])
        outs = _results_as_arrays("py_function", result, douts)
        if not douts:          # an op needs an output: a dummy scalar
            return np.int32(0)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def rule(inputs, outputs, attrs, dy):
        dys = list(dy) if isinstance(dy, tuple) else [dy]
        return _py_function_grad(func, inputs, dys)

    specs = [(TensorShape(None), d) for d in douts] or [(TensorShape([]), dtypes.int32)]
    # One op per wrapped Python function (register=False), as TF's per-function token.
    return OpDef("EagerPyFunc", kernel, rule, num_outputs=max(1, len(douts)),
                 shape_fn=lambda i, a: specs, stateful=True, register=False)


def _py_function_grad(func, inputs, dys):
    """The gradient of a traced py_function: another py_function running `func` under a tape."""
    wrt = [k for k, x in enumerate(inputs) if x.dtype.is_floating or x.dtype.is_complex]
    if not wrt:
        return (None,) * len(inputs)
    n = len(inputs)

    def grad_fn(*args):
        from tapeflow.autodiff.tape import GradientTape
        xs, ds = list(args[:n]), list(args[n:])
        with GradientTape(watch_accessed_variables=False) as tape:
            for k in wrt:
                tape.watch(xs[k])
            outs = _as_list(func(*xs))
        pairs = [(o, d) for o, d in zip(outs, ds) if d is not None]
        grads = tape.gradient([o for o, _ in pairs], [xs[k] for k in wrt],
                              output_gradients=[d for _, d in pairs],
                              unconnected_gradients="zero")
        return grads

    given = [d for d in dys if d is not None]
    grads = py_function(lambda *a: grad_fn(*a[:n], *_fill(dys, a[n:])),
                        list(inputs) + given, [inputs[k].dtype for k in wrt])
    out = [None] * n
    for k, g in zip(wrt, grads):
        out[k] = g
    return tuple(out)


def _fill(dys, given):
    given = iter(given)
    return [None if d is None else next(given) for d in dys]


# -- numpy_function --------------------------------------------------------------------------

def numpy_function(func, inp, Tout, stateful=True, name=None):
    """`tf.numpy_function`: `func` on NumPy arrays; not differentiable."""
    douts, single = _tout_list(Tout)
    inputs = [as_input(x) for x in inp]
    inputs = [x.read_value() if getattr(x, "_is_variable", False) else x for x in inputs]

    def kernel(*arrays):
        outs = _results_as_arrays("numpy_function", func(*[np.asarray(a) for a in arrays]),
                                  douts)
        if not douts:
            return np.int32(0)
        return outs[0] if len(outs) == 1 else tuple(outs)

    if state.graph is None:
        outs = _results_as_arrays("numpy_function", func(*[x._value for x in inputs]), douts)
        return _pack([Tensor(a) for a in outs], single)
    specs = [(TensorShape(None), d) for d in douts] or [(TensorShape([]), dtypes.int32)]
    op = OpDef("PyFunc", kernel, NO_GRADIENT, num_outputs=max(1, len(douts)),
               shape_fn=lambda i, a: specs, stateful=True, register=False)   # per function
    outs = execute(op, tuple(inputs))
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    return _pack(outs[:len(douts)], single)


def group(*inputs, name=None):
    """`tf.group`: groups ops for control dependencies; ops run in program order here."""
    del inputs, name
