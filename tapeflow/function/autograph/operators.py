"""What converted code calls: conditionals, logic, undefined values, errors.

Each operator looks at its condition when the code runs (that is, while a
`tf.function` is traced): a Python value or an eager tensor keeps Python's
meaning (the statement runs once, or is unrolled); a symbolic tensor builds a
`tf.cond` (here) or `tf.while_loop` (`loops.py`), whose branches and bodies are
the local functions the transformer made.
"""
from __future__ import annotations

import linecache
import os
import sys

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.context import state
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import Tensor
from tapeflow.utils import nest

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RETVAL = "retval_"           # the converted function's return value (transformer.RETVAL)
_NUMBERS = (bool, int, float, complex, np.number, np.bool_, np.ndarray)


class Undefined:
    """The value of a variable that is not defined (yet) where a statement starts."""

    __slots__ = ("symbol_name",)

    def __init__(self, symbol_name):
        self.symbol_name = symbol_name

    def __repr__(self):
        return f"<undefined '{self.symbol_name}'>"

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        raise UnboundLocalError(
            f"local variable '{self.symbol_name}' is used before it is assigned a value.")


class UndefinedReturnValue:
    """`retval_` before a return statement ran: the function returns None."""

    def __repr__(self):
        return "<no return value>"


def get_vars(local_vars, names):
    """The current values of `names` (an `Undefined` for each one not yet assigned)."""
    return tuple(local_vars[n] if n in local_vars else Undefined(n) for n in names)


def ld(value):
    """A value read where Python would raise for an unassigned local (a return)."""
    if isinstance(value, Undefined):
        raise UnboundLocalError(f"local variable '{value.symbol_name}' referenced before "
                                "assignment")
    return value


def retval(value):
    """The converted function's result: None when no return statement ran."""
    return None if isinstance(value, UndefinedReturnValue) else ld(value)


def is_undefined(v) -> bool:
    return isinstance(v, (Undefined, UndefinedReturnValue))


def is_symbolic(x) -> bool:
    """A tensor with no value yet (or a Variable, read inside a traced graph)."""
    if getattr(x, "_is_symbolic", False):
        return True
    return state.graph is not None and getattr(x, "_is_variable", False)


def as_bool_tensor(pred, what):
    """`pred` as the scalar bool tensor a tf.cond / tf.while_loop needs."""
    if getattr(pred, "_is_variable", False):
        pred = pred.read_value()
    if pred.dtype is not dtypes.bool:
        raise user_error(TypeError, f"{what} must be a boolean tensor; got a "
                         f"{pred.dtype.name} tensor {pred!r}. Compare it (x > 0, "
                         "tf.reduce_any(x), ...) to make one.")
    if pred.shape.rank not in (None, 0):
        raise user_error(ValueError, f"{what} must be a scalar boolean tensor; got shape "
                         f"{pred.shape}. Reduce it first (tf.reduce_all / tf.reduce_any).")
    return pred


def truthy(value) -> bool:
    """Python's truth of a non-symbolic value (eager tensors by their value)."""
    if isinstance(value, Tensor) or getattr(value, "_is_variable", False):
        return bool(value._value)
    return bool(value)


# -- errors that name the user's line ---------------------------------------------------------

def _user_frame():
    """The innermost frame of converted user code (outside tapeflow's package)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame


def user_location():
    """TF's 'in user code' preamble naming the converted statement's file and line."""
    frame = _user_frame()
    if frame is None:
        return None
    code = frame.f_code
    name, outer = code.co_name, frame
    while name.startswith("ag__") and outer.f_back is not None:
        outer = outer.f_back
        name = outer.f_code.co_name
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return (f"in user code:\n\n    File \"{code.co_filename}\", line {frame.f_lineno}, in "
            f"{name}  *\n        {line}\n")


def user_error(cls, message):
    """`cls` with TF's 'in user code' preamble naming the statement's file and line."""
    where = user_location()
    return cls(message if where is None else f"{where}\n    {cls.__name__}: {message}")


# -- logic -----------------------------------------------------------------------------------

def not_(value):
    """`not value`: a tensor op for symbolic tensors, Python's `not` otherwise."""
    if is_symbolic(value):
        from tapeflow.ops import math_ops
        return math_ops.logical_not(value)
    return not truthy(value)


def and_(left, right):
    """`a and b` with `a`, `b` as thunks (`b` runs only when `a` may be true)."""
    a = left()
    if is_symbolic(a):
        from tapeflow.ops import math_ops
        return math_ops.logical_and(a, right())
    return right() if truthy(a) else a


def or_(left, right):
    """`a or b` with `a`, `b` as thunks (`b` runs only when `a` may be false)."""
    a = left()
    if is_symbolic(a):
        from tapeflow.ops import math_ops
        return math_ops.logical_or(a, right())
    return a if truthy(a) else right()


def if_exp(test, body, orelse):
    """`body() if test else orelse()`: `tf.cond` for a symbolic `test`."""
    if is_symbolic(test):
        from tapeflow.function.control_flow import cond
        return cond(as_bool_tensor(test, "The condition of an `x if c else y` expression"),
                    body, orelse)
    return body() if truthy(test) else orelse()


def assert_stmt(test, message):
    """`assert test, message()`: a runtime check op (InvalidArgumentError) for a symbolic test."""
    if not is_symbolic(test):
        if not truthy(test):
            raise AssertionError(message()) if message is not None else AssertionError()
        return
    from tapeflow.framework import errors
    from tapeflow.framework.op import NO_GRADIENT, OpDef, execute
    from tapeflow.framework.tensor_shape import TensorShape
    pred = test.read_value() if getattr(test, "_is_variable", False) else test
    text = "" if message is None else str(message())
    where = user_location() or ""

    def kernel(value):
        if not np.all(value):
            raise errors.InvalidArgumentError(None, None, f"assertion failed: [{text}]\n{where}")
        return np.bool_(True)

    op = OpDef("Assert", kernel, NO_GRADIENT,   # made per statement: not registered
               shape_fn=lambda i, a: [(TensorShape([]), dtypes.bool)], stateful=True,
               register=False)
    execute(op, (pred,))
    return


# -- if statements ---------------------------------------------------------------------------

def if_stmt(test, body, orelse, values, names, live):
    """Runs an `if` statement over the variables `names` (current `values`).

    Args:
        test: the condition's value.
        body, orelse: the branches, as functions from the variables' values to
            their new values.
        values, names: the variables the statement assigns and their values now.
        live: those read after the statement (an undefined one there is an error).

    Returns:
        The variables' values after the statement.
    """
    if not is_symbolic(test):
        return body(*values) if truthy(test) else orelse(*values)
    pred = as_bool_tensor(test, "The condition of an `if` statement")
    from tapeflow.function.control_flow import Branch, cond_outputs
    tb = Branch(lambda: _buffered(body(*values)), [], "cond_true", raw=True)
    fb = Branch(lambda: _buffered(orelse(*values)), [], "cond_false", raw=True)
    plan = [_branch_var(n, a, b, n in live) for n, a, b in zip(names, tb.structure,
                                                               fb.structure)]
    t_leaves, f_leaves = [], []
    for entry, a, b in zip(plan, tb.structure, fb.structure):
        if entry[0] == "tensor":
            t_leaves += entry[2]
            f_leaves += entry[3]
    if not t_leaves:
        if not (tb.stateful() or fb.stateful()):
            return tuple(entry[1] for entry in plan)
        # Branches run only for their side effects (tf.print, assign): the If op
        # still needs an output to exist in the graph.
        t_leaves, f_leaves = [convert_to_tensor(0)], [convert_to_tensor(0)]
    tb.set_outputs(t_leaves)
    fb.set_outputs(f_leaves)
    outs = iter(cond_outputs(pred, tb, fb))
    result = []
    for entry in plan:
        if entry[0] == "tensor":
            structure = entry[1]
            flat = [next(outs) for _ in entry[2]]
            result.append(unflatten(structure, flat))
        else:
            result.append(entry[1])
    return tuple(result)


def _buffered(values):
    """The branch's results with TensorArrays as one buffer tensor, made inside the branch."""
    def one(v):
        return v._buffered() if hasattr(v, "_buffered") and not v._ag_needs_shape() else v
    return tuple(nest.map_structure(one, v) if nest.is_nested(v) else one(v) for v in values)


def _branch_var(name, a, b, live):
    """How a variable leaves a tf.cond: ('python', value) or ('tensor', structure, leaves...)."""
    if is_undefined(a) or is_undefined(b):
        if is_undefined(a) and is_undefined(b):
            return ("python", a)
        if not live:
            return ("python", Undefined(name))
        missing = "else" if is_undefined(b) else "main"
        if name == "retval_":
            raise user_error(ValueError, "a function that returns a value in one branch of a "
                             "tensor-dependent `if` must also return one in the "
                             f"{missing} branch")
        raise user_error(ValueError, f"'{name}' must also be initialized in the {missing} branch")
    if a is None or b is None:
        if a is None and b is None:
            return ("python", None)
        raise user_error(ValueError, f"'{name}' is None at the end of the "
                         f"{'main' if a is None else 'else'} branch.")
    if a is b and not _convertible(a):
        return ("python", a)
    fa, fb = flatten(a), flatten(b)
    try:
        nest.assert_same_structure(structure_of(a), structure_of(b))
    except (ValueError, TypeError):
        raise user_error(TypeError, f"'{name}' must have the same nested structure in the main "
                         f"and else branches: {a!r} and {b!r}.") from None
    ta, tb_ = [_to_tensor(name, x) for x in fa], [_to_tensor(name, x) for x in fb]
    for x, y in zip(ta, tb_):
        if x.dtype is not y.dtype:
            raise user_error(TypeError, f"'{name}' has dtype {x.dtype.name} in the main branch, "
                             f"but dtype {y.dtype.name} in the else branch")
    return ("tensor", a, ta, tb_)


def _convertible(v) -> bool:
    if isinstance(v, (Tensor, *_NUMBERS)) or getattr(v, "_is_variable", False) \
            or hasattr(v, "_ag_flatten"):
        return True
    return nest.is_nested(v) and bool(nest.flatten(v)) and all(
        _convertible(x) for x in nest.flatten(v))


def _to_tensor(name, x):
    if isinstance(x, Tensor):
        return x
    try:
        return convert_to_tensor(x)
    except (TypeError, ValueError) as e:
        raise user_error(TypeError, f"'{name}' must be a tensor (or convertible to one) to be "
                         f"set in a tensor-dependent statement; got {x!r}: {e}") from None


# -- structures holding TensorArrays ----------------------------------------------------------

def flatten(v):
    """The tensors of `v`: nest leaves, a TensorArray as its buffer tensor(s)."""
    out = []
    for leaf in nest.flatten(v):
        if hasattr(leaf, "_ag_flatten"):
            out.extend(leaf._ag_flatten())
        else:
            out.append(leaf)
    return out


def structure_of(v):
    return nest.map_structure(lambda x: ("TA" if hasattr(x, "_ag_flatten") else 0), v)


def unflatten(structure, flat):
    """`flatten`'s inverse: rebuilds `structure` (TensorArrays included) from tensors."""
    flat = iter(flat)
    leaves = []
    for leaf in nest.flatten(structure):
        if hasattr(leaf, "_ag_flatten"):
            leaves.append(leaf._ag_pack([next(flat) for _ in leaf._ag_flatten()]))
        else:
            leaves.append(next(flat))
    return nest.pack_sequence_as(structure, leaves) if nest.is_nested(structure) \
        else leaves[0]
