"""`keras.layers.Layer`: configuration in `__init__`, weights in `build`, math in `call`.

A layer is called on tensors (eager: values in, values out) or on the
symbolic tensors of `keras.Input` (functional build: the layer is built from
the input shape, its `call` runs with the Keras graph current so every op
yields a `SymbolicTensor` with an inferred shape, and the call is recorded as
a `KerasNode` that `Model(inputs, outputs)` replays on real tensors).

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.Dense(2, name='d')
    >>> layer(tf.ones([1, 3])).shape
    TensorShape([1, 2])
    >>> [w.name for w in layer.weights]
    ['d/kernel:0', 'd/bias:0']
"""
from __future__ import annotations

import functools
import inspect
import threading

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope, name_scope, state
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import SymbolicTensor, Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.framework.variables import Variable
from tapeflow.keras import backend, initializers
from tapeflow.keras.layers import masking
from tapeflow.keras.layers.masking import _MASKS
from tapeflow.keras.layers.node import KERAS_GRAPH, KerasNode
from tapeflow.module.module import Module
from tapeflow.ops import array_ops, math_ops
from tapeflow.train import deferred
from tapeflow.utils import nest


class _CallContext(threading.local):
    """The `training` value set by the outermost call that gave one, for nested layers
    (per thread: a layer called in another thread is not nested in this one's call)."""

    def __init__(self):
        self.training = None
        self.depth = 0
        # Whether a layer called in this thread has losses from add_loss to clear
        # at the next outermost call.
        self.losses_added = False


_call_ctx = _CallContext()


class InputSpec:
    """What a layer accepts: rank (`ndim`/`min_ndim`) and fixed sizes of some axes."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None):
        self.dtype = dtype
        self.shape = shape
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})
        self.name = name

    def __repr__(self):
        return (f"InputSpec(ndim={self.ndim}, min_ndim={self.min_ndim}, "
                f"max_ndim={self.max_ndim}, axes={self.axes})")


def _shape_text(shape) -> str:
    return str(tuple(shape.as_list())) if shape.rank is not None else "<unknown>"


def check_input_spec(layer_name, spec, inputs):
    """Raises a ValueError naming the layer, what it expects and what it received."""
    specs = spec if isinstance(spec, (list, tuple)) else [spec]
    flat = nest.flatten(inputs)
    for i, (s, x) in enumerate(zip(specs, flat)):
        if s is None:
            continue
        shape = x.shape
        rank = shape.rank
        head = f'Input {i} of layer "{layer_name}" is incompatible with the layer: '
        if rank is None:
            continue
        if s.shape is not None:
            want = list(s.shape)
            if rank != len(want) or any(a is not None and b is not None and a != b
                                        for a, b in zip(want, shape.as_list())):
                raise ValueError(f"{head}expected shape={tuple(want)}, found shape="
                                 f"{_shape_text(shape)}")
            continue
        if s.ndim is not None and rank != s.ndim:
            raise ValueError(f"{head}expected ndim={s.ndim}, found ndim={rank}. Full shape "
                             f"received: {_shape_text(shape)}")
        if s.min_ndim is not None and rank < s.min_ndim:
            raise ValueError(f"{head}expected min_ndim={s.min_ndim}, found ndim={rank}. Full "
                             f"shape received: {_shape_text(shape)}")
        if s.max_ndim is not None and rank > s.max_ndim:
            raise ValueError(f"{head}expected max_ndim={s.max_ndim}, found ndim={rank}. Full "
                             f"shape received: {_shape_text(shape)}")
        dims = shape.as_list()
        for axis, value in s.axes.items():
            d = dims[axis] if -rank <= axis < rank else None
            if value is not None and d is not None and d != value:
                raise ValueError(f"{head}expected axis {axis} of input shape to have value "
                                 f"{value}, but received input with shape {_shape_text(shape)}")


def _autocast(x, dtype, kinds="fiub"):
    """Converts inputs to tensors; casts those whose NumPy kind is in `kinds` to `dtype`.

    As Keras 3: a float32 layer fed float64 NumPy data, or integers, computes in
    float32. Layers that need their integer inputs (Embedding) opt out.
    """
    if isinstance(x, Tensor):
        if x._is_symbolic:
            d = x._dtype
        else:
            d = dtypes.from_numpy(x._value.dtype)
        if d is not dtype and d._np.kind in kinds:
            return math_ops.cast(x, dtype)
        return x
    if getattr(x, "_is_variable", False):
        return x
    if isinstance(x, (np.ndarray, np.generic, list, tuple, float, int)):
        return _autocast(convert_to_tensor(x), dtype, kinds)
    return x


def _call_accepts(fn, arg: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Layer(Module):
    """Base class of all layers (and of Model).

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name; by default the snake-cased class name, numbered
            ('dense', 'dense_1', ...).
        dtype: the dtype of weights and computation (float inputs are cast to it).
        input_shape: the input shape without the batch dimension (lets a
            Sequential model build before it sees data).
    """

    _call_has_training = None     # per-class caches of call()'s signature
    _call_has_mask = None
    # Weights created while building are named '<layer>/<weight>:0'; Sequential and
    # functional models hold independent layers and build without a scope of their own.
    _scoped_build = True
    # NumPy kinds of inputs cast to the layer dtype on call ('f' float, 'i'/'u' int, 'b' bool).
    _autocast_kinds = "fiub"
    # False: inputs are passed to `call` as given (not converted to tensors, not cast).
    _autocast_inputs = True
    _checked_shape = None         # the last eager input shape that passed the InputSpec
    # Masks (see masking.py): pass the input's mask on unchanged; make a mask of one's own.
    supports_masking = False
    _makes_mask = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A user's layer written on Layer itself gets its integer and bool inputs as they
        # are (Keras casts only floating inputs); tapeflow's own layers cast all numbers.
        if not cls.__module__.startswith("tapeflow.") and "_autocast_kinds" not in cls.__dict__:
            own = next(c for c in cls.__mro__ if c.__module__.startswith("tapeflow."))
            if own is Layer:
                cls._autocast_kinds = "f"
        # A user's layer with a compute_mask of its own may make a mask from mask-less
        # inputs (tapeflow's own layers say so with `_makes_mask`).
        if "compute_mask" in cls.__dict__ and "_makes_mask" not in cls.__dict__ and \
                not cls.__module__.startswith("tapeflow."):
            cls._makes_mask = True
        # A layer is built once its build() has run, however it was called (by __call__ or
        # by hand): mark it, so that the next call does not build (and add weights) again.
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            @functools.wraps(build)
            def build_and_mark(self, *args, **kw):
                out = build(self, *args, **kw)
                d = self.__dict__
                d["built"] = True
                if d.get("_build_input_shape") is None and args:
                    d["_build_input_shape"] = args[0]
                deferred.notify(self)           # checkpoint values waiting for these weights
                return out
            build_and_mark._marks_built = True
            cls.build = build_and_mark

    def __init__(self, trainable=True, name=None, dtype=None, dynamic=False, input_shape=None,
                 batch_input_shape=None, input_dim=None, batch_size=None, **kwargs):
        weights = kwargs.pop("weights", None)
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        autocast = kwargs.pop("autocast", True)
        bad = set(kwargs) - {"input_length", "implementation"}    # legacy, meaningless here
        if bad:
            raise TypeError(f"Keyword argument not understood: {min(bad)!r} (layer "
                            f"{type(self).__name__}); expected one of trainable, name, dtype, "
                            "input_shape, batch_input_shape, weights, activity_regularizer")
        d = self.__dict__
        d["_initial_weights"] = weights
        if activity_regularizer is not None:
            from tapeflow.keras import regularizers
            activity_regularizer = regularizers.get(activity_regularizer)
        d["_activity_regularizer"] = activity_regularizer
        if not autocast:
            d["_autocast_kinds"] = ""
        d["_layers"] = []
        d["_tracked_variables"] = []
        d["_trainable_weights"] = []
        d["_non_trainable_weights"] = []
        d["_regularized"] = []
        d["_call_losses"] = []
        d["_inbound_nodes"] = []
        d["_trainable"] = bool(trainable)
        d["built"] = False
        d["input_spec"] = None
        d["_build_input_shape"] = None
        if isinstance(dtype, dict):     # a serialized dtype policy
            dtype = dtype.get("config", {}).get("name", "float32")
        d["_dtype"] = dtypes.as_dtype(dtype or backend.floatx())
        d["_name"] = name or backend.unique_object_name(backend.to_snake_case(type(self).__name__))
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        d["_batch_input_shape"] = None if batch_input_shape is None else tuple(batch_input_shape)
        cls = type(self)
        if cls.__dict__.get("_call_has_training") is None:
            cls._call_has_training = _call_accepts(cls.call, "training")
            cls._call_has_mask = _call_accepts(cls.call, "mask")

    # -- attribute tracking (subclassed models assign sublayers as attributes) ------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_layers" not in d and name[:1] != "_":
            raise RuntimeError(f"It looks like you are subclassing `{type(self).__name__}` and "
                               "forgot to call `super().__init__()`. Always start with this line.")
        if name == "input_spec":
            d["_checked_shape"] = None          # re-check inputs against the new spec
        if isinstance(value, Layer):
            if value is not self and not any(value is x for x in d["_layers"]):
                d["_layers"].append(value)
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, Layer) for v in value):
            for v in value:
                if not any(v is x for x in d["_layers"]):
                    d["_layers"].append(v)
        elif isinstance(value, Variable) and "_tracked_variables" in d:
            # Weights from add_weight are listed already; track only other Variables.
            if not any(value is v for v in d["_tracked_variables"] + d["_trainable_weights"]
                       + d["_non_trainable_weights"]):
                d["_tracked_variables"].append(value)
        object.__setattr__(self, name, value)

    # -- properties -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self) -> str:
        return self._dtype.name

    @property
    def compute_dtype(self) -> str:
        return self._dtype.name

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self.__dict__["_trainable"] = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def layers(self):
        return list(self._layers)

    def _flatten_layers(self):
        """This layer's sublayers, depth first, each once."""
        seen, out = set(), []

        def visit(layer):
            for sub in layer._layers:
                if id(sub) not in seen:
                    seen.add(id(sub))
                    out.append(sub)
                    visit(sub)
        visit(self)
        return out

    def _own_variables(self):
        return self._trainable_weights + self._non_trainable_weights + self._tracked_variables

    @property
    def trainable_weights(self) -> list:
        if not self._trainable:
            return []
        out = self._trainable_weights + [v for v in self._tracked_variables if v.trainable]
        for layer in self._layers:
            out += layer.trainable_weights
        return _dedup(out) if self._layers else out

    @property
    def non_trainable_weights(self) -> list:
        if not self._trainable:
            return self.weights
        out = self._non_trainable_weights + [v for v in self._tracked_variables
                                             if not v.trainable]
        for layer in self._layers:
            out += layer.non_trainable_weights
        return _dedup(out) if self._layers else out

    @property
    def weights(self) -> list:
        """All weights: trainable first, then non-trainable (Keras's order)."""
        own = self._own_variables()
        out = list(own)
        for layer in self._layers:
            out += layer.weights
        out = _dedup(out)
        if not self._trainable:
            return out
        trainable_ids = {id(v) for v in self.trainable_weights}
        return [v for v in out if id(v) in trainable_ids] + [
            v for v in out if id(v) not in trainable_ids]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def _module_attributes(self, key=None):
        # tf.Module walks (submodules, a Module holding this layer) see the weights in
        # Keras's order first; call-time bookkeeping is not part of the layer.
        skip = {"_trainable_weights", "_non_trainable_weights", "_tracked_variables",
                "_regularized", "_inbound_nodes", "_call_losses"}
        return [("weights", self.weights)] + [
            kv for kv in super()._module_attributes(key) if kv[0] not in skip]

    @property
    def losses(self) -> list:
        """Regularization penalties of the weights plus losses added during the last call."""
        out = []
        for layer in [self] + self._flatten_layers():
            for var, reg in layer._regularized:
                out.append(reg(var))
            out += layer._call_losses
        return out

    def add_loss(self, loss):
        """Adds a loss tensor (e.g. an activity penalty) to `layer.losses` for this call."""
        _call_ctx.losses_added = True
        self._call_losses.append(loss)

    # -- weights ------------------------------------------------------------------
    def add_weight(self, name=None, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable=True, constraint=None, **kwargs):
        """Creates a weight Variable named '<layer>/<name>:0' and tracks it.

        Accepts Keras 2's order (`add_weight('kernel', shape)`) and Keras 3's
        (`add_weight((3, 4), 'zeros')`): a first argument that is a shape is the shape.
        """
        if isinstance(name, (tuple, list, TensorShape)):
            name, shape, initializer = None, name, initializer if shape is None else shape
        shape = () if shape is None else tuple(int(s) for s in shape)
        dtype = dtypes.as_dtype(dtype or self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating else "zeros"
        init = initializers.get(initializer)
        if constraint is not None:
            from tapeflow.keras import constraints
            constraint = constraints.get(constraint)
        with init_scope():
            value = init(shape, dtype=dtype)
            var = Variable(value, name=name or "Variable", trainable=trainable, dtype=dtype,
                           constraint=constraint)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        if regularizer is not None:
            from tapeflow.keras import regularizers
            self._regularized.append((var, regularizers.get(regularizer)))
        return var

    add_variable = add_weight

    def get_weights(self) -> list:
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Sets every weight from a list of arrays; checks all before changing any."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f'Layer "{self.name}" expects {len(params)} weight arrays, but '
                             f"received {len(weights)}.")
        arrays = []
        for p, w in zip(params, weights):
            a = np.asarray(w)
            if tuple(a.shape) != tuple(p.shape.as_list()):
                raise ValueError(f'Layer "{self.name}" weight {p.name} has shape '
                                 f"{tuple(p.shape.as_list())}; received a value of shape "
                                 f"{a.shape}.")
            arrays.append(a)
        for p, a in zip(params, arrays):
            np.copyto(p._value, a, casting="unsafe")

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the "
                             "layer isn't built. You can build it manually via: "
                             "`layer.build(batch_input_shape)`.")
        return int(sum(np.prod(v.shape.as_list(), dtype=np.int64) for v in self.weights))

    # -- the Keras contract --------------------------------------------------------
    def build(self, input_shape) -> None:
        """Creates the weights; the default layer has none."""
        self.__dict__["built"] = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def compute_output_shape(self, input_shape):
        """Output shape for `input_shape`, found by running `call` symbolically."""
        def placeholder(s):
            return SymbolicTensor(TensorShape(s), self._dtype, KERAS_GRAPH)
        shapes = input_shape
        if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple,
                                                                                 TensorShape)):
            ins = [placeholder(s) for s in shapes]
        else:
            ins = placeholder(shapes)
        saved = state.graph, state.tapes
        state.graph, state.tapes = KERAS_GRAPH, []
        try:
            if not self.built:
                self._maybe_build(ins)
            out = self.call(ins)
        finally:
            state.graph, state.tapes = saved
        return nest.map_structure(lambda t: t.shape, out)

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._activity_regularizer is not None:
            from tapeflow.keras import regularizers
            config["activity_regularizer"] = regularizers.serialize(self._activity_regularizer)
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        if self._build_input_shape is None:
            return None
        return {"input_shape": _shape_to_json(self._build_input_shape)}

    def build_from_config(self, config):
        if config and not self.built:
            with name_scope(self._name if self._scoped_build else ""):
                self._maybe_build_shape(_shape_from_json(config["input_shape"]))

    # -- calling ---------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # 1. Functional build: Keras tensors in -> record the call, symbolic tensors out.
        inputs = args[0] if args else kwargs.pop("inputs")
        rest = args[1:]
        if _any_keras_tensor(inputs, rest, kwargs):
            return self._symbolic_call(inputs, rest, kwargs)
        # 2. Numeric inputs take the layer's dtype (NumPy float64 data -> float32).
        dtype, kinds = self._dtype, self._autocast_kinds
        if type(inputs) is Tensor:
            if inputs._value.dtype is not dtype._np and inputs._value.dtype.kind in kinds:
                inputs = math_ops.cast(inputs, dtype)
        elif self._autocast_inputs:
            inputs = nest.map_structure(lambda x: _autocast(x, dtype, kinds), inputs)
        # 3. `training`: explicit, or inherited from the enclosing call.
        ctx = _call_ctx
        training = kwargs.get("training")
        if training is None:
            training = ctx.training
        if self._call_has_training:
            kwargs["training"] = training
        elif "training" in kwargs:
            del kwargs["training"]
        saved_training = ctx.training
        ctx.training = training
        outermost = ctx.depth == 0
        ctx.depth += 1
        try:
            if outermost and ctx.losses_added:
                self._clear_call_losses()
            # 4. Build once, from the first input's shape, in this layer's name scope.
            if not self.built:
                with name_scope(self._name if self._scoped_build else ""):
                    self._maybe_build(inputs)
                    if self.input_spec is not None:
                        check_input_spec(self._name, self.input_spec, inputs)
                    return self._run_call(inputs, rest, kwargs)
            # 5. Check the input against what the layer was built for (once per new shape).
            if self.input_spec is not None:
                if type(inputs) is Tensor:
                    shape = inputs._value.shape
                    if shape != self._checked_shape:
                        check_input_spec(self._name, self.input_spec, inputs)
                        self.__dict__["_checked_shape"] = shape
                else:
                    check_input_spec(self._name, self.input_spec, inputs)
            if self._activity_regularizer is not None or self._makes_mask or _MASKS:
                return self._run_call(inputs, rest, kwargs)
            return self.call(inputs, *rest, **kwargs)
        finally:
            ctx.depth -= 1
            ctx.training = saved_training

    def _run_call(self, inputs, rest, kwargs):
        """`call` with the input's mask passed in, the output's mask attached and the
        activity penalty added (the plain path skips this when none applies)."""
        mask = masking.input_mask(inputs) if _MASKS else None
        if mask is not None and self._call_has_mask and "mask" not in kwargs:
            kwargs["mask"] = mask
        outputs = self.call(inputs, *rest, **kwargs)
        if mask is not None or self._makes_mask:
            masking.attach(outputs, self.compute_mask(inputs, mask))
        if self._activity_regularizer is not None:
            self._activity_loss(outputs)
        return outputs

    def compute_mask(self, inputs, mask=None):
        """The output's mask: the input's, for layers that support masking."""
        return mask if self.supports_masking else None

    def _activity_loss(self, outputs):
        """Adds activity_regularizer(outputs) / batch size to the losses (as Keras)."""
        for out in nest.flatten(outputs):
            penalty = self._activity_regularizer(out)
            if out._is_symbolic:
                batch = math_ops.cast(array_ops.shape(out)[0], out.dtype)
            else:
                batch = float(out._value.shape[0]) if out._value.ndim else 1.0
            self.add_loss(penalty / batch)
        return outputs

    def _clear_call_losses(self):
        _call_ctx.losses_added = False
        self._call_losses.clear()
        for layer in self._flatten_layers():
            layer._call_losses.clear()

    def _maybe_build(self, inputs):
        shapes = nest.map_structure(lambda x: x.shape, inputs)
        self._maybe_build_shape(shapes)

    def _maybe_build_shape(self, shapes):
        if self.built:
            return
        self.__dict__["_build_input_shape"] = shapes
        with init_scope():
            self.build(shapes)
        self.__dict__["built"] = True
        if self._initial_weights is not None:       # Layer(weights=[...])
            self.set_weights(self._initial_weights)
            self.__dict__["_initial_weights"] = None

    def _symbolic_call(self, inputs, rest, kwargs):
        saved_graph, saved_tapes = state.graph, state.tapes
        state.graph, state.tapes = KERAS_GRAPH, []
        ctx = _call_ctx
        saved_training, ctx.depth = ctx.training, ctx.depth + 1
        if "training" in kwargs:
            ctx.training = kwargs["training"]
        call_kwargs = dict(kwargs)
        if self._call_has_training:
            call_kwargs.setdefault("training", ctx.training)
        else:
            call_kwargs.pop("training", None)
        try:
            dtype = self._dtype
            kinds = self._autocast_kinds
            cast_inputs = nest.map_structure(lambda x: _autocast(x, dtype, kinds), inputs) \
                if self._autocast_inputs else inputs
            if not self.built:
                with name_scope(self._name if self._scoped_build else ""):
                    self._maybe_build(cast_inputs)
            if self.input_spec is not None:
                check_input_spec(self._name, self.input_spec, cast_inputs)
            mask = masking.input_mask(inputs) if _MASKS else None
            if mask is not None and self._call_has_mask and "mask" not in call_kwargs:
                call_kwargs["mask"] = mask
            outputs = self.call(cast_inputs, *rest, **call_kwargs)
            # A layer that returns one of its inputs unchanged (Dropout at inference)
            # still needs an output of its own to carry this call's history.
            in_ids = {id(x) for x in nest.flatten((inputs, cast_inputs))}
            outputs = nest.map_structure(
                lambda t: array_ops.identity(t) if id(t) in in_ids or (
                    isinstance(t, SymbolicTensor) and t._keras_history is not None) else t,
                outputs)
            if mask is not None or self._makes_mask:
                masking.attach(outputs, self.compute_mask(cast_inputs, mask))
        finally:
            state.graph, state.tapes = saved_graph, saved_tapes
            ctx.training, ctx.depth = saved_training, ctx.depth - 1
        node = KerasNode(self, (inputs,) + tuple(rest), kwargs, outputs)
        self._inbound_nodes.append(node)
        for i, t in enumerate(nest.flatten(outputs)):
            if isinstance(t, SymbolicTensor):
                t._keras_history = (self, len(self._inbound_nodes) - 1, i)
        return outputs

    # -- introspection used by summary() ---------------------------------------------------
    @property
    def output_shape(self):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer '{self.name}' has never been called and thus has "
                                 "no defined output shape.")
        shapes = {repr(_shape_tuple(n.output_shapes)) for n in self._inbound_nodes}
        if len(shapes) > 1:
            raise AttributeError(f"The layer '{self.name}' has multiple inbound nodes with "
                                 "different output shapes.")
        return _shape_tuple(self._inbound_nodes[0].output_shapes)

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no input to return.")
        ins = self._inbound_nodes[0].flat_inputs
        return ins[0] if len(ins) == 1 else ins

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} has no inbound nodes.")
        return self._inbound_nodes[0].outputs

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _dedup(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _any_keras_tensor(inputs, rest, kwargs) -> bool:
    if isinstance(inputs, SymbolicTensor):
        return inputs.graph is KERAS_GRAPH
    if type(inputs) is Tensor and not rest and not kwargs:
        return False
    for x in nest.flatten((inputs, rest, kwargs)):
        if isinstance(x, SymbolicTensor) and x.graph is KERAS_GRAPH:
            return True
    return False


def _shape_tuple(shapes):
    """TensorShape (or a structure of them) -> tuple(s) with None for unknown dims."""
    if isinstance(shapes, TensorShape):
        return tuple(shapes.as_list()) if shapes.rank is not None else None
    if isinstance(shapes, dict):
        return {k: _shape_tuple(v) for k, v in shapes.items()}
    return [_shape_tuple(s) for s in shapes]


def _shape_to_json(shapes):
    if isinstance(shapes, TensorShape):
        return shapes.as_list()
    if isinstance(shapes, (list, tuple)):
        return [_shape_to_json(s) for s in shapes]
    if isinstance(shapes, dict):
        return {k: _shape_to_json(v) for k, v in shapes.items()}
    return shapes


def _shape_from_json(obj):
    if isinstance(obj, list) and all(d is None or isinstance(d, int) for d in obj):
        return TensorShape(obj)
    if isinstance(obj, list):
        return [_shape_from_json(s) for s in obj]
    if isinstance(obj, dict):
        return {k: _shape_from_json(v) for k, v in obj.items()}
    return obj
