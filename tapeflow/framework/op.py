"""Op definitions and the one dispatch function every op goes through.

An `OpDef` bundles a kernel (NumPy arrays in, arrays out), a gradient rule
and, optionally, a shape rule. `execute(op, inputs, attrs)`:

1. eager: runs the kernel on the inputs' arrays and wraps the results;
   graph (tracing): adds a node to the graph being traced; an eager call on a
   Keras functional tensor (whose value read raises `DeferredCall`) is added
   to that tensor's graph instead;
2. if any tape is recording, offers the call to each tape, which keeps it
   only when an input is watched.

Gradient rules all have one signature (see `autodiff/backprop.py`):
`grad(inputs, outputs, attrs, dy[, needs]) -> tuple of input grads (None
where none)`; `needs`, when the rule declares it, says which inputs want one.
"""
from __future__ import annotations

import warnings

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.context import state
from tapeflow.framework.tensor import DeferredCall, Tensor

# TF computes inf/nan silently (exp(100.) in float32 is inf); NumPy would warn
# from inside tapeflow's kernels. Filtered by module, so that user NumPy code
# keeps its warnings, and at no cost unless a warning is actually raised.
def silence_kernel_warnings():
    """Installs the filter (again: test runners reset warning filters per test)."""
    warnings.filterwarnings("ignore", r"(overflow|divide by zero|invalid value|underflow) "
                            r"encountered", RuntimeWarning, r"tapeflow(\.|$)")


silence_kernel_warnings()

_ndarray = np.ndarray
_array = np.array
_generic = np.generic
_NO_ATTRS: dict = {}

# Set by tapeflow.debugging while a debugging mode is on (check numerics, device
# placement logs, explained gradients): called after each op as
# hook(op, inputs, outputs, attrs). None (the default) costs one test per op.
dispatch_hook = None


class NoGradient:
    """Marker for ops that are explicitly not differentiable (argmax, floor, ...)."""

    def __repr__(self):
        return "NO_GRADIENT"


NO_GRADIENT = NoGradient()


class OpDef:
    """One op: its TF-style name, kernel, gradient rule and flags.

    Args:
        name: the op type, as TF names it ('MatMul', 'Conv2D'); appears in errors.
        kernel: `kernel(*arrays, **attrs)` -> array (or tuple of arrays).
        grad: the gradient rule, `NO_GRADIENT`, or None (a missing rule: taking
            a gradient through the op raises an error naming it).
        num_outputs: how many arrays the kernel returns (1 means a bare array).
        shape_fn: `shape_fn(inputs, attrs) -> [(TensorShape, DType), ...]` used
            when tracing; without one, shapes are found by running the kernel on
            small stand-in arrays (see `graph.py`).
        stateful: has side effects or randomness: never folded or probed.
        aliases: the kernel may return a view of its input (reshape, slice):
            when that input is a Variable the result is copied, so that an
            in-place update of the Variable never changes an existing Tensor.
    """

    __slots__ = ("name", "kernel", "grad", "num_outputs", "shape_fn", "stateful",
                 "aliases", "no_grad", "grad_needs")

    def __init__(self, name, kernel, grad=None, num_outputs=1, shape_fn=None,
                 stateful=False, aliases=False):
        self.name = name
        self.kernel = kernel
        self.grad = grad
        self.num_outputs = num_outputs
        self.shape_fn = shape_fn
        self.stateful = stateful
        self.aliases = aliases
        self.no_grad = grad is NO_GRADIENT
        # A rule with a fifth parameter `needs` (one bool per input) is told which
        # input gradients are wanted, and may skip the rest (matmul's gradient for
        # a data batch, a convolution's for the image).
        code = getattr(grad, "__code__", None)
        self.grad_needs = code is not None and code.co_argcount >= 5

    def __repr__(self):
        return f"<OpDef {self.name}>"


def _as_value(out):
    if type(out) is _ndarray or isinstance(out, (_ndarray, _generic)):
        return out
    return np.asarray(out)


def _kernel_error(op, inputs, attrs, exc):
    shapes = ", ".join(f"{tuple(x._value.shape)} {dtypes.from_numpy(x._value.dtype).name}"
                       if hasattr(x._value, "shape") else repr(x._value) for x in inputs)
    detail = f"; attributes {attrs}" if attrs else ""
    return errors.op_error(op.name, f"{exc} (inputs: {shapes}{detail})")


def execute(op: OpDef, inputs, attrs=_NO_ATTRS):
    """Runs (eager) or adds (tracing) one op; offers the call to recording tapes."""
    st = state
    if st.graph is None:
        try:
            # Spelled out by arity: this is the hottest line of eager mode, and
            # `*list`/`**{}` unpacking costs as much as the rest of the dispatch.
            n = len(inputs)
            if attrs:
                out = op.kernel(*[x._value for x in inputs], **attrs)
            elif n == 1:
                out = op.kernel(inputs[0]._value)
            elif n == 2:
                out = op.kernel(inputs[0]._value, inputs[1]._value)
            else:
                out = op.kernel(*[x._value for x in inputs])
        except DeferredCall as e:
            # An input is a Keras functional tensor (`tf.nn.relu(keras.Input(...))`):
            # its graph records the call, which the functional model replays.
            return e.graph.record_call(op, inputs, attrs)
        except errors.OpError:
            raise
        except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as e:
            raise _kernel_error(op, inputs, attrs, e) from None
        if op.num_outputs == 1:
            if type(out) is not _ndarray and not isinstance(out, _generic):
                out = np.asarray(out)
            if op.aliases and inputs[0]._is_variable:
                out = out.copy()
            outs = Tensor(out)
        else:
            outs = tuple(Tensor(_as_value(o)) for o in out)
    else:
        outs = st.graph.add_op(op, inputs, attrs)
    if dispatch_hook is not None:
        dispatch_hook(op, inputs, outs, attrs)
    if st.tapes:
        for tape in st.tapes:
            tape._record(op, inputs, outs, attrs)
    return outs


# -- conversion -------------------------------------------------------------

def _python_to_array(value, dtype):
    """Python/NumPy value -> array, with TF's defaults (float32, int32)."""
    if dtype is not None:
        np_dtype = dtype._np
        if isinstance(value, (_ndarray, _generic)):
            src = value.dtype
            if (src.kind == "f" and np_dtype.kind in "iub"
                    or src.kind == "c" and np_dtype.kind != "c"):
                raise TypeError(f"Cannot convert a {src} array to a tensor of dtype "
                                f"{dtype.name} without losing information; use tf.cast.")
            return np.asarray(value, dtype=np_dtype)
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and np_dtype.kind in "iub" and not np.all(np.mod(arr, 1) == 0):
            raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {dtype.name}")
        if arr.dtype.kind in "OUS":
            raise TypeError(f"Cannot convert {value!r} to a tensor of dtype {dtype.name}: "
                            f"expected numbers, got {type(value).__name__}.")
        return arr.astype(np_dtype, copy=False)
    if isinstance(value, (_ndarray, _generic)):
        return value
    try:
        arr = np.asarray(value)
    except ValueError:
        raise ValueError(f"Can't convert non-rectangular Python sequence to Tensor: "
                         f"{value!r}") from None
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float32)
    if kind == "i":
        if arr.size and (arr.max() > 2**31 - 1 or arr.min() < -2**31):
            return arr.astype(np.int64)
        return arr.astype(np.int32)
    if kind in "bu" or kind == "c":
        return arr
    raise TypeError(f"Cannot convert {value!r} (of type {type(value).__name__}) to a tensor: "
                    "expected a number, a nested list of numbers, a NumPy array or a tensor.")


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """`tf.convert_to_tensor`: Tensors pass through; Variables are read; the rest
    becomes a constant (Python float -> float32, int -> int32, NumPy keeps its dtype).
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype is not dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.name} for Tensor with "
                             f"dtype {value.dtype.name}: {value!r}")
        return value
    if getattr(value, "_is_variable", False):
        if dtype is not None and value.dtype is not dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.name} for variable "
                             f"'{value.name}' of dtype {value.dtype.name}")
        return value.read_value()
    if dtype is None and dtype_hint is not None and not isinstance(value, (_ndarray, _generic)):
        try:
            return Tensor(_python_to_array(value, dtypes.as_dtype(dtype_hint)))
        except TypeError:
            pass
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) and v._is_symbolic
                                                for v in _flat(value)):
        from tapeflow.ops import array_ops
        return array_ops.stack([convert_to_tensor(v, dtype) for v in value])
    arr = _python_to_array(value, dtype)
    if type(value) is not _ndarray or not np.may_share_memory(arr, value):
        return Tensor(arr)
    # Tensors are immutable: a later write into the caller's array must not reach it.
    return Tensor(arr.copy())


def _flat(value):
    for v in value:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def as_input(x, dtype=None):
    """An op input: Tensors and Variables as they are, anything else a constant."""
    if type(x) in EAGER_TYPES or isinstance(x, Tensor) or getattr(x, "_is_variable", False):
        return x
    return convert_to_tensor(x, dtype)


# Types whose instances hold their value eagerly in `_value` (Tensor; Variable
# adds itself): the fast paths below read `_value.dtype` directly.
EAGER_TYPES = {Tensor}


def binary_inputs(op_name: str, x, y):
    """Converts two operands by TF's rules: a non-tensor adopts the other's dtype;
    two tensors of different dtypes are an error naming the op and both dtypes."""
    # Fast paths (most calls): two eager tensors of one dtype, or an eager float
    # tensor with a Python number, which becomes a NumPy scalar of its dtype.
    tx, ty = type(x), type(y)
    if tx in EAGER_TYPES:
        if ty in EAGER_TYPES:
            if x._value.dtype == y._value.dtype:
                return x, y
        elif (ty is float or ty is int) and x._value.dtype.kind == "f":
            # A 0-d array, not a NumPy scalar: ufuncs take it about 40% faster.
            return x, Tensor(_array(y, x._value.dtype))
    elif ty in EAGER_TYPES and (tx is float or tx is int) and y._value.dtype.kind == "f":
        return Tensor(_array(x, y._value.dtype)), y
    x_t = isinstance(x, Tensor) or getattr(x, "_is_variable", False)
    y_t = isinstance(y, Tensor) or getattr(y, "_is_variable", False)
    if x_t and y_t:
        dx, dy = x.dtype, y.dtype
        if dx is not dy:
            raise errors.op_error(
                op_name,
                f"cannot compute {op_name} as input #1(zero-based) was expected to be a "
                f"{dx.name} tensor but is a {dy.name} tensor")
        return x, y
    if x_t:
        return x, _adopt(op_name, y, x.dtype)
    if y_t:
        return _adopt(op_name, x, y.dtype), y
    x = convert_to_tensor(x)
    return binary_inputs(op_name, x, convert_to_tensor(y, x.dtype) if not isinstance(
        y, (_ndarray, _generic)) else y)


def _adopt(op_name, value, dtype):
    try:
        return Tensor(_python_to_array(value, dtype))
    except TypeError as e:
        raise TypeError(f"{op_name}: cannot use {value!r} as an operand with a {dtype.name} "
                        f"tensor ({e}).") from None
