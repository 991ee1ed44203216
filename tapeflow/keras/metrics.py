"""`keras.metrics`: stateful metrics whose state lives in Variables.

`update_state` changes the state with `assign_add` (so it also runs inside
`tf.function`), `result()` returns a float32 scalar Tensor, `reset_state()`
zeroes it. Calling a metric updates it and returns the result, as in TF:

    >>> import tapeflow as tf
    >>> acc = tf.keras.metrics.SparseCategoricalAccuracy()
    >>> _ = acc([1, 0], [[0.1, 0.9], [0.3, 0.7]])
    >>> '{:.5f}'.format(acc.result())
    '0.50000'
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope, state
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import Tensor, is_tensor
from tapeflow.framework.variables import Variable
from tapeflow.keras import backend, losses
from tapeflow.ops import array_ops, math_ops, reduce_ops

_F32 = dtypes.float32


def _t(x):
    if is_tensor(x):
        return x
    return convert_to_tensor(x)


def _size(values):
    if values._is_symbolic:
        return math_ops.cast(array_ops.size(values), _F32)
    return float(values._value.size)


# Set by tapeflow.distribute: a Reduce metric made in a multi-worker scope reads its
# state summed over the workers (or None: the local result).
_cross_replica_result = None

class Metric:
    """Base class: override `update_state` and `result`; add state with `add_variable`."""

    def __init__(self, name=None, dtype=None):
        self.name = name or backend.to_snake_case(type(self).__name__)
        self._dtype = dtypes.as_dtype(dtype or "float32")
        self._variables = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None):
        with init_scope():
            v = Variable(np.zeros(shape, dtypes.as_dtype(dtype or self._dtype)._np),
                         trainable=False, name=f"{self.name}/{name}" if name else self.name)
        self._variables.append(v)
        return v

    add_weight = add_variable

    @property
    def variables(self):
        return list(self._variables)

    weights = variables

    @property
    def dtype(self):
        return self._dtype.name

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        for v in self._variables:
            v.assign(np.zeros(v.shape.as_list(), v.dtype._np))

    reset_states = reset_state

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Reduce(Metric):
    def __init__(self, reduction, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._reduction = reduction
        self.total = self.add_variable(name="total")
        if reduction == "mean":
            self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        if state.graph is None and type(values) is Tensor and (
                sample_weight is None or type(sample_weight) is float):
            # Eager fast path: the same in-place additions assign_add makes, without ops.
            v = values._value
            w = 1.0 if sample_weight is None else sample_weight
            total = self.total._value
            total += np.asarray(v, total.dtype).sum(dtype=total.dtype) * total.dtype.type(w)
            if self._reduction == "mean":
                count = self.count._value
                count += count.dtype.type(v.size * w)
            return
        values = _t(values)
        if values.dtype is not self._dtype:
            values = math_ops.cast(values, self._dtype)
        if sample_weight is not None:
            sw = math_ops.cast(_t(sample_weight), self._dtype)
            if sw.shape.rank is not None and values.shape.rank is not None and \
                    sw.shape.rank < values.shape.rank:
                values = reduce_ops.reduce_mean(values, axis=list(range(sw.shape.rank,
                                                                        values.shape.rank)))
            values = values * sw
            self.total.assign_add(reduce_ops.reduce_sum(values))
            if self._reduction == "mean":
                self.count.assign_add(reduce_ops.reduce_sum(sw * array_ops.ones_like(values)))
            return
        self.total.assign_add(reduce_ops.reduce_sum(values))
        if self._reduction == "mean":
            self.count.assign_add(_size(values))

    def result(self):
        if _cross_replica_result is not None:     # tf.distribute: summed over workers
            synced = _cross_replica_result(self)
            if synced is not None:
                return synced
        if self._reduction == "sum":
            return self.total.read_value()
        return math_ops.divide_no_nan(self.total.read_value(), self.count.read_value())


class Mean(Reduce):
    """The (weighted) mean of all values given so far."""

    def __init__(self, name="mean", dtype=None):
        super().__init__("mean", name=name, dtype=dtype)


class Sum(Reduce):
    """The (weighted) sum of all values given so far."""

    def __init__(self, name="sum", dtype=None):
        super().__init__("sum", name=name, dtype=dtype)


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` over all examples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or fn.__name__, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


# -- per-example metric functions ------------------------------------------------------------

def _squeeze_labels(y_true, y_pred):
    """Labels (N, 1) against predictions (N, C) -> labels (N,)."""
    if (y_true.shape.rank is not None and y_pred.shape.rank is not None
            and y_true.shape.rank == y_pred.shape.rank and y_true.shape[-1] == 1):
        return array_ops.squeeze(y_true, -1)
    return y_true


def accuracy(y_true, y_pred):
    """1.0 where y_true == y_pred exactly."""
    y_true, y_pred = _t(y_true), _t(y_pred)
    if y_true.dtype is not y_pred.dtype:
        y_pred = math_ops.cast(y_pred, y_true.dtype)
    return math_ops.cast(math_ops.equal(y_true, y_pred), _F32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals the argmax of the class scores."""
    y_true, y_pred = _t(y_true), _t(y_pred)
    y_true = _squeeze_labels(y_true, y_pred)
    pred = reduce_ops.argmax(y_pred, axis=-1)
    if y_true.dtype is not pred.dtype:
        pred = math_ops.cast(pred, y_true.dtype)
    return math_ops.cast(math_ops.equal(y_true, pred), _F32)


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot labels)."""
    y_true, y_pred = _t(y_true), _t(y_pred)
    return math_ops.cast(math_ops.equal(reduce_ops.argmax(y_true, axis=-1),
                                        reduce_ops.argmax(y_pred, axis=-1)), _F32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of (y_pred > threshold) == y_true."""
    y_true, y_pred = _t(y_true), _t(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = math_ops.cast(y_pred, _F32)
    y_true = math_ops.cast(y_true, y_pred.dtype)
    y_true, y_pred = losses._match_ranks("binary_accuracy", y_true, y_pred)
    pred = math_ops.cast(y_pred > threshold, y_pred.dtype)
    return reduce_ops.reduce_mean(math_ops.cast(math_ops.equal(y_true, pred), _F32), axis=-1)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the label's score is among the k largest (ties count as in)."""
    y_true, y_pred = _t(y_true), _t(y_pred)
    y_true = _squeeze_labels(y_true, y_pred)
    if not y_true.dtype.is_integer:
        y_true = math_ops.cast(y_true, dtypes.int64)
    onehot = array_ops.one_hot(y_true, y_pred.shape[-1], dtype=y_pred.dtype)
    true_score = reduce_ops.reduce_sum(y_pred * onehot, axis=-1, keepdims=True)
    better = reduce_ops.reduce_sum(math_ops.cast(y_pred > true_score, _F32), axis=-1)
    return math_ops.cast(better < float(k), _F32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return sparse_top_k_categorical_accuracy(reduce_ops.argmax(_t(y_true), axis=-1), y_pred, k)


def _wrapper(class_name, fn, default_name, **defaults):
    def __init__(self, name=default_name, dtype=None, **kwargs):
        params = {**defaults, **kwargs}
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **params)
    return type(class_name, (MeanMetricWrapper,), {
        "__init__": __init__, "__doc__": f"Mean of `{fn.__name__}` over all examples seen."})


Accuracy = _wrapper("Accuracy", accuracy, "accuracy")
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                     "sparse_categorical_accuracy")
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy,
                               "categorical_accuracy")
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, "binary_accuracy", threshold=0.5)
SparseTopKCategoricalAccuracy = _wrapper(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy", k=5)
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   "top_k_categorical_accuracy", k=5)
MeanSquaredError = _wrapper("MeanSquaredError", losses.mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", losses.mean_absolute_error,
                             "mean_absolute_error")


class AutoAccuracy(MeanMetricWrapper):
    """'accuracy' in compile(): binary, sparse categorical or categorical accuracy, chosen
    from the shapes of the first batch (Keras's rule)."""

    def __init__(self, name="accuracy", dtype=None, loss=None):
        super().__init__(self._pick, name=name, dtype=dtype)
        fixed = {"sparse_categorical_crossentropy": sparse_categorical_accuracy,
                 "categorical_crossentropy": categorical_accuracy,
                 "binary_crossentropy": binary_accuracy}
        self._chosen = fixed.get(getattr(getattr(loss, "fn", None), "__name__", None))

    def _pick(self, y_true, y_pred):
        if self._chosen is None:
            y_true, y_pred = _t(y_true), _t(y_pred)
            ts, ps = y_true.shape, y_pred.shape
            pred_last_1 = ps.rank is not None and ps.rank >= 1 and ps[-1] == 1
            true_rank_1 = ts.rank == 1 or (ts.rank is not None and ts.rank >= 1 and ts[-1] == 1)
            if pred_last_1:
                self._chosen = binary_accuracy
            elif true_rank_1:
                self._chosen = sparse_categorical_accuracy
            else:
                self._chosen = categorical_accuracy
        return self._chosen(y_true, y_pred)


_ALIASES = {
    "accuracy": Accuracy, "acc": Accuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "binary_accuracy": BinaryAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
}


def get(identifier, loss=None):
    """A metric from a string ('accuracy' picks the accuracy that fits the loss), a Metric,
    or a function `fn(y_true, y_pred)` (averaged over examples)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return AutoAccuracy(name=identifier, loss=loss)
        cls = _ALIASES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown metric function: {identifier!r}. Expected one of "
                             f"{sorted(_ALIASES)}, a keras.metrics.Metric or a callable.")
        return cls()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", "metric"))
    raise TypeError(f"Could not interpret metric identifier: expected a string, a Metric or "
                    f"a callable, received {identifier!r} of type {type(identifier).__name__}")
