"""Defining an op from Python: a NumPy kernel and its gradient, registered like
tapeflow's own ops (`tapeflow.experimental.register_op`, `defvjp`).

An op made this way is one registered `OpDef`: it runs eagerly, is recorded by
tapes, traces into `tf.function` graphs (shapes come from running the kernel
on stand-in arrays unless a `shape_fn` is given) and differentiates to any
order, because its gradient is written with tapeflow ops. The gradient is
given as in HIPS autograd's `defvjp`: for each input, a function of the op's
output and inputs (and attributes) returning the vector-Jacobian product as a
function of the incoming gradient.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> @tf.experimental.register_op("DocCube")
    ... def cube(x):
    ...     return x ** 3                       # the kernel: NumPy in, NumPy out
    >>> tf.experimental.defvjp(cube, lambda ans, x: lambda g: g * 3.0 * x * x)
    >>> x = tf.constant([1.0, 2.0])
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = cube(x)
    >>> tape.gradient(y, x).numpy()
    array([ 3., 12.], dtype=float32)
    >>> from tapeflow.testing import check_gradients
    >>> check_gradients(cube, [np.array([0.5, -1.5])])     # 1st and 2nd order
    >>> tf.function(cube)(x).numpy()
    array([1., 8.], dtype=float32)
"""
from __future__ import annotations

from tapeflow.framework import op as _op
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor

# name -> (module, qualified name) of the Python function each user op was made from:
# running the same definition again (a re-run notebook cell) replaces the op.
_ORIGINS: dict = {}


class CustomOp:
    """A user-defined op: call it like a tapeflow function.

    Positional arguments are the op's inputs (tensors, Variables, or values that
    become tensors: a Python number adopts the dtype of the first tensor input);
    keyword arguments are attributes passed to the kernel and to gradients.

    Attributes:
        op: the registered `OpDef`.
    """

    def __init__(self, opdef, kernel):
        self.op = opdef
        self.__wrapped__ = kernel
        self.__name__ = getattr(kernel, "__name__", opdef.name)
        self.__doc__ = kernel.__doc__

    def __call__(self, *args, **attrs):
        inputs = _inputs(self.op.name, args)
        return execute(self.op, inputs, attrs)

    def defvjp(self, *vjp_makers):
        """Sets the gradient: see `defvjp`. Returns the op."""
        defvjp(self, *vjp_makers)
        return self

    def __repr__(self):
        return f"<tapeflow op {self.op.name}>"


def _inputs(name, args):
    first = next((a for a in args if isinstance(a, Tensor) or getattr(a, "_is_variable", False)),
                 None)
    out = []
    for a in args:
        if first is None or isinstance(a, Tensor) or getattr(a, "_is_variable", False):
            out.append(as_input(a))
            continue
        try:
            out.append(convert_to_tensor(a, first.dtype) if isinstance(a, (int, float))
                       else as_input(a))
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name}: cannot use {a!r} as an input beside a "
                            f"{first.dtype.name} tensor ({e}).") from None
    return tuple(out)


def register_op(name, kernel=None, *, num_outputs=1, shape_fn=None, stateful=False,
                differentiable=True):
    """Registers `kernel` as the op `name`; returns a callable `CustomOp`.

    Usable as a decorator (`@register_op("Cube")`) or called with the kernel.

    Args:
        name: the op's name, unique among all ops (tapeflow's own included); it
            appears in errors and in traced graphs.
        kernel: `kernel(*arrays, **attrs)` -> a NumPy array (a tuple of
            `num_outputs` arrays when more than one).
        num_outputs: how many arrays the kernel returns.
        shape_fn: `shape_fn(inputs, attrs) -> [(TensorShape, DType), ...]` for
            tracing; by default the kernel runs on small stand-in arrays.
        stateful: the kernel has side effects or draws random numbers: it is
            never run early on constants while tracing.
        differentiable: False declares the op not differentiable (tapes never
            record it); otherwise a gradient is set with `defvjp` (until then,
            differentiating through the op raises an error naming it).

    Raises:
        ValueError: `name` is the name of another op.
    """
    if kernel is None:
        return lambda k: register_op(name, k, num_outputs=num_outputs, shape_fn=shape_fn,
                                     stateful=stateful, differentiable=differentiable)
    if not callable(kernel):
        raise TypeError(f"register_op('{name}'): the kernel must be callable; received "
                        f"{kernel!r} of type {type(kernel).__name__}.")
    origin = (getattr(kernel, "__module__", None), getattr(kernel, "__qualname__", None))
    if _ORIGINS.get(name) == origin:
        del _op._REGISTRY[name]              # the same definition run again: replace it
    opdef = OpDef(name, kernel, None if differentiable else NO_GRADIENT,
                  num_outputs=num_outputs, shape_fn=shape_fn, stateful=stateful)
    _ORIGINS[name] = origin
    return CustomOp(opdef, kernel)


def defvjp(op, *vjp_makers):
    """Sets the gradient of a `register_op` op, one vector-Jacobian product per input.

    Each maker is `maker(ans, *inputs, **attrs) -> (lambda g: gradient)` (HIPS
    autograd's form): `ans` is the op's output (a tuple for several), `inputs`
    its input tensors, `g` the incoming gradient (a tuple for several outputs);
    the gradient has the input's shape (or one that broadcasts to it: tapeflow
    sums it back). None stands for an input with no gradient. Write gradients
    with tapeflow ops: then they differentiate again (higher orders).

    Raises:
        TypeError: `op` is not an op made by `register_op`.
        ValueError: the op was declared not differentiable.
    """
    if not isinstance(op, CustomOp):
        raise TypeError(f"defvjp expects an op made by register_op; received {op!r} of type "
                        f"{type(op).__name__}.")
    opdef = op.op
    if opdef.no_grad:
        raise ValueError(f"op '{opdef.name}' was registered with differentiable=False.")
    makers = tuple(vjp_makers)
    name = opdef.name

    def rule(inputs, outputs, attrs, dy):
        if len(makers) != len(inputs):
            raise ValueError(f"op '{name}' was called with {len(inputs)} inputs but defvjp "
                             f"gave {len(makers)} gradient functions.")
        return tuple(None if m is None else m(outputs, *inputs, **attrs)(dy) for m in makers)

    # The rule belongs where the op was defined (the op-coverage test reads this).
    rule.__module__ = getattr(op.__wrapped__, "__module__", __name__)
    opdef.grad = rule
