"""What `compile` sets up: the loss (one per output, weighted) and the metrics.

Single-output models use the names Keras prints ('loss', 'accuracy');
multi-output models also log each output's loss and metrics prefixed with the
output layer's name ('dense_1_loss', 'dense_1_accuracy').
"""
from __future__ import annotations

from tapeflow.keras import losses as losses_mod
from tapeflow.keras import metrics as metrics_mod
from tapeflow.ops import array_ops, math_ops
from tapeflow.utils import nest


def _per_output(spec, output_names, what):
    """A list with one entry per output from a single value, a list or a dict by name."""
    n = len(output_names)
    if isinstance(spec, dict):
        unknown = set(spec) - set(output_names)
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {sorted(unknown)}. Only "
                             f"expected the model's output names {output_names}")
        return [spec.get(name) for name in output_names]
    if isinstance(spec, (list, tuple)) and what != "metrics" or (
            what == "metrics" and isinstance(spec, (list, tuple)) and spec
            and all(isinstance(s, (list, tuple)) for s in spec)):
        if len(spec) != n:
            raise ValueError(f"When passing a list as {what}, it should have one entry per "
                             f"model output: the model has {n} outputs, received {len(spec)} "
                             f"entries")
        return list(spec)
    return [spec] * n


def _per_output_values(values, output_names):
    """Targets or predictions, one per output: a dict is read by output name."""
    if len(output_names) == 1:
        if isinstance(values, dict) and len(values) == 1:
            return list(values.values())
        return [values]
    if isinstance(values, dict):
        missing = [n for n in output_names if n not in values]
        if missing:
            raise ValueError(f"The targets are a dict without entries for the outputs "
                             f"{missing}; expected one entry per output name {output_names}, "
                             f"received keys {sorted(values)}")
        return [values[n] for n in output_names]
    return nest.flatten(values)


def _batch_size(t):
    """The number of examples in `t` (a float, or a float32 scalar tensor when traced)."""
    if t._is_symbolic:
        if t.shape.rank and t.shape[0] is not None:
            return float(t.shape[0])
        return math_ops.cast(array_ops.shape(t)[0], "float32")
    return float(t._value.shape[0]) if t._value.ndim else 1.0


class LossesContainer:
    """The compiled loss: sum over outputs of weight * loss(y_true, y_pred)."""

    def __init__(self, loss, loss_weights=None, output_names=("output_1",)):
        self._spec = loss
        self._weights_spec = loss_weights
        self.output_names = list(output_names)
        self.losses = [losses_mod.get(x) for x in _per_output(loss, self.output_names, "loss")]
        weights = _per_output(loss_weights, self.output_names, "loss_weights") \
            if loss_weights is not None else [1.0] * len(self.output_names)
        self.loss_weights = [1.0 if w is None else float(w) for w in weights]
        self.tracker = metrics_mod.Mean(name="loss")
        multi = len(self.output_names) > 1
        self.per_output_trackers = [metrics_mod.Mean(name=f"{name}_loss") if multi and fn else None
                                    for name, fn in zip(self.output_names, self.losses)]

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        y_true = _per_output_values(y_true, self.output_names)
        y_pred = _per_output_values(y_pred, self.output_names)
        if len(y_true) != len(y_pred):
            raise ValueError(f"The model has {len(y_pred)} outputs but {len(y_true)} targets "
                             "were given")
        batch = _batch_size(y_pred[0])
        total = None
        for fn, w, yt, yp, tracker in zip(self.losses, self.loss_weights, y_true, y_pred,
                                          self.per_output_trackers):
            if fn is None:
                continue
            value = fn(yt, yp, sample_weight)
            if tracker is not None:
                tracker.update_state(value, sample_weight=batch)
            value = value * w if w != 1.0 else value
            total = value if total is None else total + value
        if total is None:
            raise ValueError("The model was compiled without a loss for any output; pass "
                             "`loss=` to compile() or override train_step().")
        if regularization_losses:
            total = total + math_ops.add_n(regularization_losses) if len(
                regularization_losses) > 1 else total + regularization_losses[0]
        # Weighted by the batch size, as Keras: a partial last batch counts for what it holds.
        self.tracker.update_state(total, sample_weight=batch)
        return total

    @property
    def metrics(self):
        return [self.tracker] + [t for t in self.per_output_trackers if t is not None]


class MetricsContainer:
    """The compiled metrics, updated per output.

    `metrics` ignore sample weights and `weighted_metrics` use them, as in Keras.
    """

    def __init__(self, metrics, output_names, losses, weighted_metrics=None):
        self.output_names = list(output_names)
        self.metrics_per_output = [[] for _ in self.output_names]     # (metric, weighted)
        for spec_all, weighted in ((metrics, False), (weighted_metrics, True)):
            if not spec_all:
                continue
            per_output = _per_output(spec_all, self.output_names, "metrics")
            for i, (name, spec, loss) in enumerate(zip(self.output_names, per_output, losses)):
                specs = spec if isinstance(spec, (list, tuple)) else ([spec] if spec else [])
                for s in specs:
                    m = metrics_mod.get(s, loss=loss)
                    if isinstance(s, str):      # logged by the name given ('mae'), as Keras 3
                        m.name = s
                    if weighted and isinstance(s, str):
                        m.name = f"weighted_{m.name}"
                    if len(self.output_names) > 1:
                        m.name = f"{name}_{m.name}"
                    self.metrics_per_output[i].append((m, weighted))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _per_output_values(y_true, self.output_names)
        y_pred = _per_output_values(y_pred, self.output_names)
        for ms, yt, yp in zip(self.metrics_per_output, y_true, y_pred):
            for m, weighted in ms:
                m.update_state(yt, yp, sample_weight=sample_weight if weighted else None)

    @property
    def metrics(self):
        return [m for ms in self.metrics_per_output for m, _ in ms]
