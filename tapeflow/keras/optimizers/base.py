"""`keras.optimizers.Optimizer`: the base class; subclasses override `build` and
`update_step` only.

`apply_gradients(zip(grads, vars))`:

1. drops pairs whose gradient is None (with one warning naming those variables);
2. checks every gradient's shape and dtype against its variable before any
   variable changes, so a bad gradient leaves the model untouched;
3. builds the slot variables on first use (under `init_scope`, so they are
   created once even when the step is traced by `tf.function`);
4. clips (clipvalue, clipnorm, global_clipnorm), applies weight decay, then one
   fused in-place update per variable (`update_step`), and counts `iterations`.

Each update is one stateful op (`OpDef`) whose inputs are the variable, its
slot variables, the gradient, the learning rate and the step counter: eagerly
it runs the kernel from `tapeflow.backend.optim_kernels` at once; when traced
it becomes a node that runs, in program order, each time the function runs.

    >>> import tapeflow as tf
    >>> v = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.SGD(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 1.0]), v)])
    >>> v.numpy(), int(opt.iterations)
    (array([0.9, 1.9], dtype=float32), 1)
"""
from __future__ import annotations

import logging

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope
from tapeflow.framework.op import NO_GRADIENT, OpDef, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor, is_tensor
from tapeflow.framework.variables import Variable
from tapeflow.keras import backend
from tapeflow.keras.optimizers import schedules
from tapeflow.ops import math_ops, reduce_ops
from tapeflow.train import deferred

_logger = logging.getLogger("tapeflow")


def var_spec(inputs, attrs):
    """Shape rule of every update op: it yields (and aliases) the updated variable."""
    v = inputs[0]
    return [(v.shape, v.dtype)]


def update_op(name, kernel):
    """A stateful update op around an in-place kernel (never folded, never differentiated)."""
    return OpDef(name, kernel, NO_GRADIENT, shape_fn=var_spec, stateful=True,
                 fuse={"update": True})      # may overlap later steps (function/fusion.py)


def _decay_kernel(var, lr, weight_decay):
    from tapeflow.backend.optim_kernels import adamw_decay
    adamw_decay(var, float(lr), weight_decay)
    return var


_DECAY = update_op("WeightDecay", _decay_kernel)

# Set by tapeflow.distribute (aggregation.aggregate): sums gradients over replicas.
_distribute_hook = None


class Optimizer:
    """Base optimizer.

    Args:
        learning_rate: a float, or a `LearningRateSchedule` called with `iterations`.
        weight_decay: decoupled weight decay (var -= var * weight_decay * lr).
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to [-clipvalue, clipvalue].
        global_clipnorm: scale all gradients so that their joint L2 norm is at most this.
        name: the optimizer's name (prefix of its slot variables).
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        kwargs.pop("decay", None) if kwargs.get("decay") in (0, 0.0, None) else None
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{sorted(kwargs)}")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set; received clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if use_ema:
            raise NotImplementedError("use_ema=True is not supported by tapeflow optimizers")
        if loss_scale_factor is not None or gradient_accumulation_steps is not None:
            raise NotImplementedError("loss_scale_factor and gradient_accumulation_steps are not "
                                      "supported by tapeflow optimizers; received "
                                      f"loss_scale_factor={loss_scale_factor}, "
                                      f"gradient_accumulation_steps="
                                      f"{gradient_accumulation_steps}")
        self.name = name or backend.to_snake_case(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.built = False
        self._variables = []
        self._index = {}              # id(variable) -> position in the built var list
        self._slot_variables = {}     # id(slot variable) -> slot, to avoid double tracking
        self._exclude_from_decay = set()
        with init_scope():
            self._iterations = Variable(np.int64(0), trainable=False, name="iteration")
            if isinstance(learning_rate, schedules.LearningRateSchedule):
                self._schedule = learning_rate
                self._learning_rate = None
            else:
                self._schedule = None
                self._learning_rate = Variable(np.float32(self._check_lr(learning_rate)),
                                               trainable=False, name="learning_rate")

    @staticmethod
    def _check_lr(value):
        if callable(value) and not isinstance(value, (Tensor, Variable)):
            raise TypeError("learning_rate must be a float or a "
                            "keras.optimizers.schedules.LearningRateSchedule; received a "
                            f"callable {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(f"learning_rate must be a float or a LearningRateSchedule; "
                            f"received {value!r} of type {type(value).__name__}") from None

    # -- state ----------------------------------------------------------------------
    @property
    def iterations(self) -> Variable:
        """The number of steps applied so far (an int64 Variable)."""
        return self._iterations

    @property
    def learning_rate(self):
        """The learning rate now: a Variable, or the schedule's value at `iterations`."""
        if self._schedule is not None:
            return self._schedule(self._iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule):
            self._schedule = value
            return
        if self._schedule is not None:
            raise TypeError("This optimizer was created with a LearningRateSchedule; its "
                            "learning rate cannot be set to a constant.")
        self._learning_rate.assign(np.float32(self._check_lr(value)))

    lr = learning_rate

    def _lr_input(self):
        return self._schedule(self._iterations) if self._schedule is not None else \
            self._learning_rate

    @property
    def variables(self) -> list:
        return [self._iterations] + ([self._learning_rate] if self._learning_rate is not None
                                     else []) + list(self._variables)

    def add_variable(self, shape, dtype=None, initializer="zeros", name=None):
        with init_scope():
            value = np.zeros(shape, dtypes.as_dtype(dtype or "float32")._np)
            if initializer not in ("zeros", None):
                value = np.full(shape, float(initializer), value.dtype)
            v = Variable(value, trainable=False, name=f"{self.name}/{name or 'variable'}")
        self._variables.append(v)
        return v

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A slot Variable shaped like `reference_variable`, named '<opt>/<var>_<slot>'."""
        with init_scope():
            ref = reference_variable
            value = np.zeros(ref._value.shape, ref._value.dtype)
            if initializer not in ("zeros", None):
                value.fill(float(initializer))
            base = ref._name.replace("/", "_")
            v = Variable(value, trainable=False, name=f"{self.name}/{base}_{name}")
        self._variables.append(v)
        return v

    def build(self, var_list) -> None:
        """Creates the slot variables of `var_list`; subclasses add theirs after this."""
        self._trainable_variables = list(var_list)
        self._index = {id(v): i for i, v in enumerate(var_list)}
        self.built = True

    def _var_index(self, variable) -> int:
        return self._index[id(variable)]

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        for v in var_list or []:
            self._exclude_from_decay.add(id(v))
        self._exclude_names = list(var_names or [])

    # -- applying ------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                        **kwargs):
        """Applies one update for each (gradient, variable) pair; returns `iterations`."""
        pairs = self._checked_pairs(grads_and_vars)
        # -- tf.distribute: in a replica, gradients are summed over all replicas first --
        if _distribute_hook is not None and not skip_gradients_aggregation:
            pairs = _distribute_hook(self, pairs)
            if pairs is None:           # an earlier local replica: the last one applies
                return self._iterations
        # -----------------------------------------------------------------------------
        variables = [v for _, v in pairs]
        if not self.built:
            self._build_or_undo(variables)
        unknown = [v.name for v in variables if id(v) not in self._index]
        if unknown:
            raise KeyError(f"The optimizer cannot recognize variable(s) {unknown}: it was built "
                           f"for {len(self._index)} other variables. Use one optimizer per set "
                           "of variables, or call `optimizer.build(all_variables)` first.")
        grads = self._clip([g for g, _ in pairs])
        lr = self._lr_input()
        if self.weight_decay:
            for v in variables:
                if self._use_decay(v):
                    execute(_DECAY, (v, lr), {"weight_decay": float(self.weight_decay)})
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr)
        for v in variables:
            if v.constraint is not None:        # e.g. kernel_constraint=MaxNorm(2)
                v.assign(v.constraint(v))
        self._iterations.assign_add(1)
        return self._iterations

    def _build_or_undo(self, variables):
        """Builds the slots; a build that fails part way (e.g. a tf.function refusing new
        Variables on a later trace) leaves the optimizer unbuilt, as it was."""
        made = len(self._variables)
        with init_scope():
            try:
                self.build(variables)
            except BaseException:
                del self._variables[made:]
                self.built = False
                raise
            deferred.notify(self)       # checkpoint values waiting for the slots

    def apply(self, grads, trainable_variables=None):
        """Keras 3's form of `apply_gradients`: the gradients and the variables as two lists
        (the variables the optimizer was built for when `trainable_variables` is None)."""
        if trainable_variables is None:
            if not self.built:
                raise ValueError("optimizer.apply(grads) needs `trainable_variables` when the "
                                 "optimizer has not been built yet.")
            trainable_variables = self._trainable_variables
        grads, trainable_variables = list(grads), list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"optimizer.apply: received {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables; expected one per variable.")
        return self.apply_gradients(zip(grads, trainable_variables))

    def _use_decay(self, v) -> bool:
        if id(v) in self._exclude_from_decay:
            return False
        return not any(n in v.name for n in getattr(self, "_exclude_names", []))

    def _checked_pairs(self, grads_and_vars):
        """Drops None gradients (warning) and validates the rest before any update."""
        pairs = list(grads_and_vars)
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"apply_gradients expects (gradient, variable) pairs, e.g. "
                                f"zip(grads, model.trainable_variables); item {i} is {pair!r}")
        missing = [v for g, v in pairs if g is None]
        if missing:
            names = [getattr(v, "name", repr(v)) for v in missing]
            _logger.warning("Gradients do not exist for variables %s when minimizing the loss. "
                            "If you're using `model.compile()`, did you forget to provide a "
                            "`loss` argument?", names)
        pairs = [(g, v) for g, v in pairs if g is not None]
        if not pairs:
            from tapeflow.debug.explain import reasons_for
            why = "".join(f"\n  {r}" for r in reasons_for(missing))
            raise ValueError(f"No gradients provided for any variable: all {len(missing)} "
                             "gradients are None. Check that the loss depends on the "
                             "variables and was computed inside the GradientTape."
                             + (f" Why (tapeflow.debug):{why}" if why else ""))
        out = []
        for g, v in pairs:
            if type(g) is Tensor and getattr(v, "_is_variable", False):
                gv, vv = g._value, v._value
                if gv.shape == vv.shape and gv.dtype == vv.dtype:   # the usual case, eagerly
                    out.append((g, v))
                    continue
            if not getattr(v, "_is_variable", False):
                raise TypeError(f"apply_gradients: expected a tf.Variable to update; received "
                                f"{v!r} of type {type(v).__name__}")
            if not (is_tensor(g)):
                try:
                    g = convert_to_tensor(np.asarray(g), v.dtype) if not isinstance(
                        g, np.ndarray) else convert_to_tensor(g)
                except (TypeError, ValueError) as e:
                    raise TypeError(f"apply_gradients: the gradient for variable '{v.name}' "
                                    f"must be a tensor; received {type(g).__name__} ({e})") \
                        from None
            if g.dtype is not v.dtype:
                raise ValueError(f"apply_gradients: the gradient for variable '{v.name}' "
                                 f"(dtype {v.dtype.name}) has dtype {g.dtype.name}; expected "
                                 f"{v.dtype.name}. No variable was updated.")
            if not g.shape.is_compatible_with(v.shape):
                raise ValueError(f"apply_gradients: the gradient for variable '{v.name}' has "
                                 f"shape {tuple(g.shape.as_list())}; expected the variable's "
                                 f"shape {tuple(v.shape.as_list())}. No variable was updated.")
            out.append((g, v))
        return out

    def _clip(self, grads):
        if self.clipvalue is not None:
            c = float(self.clipvalue)
            return [math_ops.clip_by_value(g, -c, c) for g in grads]
        if self.clipnorm is not None:
            c = float(self.clipnorm)
            out = []
            for g in grads:
                norm = math_ops.sqrt(reduce_ops.reduce_sum(math_ops.square(g)))
                out.append(g * (c / math_ops.maximum(norm, c)))
            return out
        if self.global_clipnorm is not None:
            c = float(self.global_clipnorm)
            sq = [reduce_ops.reduce_sum(math_ops.square(g)) for g in grads]
            norm = math_ops.sqrt(math_ops.add_n(sq) if len(sq) > 1 else sq[0])
            scale = c / math_ops.maximum(norm, c)
            return [g * scale for g in grads]
        return grads

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError

    def minimize(self, loss, var_list, tape=None):
        """Computes gradients of `loss` (a callable or, with `tape`, a tensor) and applies them."""
        from tapeflow.autodiff.tape import GradientTape
        if callable(var_list):
            var_list = var_list()
        if tape is None:
            if not callable(loss):
                raise ValueError("minimize: `loss` must be a callable when no `tape` is given")
            with GradientTape() as own_tape:
                loss = loss()
            tape = own_tape
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = schedules.serialize(self._schedule) if self._schedule is not None else float(
            self._learning_rate.numpy())
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
