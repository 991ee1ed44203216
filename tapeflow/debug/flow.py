"""Gradient flow: per-layer gradient statistics, and charts of them (matplotlib).

`gradient_flow(model, grads)` groups gradients by layer (the part of a Variable's name
before its last '/': 'dense_1/kernel:0' -> 'dense_1') and gives each layer's gradient
norm, mean and largest magnitude and the fraction of its units whose gradient is exactly
zero ("dead" units: a ReLU that never fires, an output never used). `plot()` draws them,
one bar per layer on a log scale, so a vanishing layer (norm 1e-9) or an exploding one
(1e4) stands out next to its neighbours.

`GradientFlowRecorder` collects the same statistics during training, every N batches,
from inside a traced train step (a stateful op hands the gradients' arrays to it, so no
gradient leaves the step unless it is a sampled batch) and draws them over time.

    >>> import tapeflow as tf
    >>> w = tf.Variable([[1.0, 2.0]], name="dense/kernel")
    >>> with tf.GradientTape() as tape:
    ...     loss = tf.reduce_sum(w * [[3.0, 0.0]])
    >>> flow = gradient_flow([w], tape.gradient(loss, [w]))
    >>> flow.layers[0].name, round(flow.layers[0].norm, 3), flow.layers[0].dead_fraction
    ('dense', 3.0, 0.5)
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.op import NO_GRADIENT, OpDef, execute
from tapeflow.utils import nest


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend (imported lazily)."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("Plots are drawn with matplotlib: pip install matplotlib "
                          "(tapeflow's `fast` and `test` extras include it).") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


class LayerStats:
    """Gradient statistics of one layer.

    Attributes:
        name: the layer's name.
        norm: L2 norm of all its gradients together.
        mean: mean absolute gradient.
        max: largest absolute gradient.
        dead_fraction: fraction of its units (last axis of its largest weight) whose
            gradient is exactly zero.
        size: number of gradient elements.
    """

    __slots__ = ("dead_fraction", "max", "mean", "name", "norm", "size")

    def __init__(self, name, norm, mean, max_, dead_fraction, size):
        self.name, self.norm, self.mean, self.max = name, norm, mean, max_
        self.dead_fraction, self.size = dead_fraction, size

    def __repr__(self):
        return (f"LayerStats({self.name!r}, norm={self.norm:.3g}, mean={self.mean:.3g}, "
                f"max={self.max:.3g}, dead={self.dead_fraction:.0%})")


def layer_name(variable) -> str:
    name = getattr(variable, "name", "") or "variable"
    name = name.split(":")[0]
    return name.rsplit("/", 1)[0] if "/" in name else name


def _variables(model_or_variables):
    if hasattr(model_or_variables, "trainable_variables"):
        return list(model_or_variables.trainable_variables)
    return nest.flatten(model_or_variables)


def _array(g):
    if g is None:
        return None
    return np.asarray(g._value if hasattr(g, "_value") else g)


def layer_stats(variables, arrays) -> list:
    """`LayerStats` per layer, in the order layers first appear in `variables`."""
    groups = {}
    for v, g in zip(variables, arrays):
        groups.setdefault(layer_name(v), []).append(g)
    out = []
    for name, grads in groups.items():
        present = [np.asarray(g) for g in grads if g is not None]
        if not present:
            out.append(LayerStats(name, 0.0, 0.0, 0.0, 1.0, 0))
            continue
        # One pass each, in the gradients' own dtype (no float64 copy of a large kernel).
        sq = sum(float(np.vdot(g.ravel(), g.ravel()).real) for g in present)
        size = sum(g.size for g in present)
        mags = [np.abs(g) for g in present]
        mean = sum(float(m.sum(dtype=np.float64)) for m in mags) / max(size, 1)
        mx = max(float(m.max()) if m.size else 0.0 for m in mags)
        widest = max(mags, key=lambda m: (m.ndim, m.size))
        if widest.ndim == 0:
            dead = float(widest == 0)
        else:
            units = widest.reshape(-1, widest.shape[-1]).max(axis=0)
            dead = float(np.mean(units == 0)) if units.size else 0.0
        out.append(LayerStats(name, float(np.sqrt(sq)), mean, mx, dead, size))
    return out


class GradientFlow:
    """Per-layer gradient statistics of one step (what `gradient_flow` returns)."""

    def __init__(self, layers):
        self.layers = list(layers)

    def __getitem__(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def __repr__(self):
        width = max([len(s.name) for s in self.layers] + [5])
        rows = [f"{'layer':<{width}}  {'norm':>10} {'mean':>10} {'max':>10} {'dead':>6}"]
        rows += [f"{s.name:<{width}}  {s.norm:>10.3g} {s.mean:>10.3g} {s.max:>10.3g} "
                 f"{s.dead_fraction:>6.0%}" for s in self.layers]
        return "\n".join(rows)

    def plot(self, path=None, title="Gradient flow"):
        """Bars of each layer's gradient norm (log scale) with its max and mean, and its
        dead-unit fraction; written to `path` (PNG) when given. Returns the figure."""
        plt = pyplot()
        names = [s.name for s in self.layers]
        x = np.arange(len(names))
        fig, (ax, ax_dead) = plt.subplots(2, 1, figsize=(max(6.0, 0.7 * len(names) + 3), 6),
                                          sharex=True, height_ratios=[3, 1])
        tiny = 1e-30   # log axes cannot show zero: a zero gradient sits at the floor
        ax.bar(x, [max(s.norm, tiny) for s in self.layers], color="#4c72b0", label="norm")
        ax.plot(x, [max(s.max, tiny) for s in self.layers], "v", color="#c44e52",
                label="max |g|")
        ax.plot(x, [max(s.mean, tiny) for s in self.layers], "o", color="#55a868",
                label="mean |g|")
        ax.set_yscale("log")
        ax.set_ylabel("gradient magnitude")
        ax.set_title(title)
        ax.legend(loc="best")
        ax.grid(axis="y", alpha=0.3)
        ax_dead.bar(x, [100 * s.dead_fraction for s in self.layers], color="#8172b2")
        ax_dead.set_ylabel("dead units (%)")
        ax_dead.set_ylim(0, 100)
        ax_dead.set_xticks(x, names, rotation=30, ha="right")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
            plt.close(fig)
        return fig


def gradient_flow(model_or_variables, grads) -> GradientFlow:
    """Per-layer gradient norms, means, maxima and dead-unit fractions.

    Args:
        model_or_variables: a Keras model (its trainable variables) or a list of
            Variables, aligned with `grads`.
        grads: the gradients (tensors, arrays or None), e.g. from `tape.gradient`.
    """
    variables = _variables(model_or_variables)
    flat = nest.flatten(grads) if not isinstance(grads, (list, tuple)) else list(grads)
    if len(flat) != len(variables):
        raise ValueError(f"gradient_flow: {len(flat)} gradients for {len(variables)} "
                         "variables; pass the gradients of model.trainable_variables, in order.")
    return GradientFlow(layer_stats(variables, [_array(g) for g in flat]))


# -- over training --------------------------------------------------------------------------

def _tap_kernel(*arrays, sink):
    sink(arrays)
    return ()


_TAP = OpDef("GradientTap", _tap_kernel, NO_GRADIENT, num_outputs=0,
             shape_fn=lambda inputs, attrs: [], stateful=True)


class GradientFlowRecorder:
    """Collects `gradient_flow` statistics every `every_n_batches` calls of `record`.

    `record(grads)` works eagerly and inside `tf.function` (where it adds one op that
    hands the gradient arrays over when the step runs; unsampled steps return at once).

    Args:
        model_or_variables: a Keras model or the list of Variables the gradients are for.
        every_n_batches: sample one step in this many.
    """

    def __init__(self, model_or_variables, every_n_batches: int = 10):
        if int(every_n_batches) < 1:
            raise ValueError(f"every_n_batches must be at least 1; got {every_n_batches}.")
        self._source = model_or_variables
        self.every = int(every_n_batches)
        self.calls = 0
        self.history = []     # (step number, GradientFlow)
        self._variables = None

    def record(self, grads) -> None:
        """Hands `grads` (aligned with the trainable variables) to the recorder."""
        if self._variables is None:
            self._variables = _variables(self._source)
        flat = list(grads) if isinstance(grads, (list, tuple)) else nest.flatten(grads)
        present = [i for i, g in enumerate(flat) if g is not None]
        tensors = tuple(flat[i] for i in present)
        variables = self._variables

        def sink(arrays):
            self.calls += 1
            if (self.calls - 1) % self.every:
                return
            full = [None] * len(variables)
            for i, a in zip(present, arrays):
                full[i] = a
            self.history.append((self.calls, GradientFlow(layer_stats(variables, full))))
        execute(_TAP, tensors, {"sink": sink})

    def plot(self, path=None, title="Gradient flow over training"):
        """A heatmap (layers x sampled steps) of log10 gradient norms and each layer's
        norm over time; vanishing and exploding layers show as outlying rows and lines."""
        plt = pyplot()
        if not self.history:
            raise ValueError("GradientFlowRecorder.plot: nothing recorded yet.")
        names = [s.name for s in self.history[0][1].layers]
        steps = [step for step, _ in self.history]
        norms = np.array([[flow[n].norm if n in [s.name for s in flow.layers] else np.nan
                           for _, flow in self.history] for n in names])
        logs = np.log10(np.maximum(norms, 1e-30))
        fig, (ax_map, ax_line) = plt.subplots(2, 1, figsize=(9, 3 + 0.45 * len(names) + 3))
        half = self.every / 2
        im = ax_map.imshow(logs, aspect="auto", cmap="viridis", interpolation="nearest",
                           extent=(steps[0] - half, steps[-1] + half, len(names) - 0.5, -0.5))
        ax_map.set_yticks(range(len(names)), names)
        ax_map.set_xlabel("training step")
        ax_map.set_title(title)
        fig.colorbar(im, ax=ax_map, label="log10 gradient norm")
        for row, name in zip(norms, names):
            ax_line.plot(steps, row, label=name)
        ax_line.set_yscale("log")
        ax_line.set_xlabel("training step")
        ax_line.set_ylabel("gradient norm")
        ax_line.grid(alpha=0.3)
        ax_line.legend(loc="best", fontsize="small", ncol=2)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
            plt.close(fig)
        return fig
