"""`tf.Variable`: a named, mutable tensor whose reads tapes record.

A Variable owns one NumPy array for its whole life; `assign*` and optimizer
updates write into it in place (no per-step allocation). Ops take the
Variable itself as an input, so a tape can key its gradient by the Variable
and watch it on access (`watch_accessed_variables`).

    >>> import tapeflow as tf
    >>> v = tf.Variable(3.0, name='x0')
    >>> v.name
    'x0:0'
    >>> _ = v.assign_add(1.0)
    >>> float(v)
    4.0
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.context import current_scope, init_scope, state
from tapeflow.framework.op import OpDef, NO_GRADIENT, TRANSPARENT, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor, TensorBase, _numpy_text, is_tensor
from tapeflow.framework.tensor_shape import TensorShape


def _same_shape_spec(inputs, attrs):
    v = inputs[0]
    return [(v.shape, v.dtype)]


def _assign_kernel(var_value, value):
    np.copyto(var_value, value, casting="unsafe")
    return var_value


def _assign_add_kernel(var_value, value):
    np.add(var_value, value, out=var_value, casting="unsafe")
    return var_value


def _assign_sub_kernel(var_value, value):
    np.subtract(var_value, value, out=var_value, casting="unsafe")
    return var_value


def _read_kernel(var_value):
    return var_value.copy()


def _read_grad(inputs, outputs, attrs, dy):
    return (dy,)


ASSIGN = OpDef("AssignVariableOp", _assign_kernel, NO_GRADIENT, shape_fn=_same_shape_spec,
               stateful=True)
ASSIGN_ADD = OpDef("AssignAddVariableOp", _assign_add_kernel, NO_GRADIENT,
                   shape_fn=_same_shape_spec, stateful=True)
ASSIGN_SUB = OpDef("AssignSubVariableOp", _assign_sub_kernel, NO_GRADIENT,
                   shape_fn=_same_shape_spec, stateful=True)
# Reads are stateful so that a traced read is never folded into a constant.
READ = OpDef("ReadVariableOp", _read_kernel, _read_grad, shape_fn=_same_shape_spec,
             stateful=True, pure_read=True, grad_uses_outputs=False, batch_rule=TRANSPARENT)


# Set by tapeflow.distribute while a strategy exists: called with each new Variable.
_creation_hook = None

class Variable(TensorBase):
    """A mutable tensor with a name (`'x0:0'`), read by ops and watched by tapes.

    Args:
        initial_value: a tensor, array, number or a callable returning one
            (run eagerly, even when created while tracing a tf.function).
        trainable: whether tapes watch it on access and optimizers train it.
        name: the name without ':0'; tf.name_scope prefixes it.
        dtype: casts the initial value to this dtype.
        shape: the declared shape (must match the value's).
    """

    __slots__ = ("_value", "_name", "_trainable", "_constraint", "_shape_decl",
                 "__weakref__", "_handle_name", "_layer_owned")
    _is_variable = True

    def __init__(self, initial_value=None, trainable=True, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None,
                 import_scope=None, constraint=None, synchronization=None,
                 aggregation=None, shape=None, experimental_enable_variable_lifting=True):
        if initial_value is None:
            raise ValueError("The initial_value must be specified when creating a Variable.")
        with init_scope():
            if callable(initial_value):
                initial_value = initial_value()
            if isinstance(initial_value, Tensor) and initial_value._is_symbolic:
                raise ValueError(
                    "A tf.Variable's initial value must be computable eagerly; got the symbolic "
                    f"tensor {initial_value!r}. Create the variable outside tf.function, or "
                    "pass a callable/constant initial value.")
            if dtype is not None:
                dtype = dtypes.as_dtype(dtype)
                if is_tensor(initial_value):
                    value = np.asarray(initial_value._value).astype(dtype._np)
                else:
                    value = np.asarray(convert_to_tensor(initial_value, dtype)._value)
            else:
                value = np.asarray(convert_to_tensor(initial_value)._value)
        self._value = np.array(value, copy=True, order="C")
        self._shape_decl = None if shape is None else TensorShape(shape)
        if (self._shape_decl is not None
                and not self._shape_decl.is_compatible_with(self._value.shape)):
            raise ValueError(f"Variable shape {self._shape_decl} is incompatible with its initial "
                             f"value of shape {self._value.shape}")
        self._trainable = bool(trainable)
        self._constraint = constraint
        base = name.split(":")[0] if name else "Variable"
        scope = current_scope()
        self._name = f"{scope}/{base}" if scope else base
        self._layer_owned = None
        # The tf.function being traced notes the Variables its trace creates, also those
        # made under init_scope (optimizer slots), and refuses them on a later trace.
        if state.variable_watch:
            state.variable_watch[-1].note(self)
        if _creation_hook is not None:      # tf.distribute: mirrored initial values
            _creation_hook(self)

    # -- properties --------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name + ":0"

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def constraint(self):
        return self._constraint

    @property
    def dtype_np(self):
        return self._value.dtype

    def numpy(self):
        """A copy of the current value (NumPy scalar for rank 0), as TF returns."""
        v = self._value.copy()
        return v[()] if v.ndim == 0 else v

    def value(self) -> Tensor:
        return self.read_value()

    def read_value(self) -> Tensor:
        return execute(READ, (self,))

    # -- updates -------------------------------------------------------------
    def _check_value(self, value, op_name):
        t = value if is_tensor(value) else convert_to_tensor(value, self.dtype)
        if t.dtype is not self.dtype:
            raise errors.op_error(op_name, f"Cannot update variable '{self.name}' of dtype "
                                  f"{self.dtype.name} with a value of dtype {t.dtype.name}")
        if not t.shape.is_compatible_with(self.shape):
            raise errors.op_error(
                op_name, f"Cannot update variable '{self.name}' with shape {self.shape}: the "
                f"value has shape {t.shape}; the shapes must match.")
        return t

    def _before_update(self):
        # A recording tape that read this Variable keeps the values it saw.
        for tape in state.tapes:
            if id(self) in tape._watched:
                tape._freeze_variable(self)

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Sets the value in place; returns the variable."""
        value = self._check_value(value, "AssignVariableOp")
        if state.tapes:
            self._before_update()
        execute(ASSIGN, (self, value))
        return self

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        """Adds `delta` in place; returns the variable."""
        delta = self._check_value(delta, "AssignAddVariableOp")
        if state.tapes:
            self._before_update()
        execute(ASSIGN_ADD, (self, delta))
        return self

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        """Subtracts `delta` in place; returns the variable."""
        delta = self._check_value(delta, "AssignSubVariableOp")
        if state.tapes:
            self._before_update()
        execute(ASSIGN_SUB, (self, delta))
        return self

    # -- Python protocol ---------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        v = self._value.copy()
        return v if dtype is None else v.astype(dtype, copy=False)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __index__(self):
        return int(self._value)

    def __bool__(self):
        return bool(self._value)

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        return iter(self.read_value())

    def __hash__(self):
        raise TypeError("Variable is unhashable. Instead, use variable.ref() as the key.")

    def __repr__(self):
        return (f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={_numpy_text(self.numpy(), True)}>")

    def __reduce__(self):
        raise TypeError("tf.Variable cannot be pickled; save weights with "
                        "model.save_weights or tf.train.Checkpoint.")

    def __deepcopy__(self, memo):
        return Variable(self._value, trainable=self._trainable, name=self._name)


def _bind_tensor_operators():
    """Variables take part in the same operators as Tensors."""
    from tapeflow.framework import op as op_mod
    from tapeflow.framework import tensor as tensor_mod
    tensor_mod._OPERATOR_CLASSES.append(Variable)
    op_mod.EAGER_TYPES.add(Variable)


_bind_tensor_operators()
