"""`keras.losses`: loss classes, functions and their string aliases.

Each function returns one loss per example; the classes reduce them
('sum_over_batch_size': the weighted sum divided by the number of values).
With `from_logits=False` probabilities are clipped to [eps, 1 - eps]
(eps = 1e-7) before the log, as Keras does; but when the probabilities come
straight from a softmax (sigmoid) activation, the cross-entropies compute from
its logits instead, as Keras 3 does (`_keras_logits`): stable, unclipped, and
a cheaper gradient.

    >>> import tapeflow as tf
    >>> loss = tf.keras.losses.SparseCategoricalCrossentropy()
    >>> round(float(loss([1], [[0.2, 0.8]])), 5)
    0.22314
"""
from __future__ import annotations

from tapeflow.framework import dtypes
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import is_tensor
from tapeflow.keras import activations
from tapeflow.ops import array_ops, math_ops, nn_ops, reduce_ops

EPSILON = 1e-7


class Reduction:
    """The reduction names Keras accepts."""

    AUTO = "sum_over_batch_size"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"
    _ALL = ("sum_over_batch_size", "sum", "none", "auto", None)


def _as_tensor(x):
    if is_tensor(x):
        return x
    return convert_to_tensor(x)


def _float_pred(y_pred):
    y_pred = _as_tensor(y_pred)
    if not y_pred.dtype.is_floating:
        return math_ops.cast(y_pred, dtypes.float32)
    return y_pred


def _shape_str(t) -> str:
    s = t.shape
    return str(tuple(s.as_list())) if s.rank is not None else "<unknown>"


def _match_ranks(name, y_true, y_pred):
    """Squeezes a trailing size-1 axis so that ranks agree; checks the shapes fit."""
    rt, rp = y_true.shape.rank, y_pred.shape.rank
    if rt is not None and rp is not None:
        if rt == rp + 1 and y_true.shape[-1] == 1:
            y_true = array_ops.squeeze(y_true, -1)
        elif rp == rt + 1 and y_pred.shape[-1] == 1:
            y_pred = array_ops.squeeze(y_pred, -1)
        if not y_true.shape.is_compatible_with(y_pred.shape):
            raise ValueError(f"{name}: y_true and y_pred must have the same shape; received "
                             f"y_true of shape {_shape_str(y_true)} and y_pred of shape "
                             f"{_shape_str(y_pred)}")
    return y_true, y_pred


def _cast_like(y_true, y_pred):
    return y_true if y_true.dtype is y_pred.dtype else math_ops.cast(y_true, y_pred.dtype)


# -- loss functions (one value per example) ------------------------------------------------

def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1,
                                    ignore_class=None):
    """Cross-entropy of integer class ids `y_true` (shape (N,) or (N, 1)) against
    class scores `y_pred` (N, C): probabilities, or logits with from_logits=True."""
    y_pred = _float_pred(y_pred)
    y_true = _as_tensor(y_true)
    pr, tr = y_pred.shape.rank, y_true.shape.rank
    if pr is not None and tr is not None:
        if tr == pr and y_true.shape[-1] == 1:
            y_true = array_ops.squeeze(y_true, -1)
            tr -= 1
        if tr != pr - 1 or not y_true.shape.is_compatible_with(y_pred.shape[:-1]):
            want = tuple(y_pred.shape.as_list()[:-1])
            raise ValueError(
                f"sparse_categorical_crossentropy: expected y_true to hold one class index per "
                f"example, of shape {want} or {want + (1,)}, for y_pred of shape "
                f"{_shape_str(y_pred)}; received y_true of shape {_shape_str(y_true)} "
                f"({y_true.dtype.name}). For one-hot labels use categorical_crossentropy.")
    if not y_true.dtype.is_integer:
        y_true = math_ops.cast(y_true, dtypes.int64)
    if not from_logits and axis == -1:
        logits = activations.logits_of(y_pred, "softmax")
        if logits is not None:
            return nn_ops.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=logits)
    if from_logits:
        logits = y_pred
    else:
        # log of clipped probabilities, then a log-softmax over them: Keras's formulation.
        logits = math_ops.log(math_ops.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON))
    return nn_ops.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=logits)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy of one-hot (or probability) labels against scores of the same shape."""
    y_pred = _float_pred(y_pred)
    y_true = _cast_like(_as_tensor(y_true), y_pred)
    if not y_true.shape.is_compatible_with(y_pred.shape):
        raise ValueError(f"categorical_crossentropy: y_true and y_pred must have the same shape "
                         f"(one-hot labels); received y_true of shape {_shape_str(y_true)} and "
                         f"y_pred of shape {_shape_str(y_pred)}. For integer class labels use "
                         "sparse_categorical_crossentropy.")
    if label_smoothing:
        n = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    if not from_logits:
        logits = activations.logits_of(y_pred, "softmax") if axis == -1 else None
        if logits is not None:
            y_pred, from_logits = logits, True
    if from_logits:
        return nn_ops.softmax_cross_entropy_with_logits(y_true, y_pred, axis=axis)
    p = y_pred / reduce_ops.reduce_sum(y_pred, axis=axis, keepdims=True)
    p = math_ops.clip_by_value(p, EPSILON, 1.0 - EPSILON)
    return -reduce_ops.reduce_sum(y_true * math_ops.log(p), axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over the last axis of the binary cross-entropy of labels in [0, 1]."""
    y_pred = _float_pred(y_pred)
    if not from_logits:
        logits = activations.logits_of(y_pred, "sigmoid")
        if logits is not None:
            y_pred, from_logits = logits, True
    y_true = _cast_like(_as_tensor(y_true), y_pred)
    y_true, y_pred = _match_ranks("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = nn_ops.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    else:
        p = math_ops.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * math_ops.log(p) + (1.0 - y_true) * math_ops.log(1.0 - p))
    return reduce_ops.reduce_mean(bce, axis=axis)


def _regression(name):
    def prepare(y_true, y_pred):
        y_pred = _float_pred(y_pred)
        y_true = _cast_like(_as_tensor(y_true), y_pred)
        return _match_ranks(name, y_true, y_pred)
    return prepare


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _regression("mean_squared_error")(y_true, y_pred)
    return reduce_ops.reduce_mean(math_ops.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _regression("mean_absolute_error")(y_true, y_pred)
    return reduce_ops.reduce_mean(math_ops.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _regression("mean_absolute_percentage_error")(y_true, y_pred)
    diff = math_ops.abs((y_true - y_pred) / math_ops.maximum(math_ops.abs(y_true), EPSILON))
    return 100.0 * reduce_ops.reduce_mean(diff, axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """0.5 x^2 where |x| <= delta, else delta (|x| - 0.5 delta); mean over the last axis."""
    y_true, y_pred = _regression("huber")(y_true, y_pred)
    err = math_ops.abs(y_pred - y_true)
    quad = math_ops.minimum(err, delta)
    return reduce_ops.reduce_mean(0.5 * quad * quad + delta * (err - quad), axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = _regression("kl_divergence")(y_true, y_pred)
    y_true = math_ops.clip_by_value(y_true, EPSILON, 1.0)
    y_pred = math_ops.clip_by_value(y_pred, EPSILON, 1.0)
    return reduce_ops.reduce_sum(y_true * math_ops.log(y_true / y_pred), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
kld = KLD = kl_divergence


# -- classes --------------------------------------------------------------------------------

def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Applies optional per-example weights and the reduction."""
    if sample_weight is not None:
        sw = _cast_like(_as_tensor(sample_weight), values)
        if sw.shape.rank is not None and values.shape.rank is not None and (
                sw.shape.rank > values.shape.rank):
            sw = array_ops.reshape(sw, array_ops.shape(values)) if sw.shape.num_elements() == \
                values.shape.num_elements() else sw
        values = values * sw
    if reduction in ("none", None):
        return values
    total = reduce_ops.reduce_sum(values)
    if reduction == "sum":
        return total
    if values._is_symbolic:
        n = math_ops.cast(array_ops.size(values), values.dtype)
        return math_ops.divide_no_nan(total, n)
    n = values._value.size
    return total / float(n) if n else total * 0.0


class Loss:
    """Base class: `call(y_true, y_pred)` gives per-example losses; `__call__` reduces them."""

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        if reduction == "auto":
            reduction = "sum_over_batch_size"
        if reduction not in Reduction._ALL:
            raise ValueError(f"Invalid value for argument `reduction`: expected one of "
                             f"'sum_over_batch_size', 'sum', 'none'; received {reduction!r}")
        self.reduction = reduction
        self.name = name or _snake(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return reduce_values(self.call(y_true, y_pred), sample_weight, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _snake(name):
    from tapeflow.keras.backend import to_snake_case
    return to_snake_case(name)


class LossFunctionWrapper(Loss):
    """A Loss from a per-example function and its keyword arguments."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(reduction=reduction, name=name)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _wrapper_class(class_name, fn, default_name, **defaults):
    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, **kwargs):
        params = dict(defaults)
        for key, value in zip(defaults, args):
            params[key] = value
        for key, value in kwargs.items():
            if key not in defaults and key != "dtype":
                raise TypeError(f"{class_name}: unexpected keyword argument {key!r}; expected "
                                f"one of {sorted(defaults) + ['reduction', 'name']}")
            if key in defaults:
                params[key] = value
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, **params)

    cls = type(class_name, (LossFunctionWrapper,), {"__init__": __init__})
    cls.__doc__ = f"Loss class of `{fn.__name__}` (defaults: {defaults or 'none'})."
    return cls


SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy", from_logits=False, ignore_class=None)
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    from_logits=False, label_smoothing=0.0, axis=-1)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    from_logits=False, label_smoothing=0.0, axis=-1)
MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error,
                                   "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error")
Huber = _wrapper_class("Huber", huber, "huber_loss", delta=1.0)
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence")

_ALIASES = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError, "huber": Huber, "huber_loss": Huber,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
}
_CLASSES = {c.__name__: c for c in set(_ALIASES.values())}


def get(identifier):
    """A loss from a string alias ('mse', 'sparse_categorical_crossentropy'), a config dict,
    a Loss instance or a callable `fn(y_true, y_pred)`."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown loss function: {identifier!r}. Expected one of "
                             f"{sorted(_ALIASES)}, a keras.losses.Loss instance or a callable.")
        return cls()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown loss class {identifier.get('class_name')!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return LossFunctionWrapper(identifier, name=getattr(identifier, "__name__", "loss"))
    raise TypeError(f"Could not interpret loss identifier: expected a string, a Loss or a "
                    f"callable, received {identifier!r} of type {type(identifier).__name__}")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


deserialize = get
