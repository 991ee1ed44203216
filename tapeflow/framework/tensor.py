"""`Tensor` (immutable, eager, wraps a NumPy value) and `SymbolicTensor`.

An eager Tensor owns `_value`: a NumPy array, or a NumPy scalar for rank 0
(as TF's `.numpy()` returns). Tensors are cheap (`__slots__`, no bookkeeping):
a tape keeps what it needs itself. Operators (`+`, `@`, `[]`, ...) are bound
by the op modules through `override_operator` (the op modules import this one,
so it imports ops only inside the methods that need one: iteration).

A `SymbolicTensor` stands for a value inside a graph being traced
(`tf.function`, Keras functional build): it has a shape with possibly unknown
dims, a dtype and the node that produces it, but no value.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.api_export import public_operator
from tapeflow.framework.tensor_shape import TensorShape


_dtype_of = dtypes._BY_NP.get


def _numpy_text(value, is_repr: bool) -> str:
    """The value as TF prints it: str() of the array (or NumPy scalar) in `str`,
    repr() of the array, or of the widened Python number for a scalar, in `repr`."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if not is_repr:
            return str(value)
        text = repr(value)
        return "\n" + text if "\n" in text else text
    if is_repr:
        return repr(value.item())       # float32 4.1267757 -> 4.126775741577148, as TF
    return str(value[()] if isinstance(value, np.ndarray) else value)


class TensorBase:
    """What `Tensor` and `Variable` share: a NumPy value `_value` and the properties
    read from it. A Variable is not a Tensor (as in TF), but both are this:
    `isinstance(x, TensorBase)` is `tf.is_tensor(x)`."""

    __slots__ = ()
    __array_priority__ = 100
    _is_variable = False
    _is_symbolic = False

    @property
    def dtype(self) -> dtypes.DType:
        d = _dtype_of(self._value.dtype)
        return d if d is not None else dtypes.from_numpy(self._value.dtype)

    @property
    def shape(self) -> TensorShape:
        return TensorShape._of_array(self._value.shape)

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def device(self) -> str:
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    def ref(self):
        return _TensorRef(self)

    experimental_ref = ref

    def __format__(self, format_spec: str) -> str:
        if not format_spec:
            return str(self)
        return self._value.__format__(format_spec)


class Tensor(TensorBase):
    """An immutable multi-dimensional array (TF's EagerTensor).

    Example:
        >>> import tapeflow as tf
        >>> t = tf.constant([[1., 2.], [3., 4.]])
        >>> t.shape
        TensorShape([2, 2])
        >>> print(tf.reduce_sum(t))
        tf.Tensor(10.0, shape=(), dtype=float32)
    """

    __slots__ = ("_value", "__weakref__")

    def __init__(self, value):
        self._value = value

    @property
    def name(self):
        raise AttributeError("Tensor.name is undefined when eager execution is enabled.")

    def numpy(self):
        """The value as a new NumPy array (a NumPy scalar for rank 0).

        A copy, as TF's: writing into it never changes the (immutable) tensor.
        `np.asarray(t)` gives the value without copying, read-only use intended.
        """
        v = self._value
        if type(v) is np.ndarray:
            return v.copy() if v.ndim else v[()]
        return v

    # -- Python protocol ----------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        # np.array(t) asks for a copy (copy=True): never hand out the tensor's own buffer
        # then, or mutating the result would change an immutable Tensor.
        v = np.asarray(self._value)
        if dtype is not None and v.dtype != dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __len__(self) -> int:
        if self._value.ndim == 0:
            raise TypeError("Scalar tensor has no `len()`")
        return self._value.shape[0]

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("Cannot iterate over a scalar tensor.")
        from tapeflow.ops import array_ops
        return iter(array_ops.unstack(self))

    def _scalar(self, kind: str):
        if self._value.size != 1:
            raise TypeError(f"Only size-1 tensors can be converted to Python {kind}s; "
                            f"got a tensor of shape {tuple(self._value.shape)}.")
        v = self._value
        return v.reshape(()).item() if isinstance(v, np.ndarray) else v.item()

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __index__(self) -> int:
        if not self.dtype.is_integer:
            raise TypeError(f"Only integer tensors can be used as an index; got {self.dtype!r}.")
        return int(self._scalar("int"))

    def __bool__(self) -> bool:
        return bool(self._scalar("bool"))

    def __hash__(self):
        raise TypeError("Tensor is unhashable. Instead, use tensor.ref() as the key.")

    def __repr__(self) -> str:
        return (f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, "
                f"numpy={_numpy_text(self._value, True)}>")

    def __str__(self) -> str:
        text = _numpy_text(self._value, False)
        sep = "\n" if "\n" in text else ""
        return f"tf.Tensor({sep}{text}, shape={self.shape}, dtype={self.dtype.name})"

    def __reduce__(self):
        return Tensor, (self._value,)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class _TensorRef:
    """A hashable reference to a tensor (`tensor.ref()`)."""

    __slots__ = ("_t",)

    def __init__(self, t):
        self._t = t

    def deref(self):
        return self._t

    def __hash__(self):
        return id(self._t)

    def __eq__(self, other):
        return isinstance(other, _TensorRef) and other._t is self._t


class SymbolicTensor(Tensor):
    """A tensor inside a graph being traced: shape and dtype, no value yet."""

    __slots__ = ("_shape", "_dtype", "graph", "node", "index", "_keras_history",
                 "_const", "_name")
    _is_symbolic = True

    def __init__(self, shape, dtype, graph, node=None, index=0):
        self._value = None
        self._shape = shape if isinstance(shape, TensorShape) else TensorShape(shape)
        self._dtype = dtype
        self.graph = graph
        self.node = node
        self.index = index
        self._keras_history = None
        self._const = None
        self._name = None           # set for tf.function placeholders: 'images:0'

    @property
    def dtype(self) -> dtypes.DType:
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def ndim(self) -> int:
        return self._shape.rank

    @property
    def name(self) -> str:
        if self._name is not None:
            return self._name
        op = self.node.op.name if self.node is not None else "Placeholder"
        return f"{op}:{self.index}"

    def numpy(self):
        # TF's graph tensors have no `numpy` attribute: the same AttributeError.
        raise AttributeError(
            "'SymbolicTensor' object has no attribute 'numpy': a tensor inside a tf.function "
            "has no value while the function is traced. Compute with tapeflow ops inside "
            "the function, or call .numpy() on its results.")

    def __array__(self, dtype=None, copy=None):
        raise NotImplementedError(
            f"Cannot convert a symbolic tf.Tensor ({self.name}, shape={self._shape}) to a "
            "NumPy array. This error may indicate that you're trying to pass a Tensor to "
            "a NumPy call, which is not supported inside tf.function.")

    def __bool__(self):
        where = f" while tracing '{self.graph.name}'" if self.graph is not None else ""
        raise TypeError(
            f"Using a symbolic `tf.Tensor` as a Python `bool` is not allowed{where}: the "
            f"tensor {self.name} (shape={self._shape}, dtype={self._dtype.name}) has no value "
            "until the function runs, and AutoGraph did not convert this code "
            "(autograph=False, do_not_convert, or code outside the converted function). Use "
            "tf.cond(pred, true_fn, false_fn) or tf.where for tensor-valued conditions, "
            "tf.while_loop for loops, or pass the condition as a Python value (the function "
            "then traces once per value).")

    def __len__(self):
        n = self._shape[0] if self._shape.rank else None
        if n is None:
            raise TypeError(f"len is not well defined for a symbolic Tensor ({self.name}) "
                            f"whose first dimension is unknown: shape={self._shape}.")
        return n

    def __iter__(self):
        n = self._shape[0] if self._shape.rank else None
        if n is None:
            raise TypeError(f"Iterating over a symbolic `tf.Tensor` ({self.name}) with "
                            f"unknown first dimension is not allowed: shape={self._shape}.")
        from tapeflow.ops import array_ops
        return iter(array_ops.unstack(self, num=n))

    def __float__(self):
        raise TypeError("Cannot convert a symbolic tf.Tensor to a Python float while tracing.")

    __int__ = __index__ = __float__

    def __format__(self, format_spec):
        return str(self)

    def __repr__(self) -> str:
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def __str__(self) -> str:
        # As TF prints a graph tensor: `print(x)` while tracing shows 'Tensor("x:0", ...)'.
        if self._shape.rank is None:        # TF leaves out a shape it knows nothing of
            return f'Tensor("{self.name}", dtype={self._dtype.name})'
        return f'Tensor("{self.name}", shape={self._shape}, dtype={self._dtype.name})'

    def __reduce__(self):
        raise TypeError("A symbolic tf.Tensor cannot be pickled.")


_OPERATOR_CLASSES: list = [Tensor]
# The public names TF gives the functions behind Python operators: `a + b` and
# `a / b` are tf.__operators__.add and tf.math.truediv, apart from tf.add and
# tf.divide; the others share their function's name. Tools that record calls by
# name (a Keras functional build) read them here.
OPERATOR_NAMES = {
    "__add__": "__operators__.add", "__radd__": "__operators__.add",
    "__sub__": "math.subtract", "__rsub__": "math.subtract",
    "__mul__": "math.multiply", "__rmul__": "math.multiply",
    "__truediv__": "math.truediv", "__rtruediv__": "math.truediv",
    "__floordiv__": "math.floordiv", "__rfloordiv__": "math.floordiv",
    "__mod__": "math.floormod", "__rmod__": "math.floormod",
    "__pow__": "math.pow", "__rpow__": "math.pow",
    "__matmul__": "linalg.matmul", "__rmatmul__": "linalg.matmul",
    "__neg__": "math.negative", "__abs__": "math.abs",
    "__lt__": "math.less", "__le__": "math.less_equal", "__gt__": "math.greater",
    "__ge__": "math.greater_equal", "__eq__": "math.equal", "__ne__": "math.not_equal",
    "__and__": "math.logical_and", "__rand__": "math.logical_and",
    "__or__": "math.logical_or", "__ror__": "math.logical_or",
    "__xor__": "math.logical_xor", "__rxor__": "math.logical_xor",
    "__invert__": "math.logical_not", "__getitem__": "__operators__.getitem",
}
operators: dict = {}        # '__add__' -> the function bound on Tensor


def override_operator(name: str, fn) -> None:
    """Binds a Python operator (e.g. '__add__') on Tensor and Variable.

    Tensor gets `fn` itself (its subclasses with deferred values, Keras tensors, bind
    their own); Variable a version that offers a call on a deferred right-hand side
    (`variable * keras_tensor`) to the dispatchers under the operator's TF name.
    """
    operators[name] = fn
    symbol = OPERATOR_NAMES.get(name)
    for cls in _OPERATOR_CLASSES:
        bound = fn if cls is Tensor or symbol is None else public_operator(fn, symbol)
        setattr(cls, name, bound)


def is_tensor(x) -> bool:
    """`tf.is_tensor`: True for tensors and Variables."""
    return isinstance(x, TensorBase)
