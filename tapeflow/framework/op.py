"""Op definitions and the one dispatch function every op goes through.

An `OpDef` bundles a kernel (NumPy arrays in, arrays out), a gradient rule
and, optionally, a shape rule. `execute(op, inputs, attrs)`:

1. eager: runs the kernel on the inputs' arrays and wraps the results (an
   input with no value yet raises `api_export.NoValueError`, passed on);
   graph (tracing): adds a node to the graph being traced;
2. if any tape is recording, offers the call to each tape, which keeps it
   only when an input is watched. An op with residuals (see `OpDef`) runs its
   residual kernel instead when a tape will keep the call: the tape records
   the residuals as extra outputs; the caller sees the op's own outputs.

Gradient rules all have one signature (see `autodiff/backprop.py`):
`grad(inputs, outputs, attrs, dy[, needs]) -> tuple of input grads (None
where none)`; `needs`, when the op declares `grad_needs`, says which inputs
want one. Every definition is registered by its unique name
(`registered_ops`).
"""
from __future__ import annotations

import warnings

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.context import state
from tapeflow.framework.api_export import NoValueError
from tapeflow.framework.tensor import Tensor


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
# Set by tapeflow.profiler while it records: called as hook(op) before an eager op's
# kernel runs (the matching dispatch_hook call after it ends the op's event).
start_hook = None


class NoGradient:
    """Marker for ops that are explicitly not differentiable (argmax, floor, ...)."""

    def __repr__(self):
        return "NO_GRADIENT"


NO_GRADIENT = NoGradient()


class _Transparent:
    """Marker batch rule: the op's own gradient rule passes a leading batch axis of dy
    through unchanged (elementwise ops, batched matmul)."""

    def __repr__(self):
        return "TRANSPARENT"


TRANSPARENT = _Transparent()

# Every registered definition, by its unique name (see `OpDef`, `registered_ops`).
_REGISTRY: dict = {}


class OpDef:
    """One op: its TF-style name, kernel, gradient rule and what the engines need.

    Everything tapeflow's engines know about an op is declared here, beside its
    kernel, so that no table elsewhere is keyed by its name. A definition is
    registered under its name (unique: a second definition of a name with another
    kernel is an error; a second instance of one definition, made by the same code,
    is not registered again) unless `register=False` (ops built per traced
    function, such as a `tf.cond`'s or a custom gradient's).

    Args:
        name: the op type, as TF names it ('MatMul', 'Conv2D'); appears in errors.
        kernel: `kernel(*arrays, **attrs)` -> array (or tuple of arrays).
        grad: the gradient rule `grad(inputs, outputs, attrs, dy)` -> one gradient
            per input (None where none), `NO_GRADIENT`, or None (a missing rule:
            taking a gradient through the op raises an error naming it).
        num_outputs: how many arrays the kernel returns (1 means a bare array).
        shape_fn: `shape_fn(inputs, attrs) -> [(TensorShape, DType), ...]` used
            when tracing; without one, shapes are found by running the kernel on
            small stand-in arrays (see `graph.py`).
        stateful: has side effects or randomness: never folded or probed.
        aliases: the kernel may return a view of its input (reshape, slice):
            when that input is a Variable the result is copied, so that an
            in-place update of the Variable never changes an existing Tensor.
        grad_needs: the rule takes a fifth argument, `needs` (one bool per
            input: is its gradient wanted?), and may skip the others (a
            matmul's gradient for a data batch).
        grad_uses_outputs: the rule reads `outputs` (a traced function then
            keeps them for its backward pass).
        batch_rule: for `jacobian`'s one-walk form, where every gradient has a
            leading batch axis: `TRANSPARENT` (the rule already passes that axis
            through) or `rule(inputs, outputs, attrs, dy, batch)` accounting for
            it; None: jacobians through the op go row by row.
        batch_when: `batch_when(inputs, attrs) -> bool`, whether `batch_rule`
            applies to one call (a matmul of vectors, a softmax on axis 0: not).
        inline: `inline(node, context) -> (template, constants)` or None: a
            NumPy expression for a `tf.function` plan to write instead of the
            kernel call (`{0}`, `{1}`, ... stand for the inputs; see
            `function/fastpath.py`, which checks it against the kernel).
        shape_only: the result depends only on the inputs' shapes and dtypes
            (`ones_like`): folded to a constant when those are known.
        node_name: base name of the op's tensors in a traced graph, when TF's
            differs from the op type ('add' for AddV2).
        pure_read: stateful only so as never to be folded (a Variable read); it
            has no side effect, so a plan drops it when its value is unused.
        residuals: names of extra outputs that only the gradient reads (a
            convolution's patches). They are produced by `residual_kernel` only
            when a recording tape or a plan consumer needs them, and live as
            long as any tensor (the tape's entry, the plan's slot). The rule's
            `outputs` is then the tuple (outputs..., residuals...), a residual
            None where it was not produced; `shape_fn` gives the residuals'
            shapes after the outputs'.
        residual_kernel: `residual_kernel(*arrays, **attrs)` -> the outputs
            followed by the residuals.
        fuse: what a `tf.function` plan may fuse the op into (see
            `function/fusion.py`), a dict of roles: `bias_act` (a producer's
            kernel with a bias add and optional ReLU folded in), `bias` (adds a
            vector along the last axis), `activation` ('relu'), `bias_grad` (a
            sum over all axes but the last), `with_bias_grad` (a filter gradient
            kernel that also returns that sum), `in_place` (the kernel writing
            into its first input), `fresh` (the kernel always returns a new
            array, never a view of an input).
        register: add the definition to the registry (see above).
    """

    __slots__ = ("__weakref__", "_variants", "aliases", "batch_rule", "batch_when", "definition",
                 "fuse", "grad", "grad_needs", "grad_uses_outputs", "inline", "kernel", "n_total",
                 "name", "no_grad", "node_name", "num_outputs", "pure_read", "residual_kernel",
                 "residuals", "shape_fn", "shape_only", "stateful")

    def __init__(self, name, kernel, grad=None, num_outputs=1, shape_fn=None,
                 stateful=False, aliases=False, *, grad_needs=False, grad_uses_outputs=True,
                 batch_rule=None, batch_when=None, inline=None, shape_only=False,
                 node_name=None, pure_read=False, residuals=(), residual_kernel=None,
                 fuse=None, register=True):
        if residuals and residual_kernel is None:
            raise ValueError(f"op '{name}' declares residuals {residuals} but no "
                             "residual_kernel to produce them.")
        self.name = name
        self.kernel = kernel
        self.grad = grad
        self.num_outputs = num_outputs
        self.shape_fn = shape_fn
        self.stateful = stateful
        self.aliases = aliases
        self.no_grad = grad is NO_GRADIENT
        self.grad_needs = grad_needs
        self.grad_uses_outputs = grad_uses_outputs
        self.batch_rule = batch_rule
        self.batch_when = batch_when
        self.inline = inline
        self.shape_only = shape_only
        self.node_name = node_name or name
        self.pure_read = pure_read
        self.residuals = tuple(residuals)
        self.residual_kernel = residual_kernel
        self.fuse = fuse or {}
        # Outputs a call records: the visible ones, then the residuals.
        self.n_total = num_outputs + len(self.residuals)
        self.definition = self
        self._variants = {}
        _check_rule_signature(self)
        if register:
            _register(self)

    def with_outputs(self, num_outputs):
        """This definition for a call with `num_outputs` outputs (Unpack, SplitV):
        everything else shared, registered once under the definition's name (one
        variant per count, made on first use)."""
        definition = self.definition
        variant = definition._variants.get(num_outputs)
        if variant is None:
            variant = object.__new__(OpDef)
            for slot in OpDef.__slots__:
                if slot != "__weakref__":
                    setattr(variant, slot, getattr(definition, slot))
            variant.num_outputs = num_outputs
            variant.n_total = num_outputs + len(definition.residuals)
            definition._variants[num_outputs] = variant
        return variant

    def __repr__(self):
        return f"<OpDef {self.name}>"


def _same_definition(a, b) -> bool:
    """Whether two OpDefs are instances of one definition: built by the same code (a
    factory making one op per traced function, whose kernels are closures of one
    function) rather than two definitions that happen to share a name."""
    code_a, code_b = getattr(a.kernel, "__code__", None), getattr(b.kernel, "__code__", None)
    return a.kernel is b.kernel if code_a is None else code_a is code_b


def _register(op):
    old = _REGISTRY.get(op.name)
    if old is not None:
        if _same_definition(old, op):
            # Another instance of a registered definition: the registry names
            # definitions, so it keeps the first (pass register=False to keep none).
            return
        raise ValueError(
            f"An op named '{op.name}' is already defined (kernel "
            f"{getattr(old.kernel, '__qualname__', old.kernel)!s} in "
            f"{getattr(old.kernel, '__module__', '?')}); op names must be unique: give the new "
            "op another name, or one definition several variants (`OpDef.with_outputs`, an "
            "optional input).")
    _REGISTRY[op.name] = op


def _check_rule_signature(op):
    """A rule that takes `needs` must say so (`grad_needs=True`), and one that declares
    it must take it: a mismatch fails here, at definition, not at the first gradient."""
    rule = op.grad
    code = getattr(rule, "__code__", None)
    if code is None or rule is NO_GRADIENT:
        return
    bound = 1 if getattr(rule, "__self__", None) is not None else 0   # a bound method's self
    positional = code.co_argcount - bound - len(getattr(rule, "__defaults__", None) or ())
    varargs = bool(code.co_flags & 0x04)
    wanted = 5 if op.grad_needs else 4
    if positional > wanted or (code.co_argcount - bound < wanted and not varargs):
        raise TypeError(
            f"The gradient rule of op '{op.name}' ({code.co_name}) takes {code.co_argcount} "
            f"positional parameters; rules take (inputs, outputs, attrs, dy), plus `needs` "
            f"when the op is defined with grad_needs=True (it is{' not' * (not op.grad_needs)}).")


def registered_ops():
    """Every registered op definition, by name (a copy)."""
    return dict(_REGISTRY)


def lookup(name):
    """The registered definition named `name` (KeyError naming it otherwise)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"No op named '{name}' is registered.") from None


def tape_wants(inputs) -> bool:
    """Whether some recording tape would keep a call with these inputs (see
    `GradientTape._record`): only then is it worth producing residuals."""
    for tape in state.tapes:
        watched = tape._watched
        for x in inputs:
            if id(x) in watched or (x._is_variable and tape._watch_accessed and x._trainable):
                return True
    return False


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
    # `state` is thread-local: its __dict__ is this thread's attributes, found in one
    # look-up, and dict subscripts are cheaper than further attribute reads on it.
    st = state.__dict__
    if st["graph"] is None:
        if start_hook is not None:
            start_hook(op)
        if op.residuals and st["tapes"] and tape_wants(inputs):
            return _execute_with_residuals(op, inputs, attrs)
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
        except NoValueError:
            raise       # for the public function's wrapper (see api_export.py)
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
        outs = st["graph"].add_op(op, inputs, attrs)
        if op.residuals:
            if dispatch_hook is not None:
                dispatch_hook(op, inputs, visible_outputs(op, outs), attrs)
            return _recorded(op, inputs, outs, attrs)
    if dispatch_hook is not None:
        dispatch_hook(op, inputs, outs, attrs)
    tapes = st["tapes"]
    if tapes:
        for tape in tapes:
            tape._record(op, inputs, outs, attrs)
    return outs


def _recorded(op, inputs, outs, attrs):
    """Offers a call with its residuals to the tapes; returns what the caller sees."""
    for tape in state.tapes:
        tape._record(op, inputs, outs, attrs)
    return visible_outputs(op, outs)


def visible_outputs(op, outs):
    """The outputs a caller sees of a call that recorded `outs` (residuals dropped)."""
    if not op.residuals or type(outs) is not tuple or len(outs) != op.n_total:
        return outs
    return outs[0] if op.num_outputs == 1 else outs[:op.num_outputs]


def _execute_with_residuals(op, inputs, attrs):
    try:
        out = op.residual_kernel(*[x._value for x in inputs], **attrs)
    except errors.OpError:
        raise
    except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as e:
        raise _kernel_error(op, inputs, attrs, e) from None
    outs = tuple(Tensor(_as_value(o)) for o in out)
    if op.aliases and inputs[0]._is_variable:
        outs = (Tensor(outs[0]._value.copy()),) + outs[1:]
    if dispatch_hook is not None:
        dispatch_hook(op, inputs, visible_outputs(op, outs), attrs)
    return _recorded(op, inputs, outs, attrs)


# -- conversion -------------------------------------------------------------

def _python_to_array(value, dtype):
    """Python/NumPy value -> array, with TF's defaults (float32, int32)."""
    if dtype is not None:
        np_dtype = dtype._np
        if np_dtype.kind == "O":
            return _string_array(value)
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
        return value if value.dtype.kind not in "OSU" else _string_array(value)
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
    if kind in "OSU":
        return _string_array(value)
    raise TypeError(f"Cannot convert {value!r} (of type {type(value).__name__}) to a tensor: "
                    "expected a number, a nested list of numbers, a NumPy array or a tensor.")


def _string_array(value):
    """A string tensor's value: an object array of `bytes` (str is encoded as UTF-8).

    Only reached for strings (kinds O/S/U), never on the numeric paths."""
    from tapeflow.ops.string_ops import to_bytes_array
    return to_bytes_array(value)


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
