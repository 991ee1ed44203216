"""`keras.callbacks.TensorBoard` and `GradientFlowCallback`: watching training from outside.

`TensorBoard` writes what Keras's callback writes, in the same places: `<log_dir>/train`
and `<log_dir>/validation` event files with `epoch_<metric>` scalars per epoch,
`batch_<metric>` scalars every `update_freq` batches, `<weight>/histogram` histograms of
every weight each `histogram_freq` epochs (and `<weight>/image` with `write_images`), the
model's configuration ("keras") and the traced train step's graph (`write_graph`). Beyond
Keras, with `histogram_freq` it also writes `<weight>/gradient` histograms of the first
batch's gradients of those epochs.

Gradients are read with a tap on the optimizer: while the callback is attached, the
optimizer's `apply_gradients` first hands the gradients to a stateful op (see
`tapeflow.debug.flow`), so they are seen inside the traced train step without leaving it
on batches that are not sampled. The train function is re-traced when the tap is added
and when it is removed.
"""
from __future__ import annotations

import os
import time

import numpy as np

from tapeflow.keras.callbacks import Callback


class _OptimizerTap:
    """Hands each `apply_gradients` call's gradients to `sink(grads, variables)`."""

    def __init__(self, model, sink):
        self.model, self.sink = model, sink
        self.optimizer = None

    def install(self):
        opt = getattr(self.model, "optimizer", None)
        if opt is None or self.optimizer is not None:
            return
        self.optimizer = opt
        original = opt.apply_gradients
        sink = self.sink

        def apply_gradients(grads_and_vars, *args, **kwargs):
            pairs = list(grads_and_vars)
            sink([g for g, _ in pairs], [v for _, v in pairs])
            return original(pairs, *args, **kwargs)
        self._saved = opt.__dict__.get("apply_gradients")
        opt.__dict__["apply_gradients"] = apply_gradients
        self._retrace()

    def remove(self):
        opt = self.optimizer
        if opt is None:
            return
        if self._saved is None:
            opt.__dict__.pop("apply_gradients", None)
        else:
            opt.__dict__["apply_gradients"] = self._saved
        self.optimizer = None
        self._retrace()

    def _retrace(self):
        make = getattr(self.model, "make_train_function", None)
        if make is not None:
            make(force=True)


def _tap_arrays(grads, sink):
    """Runs `sink(arrays)` when the step runs (eagerly or inside the traced step)."""
    from tapeflow.debug.flow import _TAP
    from tapeflow.framework.op import execute
    present = [i for i, g in enumerate(grads) if g is not None]

    def deliver(arrays):
        full = [None] * len(grads)
        for i, a in zip(present, arrays):
            full[i] = a
        sink(full)
    execute(_TAP, tuple(grads[i] for i in present), {"sink": deliver})


class TensorBoard(Callback):
    """Writes TensorBoard logs: metrics, weight and gradient histograms, the graph.

    Args:
        log_dir: where the `train` and `validation` event files go.
        histogram_freq: every this many epochs, write weight (and gradient)
            histograms; 0 writes none.
        write_graph: write the model's configuration and the train step's graph.
        write_images: also write each weight as an image.
        write_steps_per_second: write the training speed.
        update_freq: 'epoch', 'batch' (every batch) or an integer N (every N batches)
            for the `batch_<metric>` scalars.
        write_gradients: with `histogram_freq`, write gradient histograms (tapeflow).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, write_gradients=True):
        super().__init__()
        if update_freq not in ("epoch", "batch") and not (
                isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a positive integer; "
                             f"received {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.write_gradients = write_gradients
        self._writers = {}
        self._global_batch = 0
        self._graph_written = False
        self._epoch = 0
        self._want_grads = False
        self._grads = None
        self._tap = None

    # -- writers ------------------------------------------------------------------------
    def _writer(self, which):
        from tapeflow import summary
        w = self._writers.get(which)
        if w is None:
            w = self._writers[which] = summary.create_file_writer(
                os.path.join(self.log_dir, which))
        return w

    def set_model(self, model):
        super().set_model(model)
        if self.histogram_freq and self.write_gradients and self._tap is None:
            self._tap = _OptimizerTap(model, self._on_gradients)
            self._tap.install()

    def _on_gradients(self, grads, variables):
        def sink(arrays):
            if self._want_grads:
                self._grads = ([v for v in variables],
                               [None if a is None else np.array(a) for a in arrays])
                self._want_grads = False
        _tap_arrays(grads, sink)

    # -- hooks --------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_batch = 0
        self._graph_written = False
        if self.write_graph:
            self._write_model_config()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.time()
        self._epoch_batches = 0
        self._want_grads = bool(self.histogram_freq and epoch % self.histogram_freq == 0)

    def on_train_batch_end(self, batch, logs=None):
        from tapeflow import summary
        self._global_batch += 1
        self._epoch_batches += 1
        if self.write_graph and not self._graph_written:
            self._write_train_graph()
        if isinstance(self.update_freq, int) and self._global_batch % self.update_freq == 0:
            with self._writer("train").as_default():
                for name, value in (logs or {}).items():
                    summary.scalar(f"batch_{name}", float(value), step=self._global_batch)

    def on_epoch_end(self, epoch, logs=None):
        from tapeflow import summary
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        lr = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        if lr is not None and not callable(lr):
            train["learning_rate"] = float(np.asarray(getattr(lr, "numpy", lambda: lr)()))
        if self.write_steps_per_second:
            train["steps_per_second"] = self._epoch_batches / max(
                time.time() - self._epoch_start, 1e-9)
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            with self._writer(which).as_default():
                for name, value in values.items():
                    summary.scalar(f"epoch_{name}", float(value), step=epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        if self._tap is not None:
            self._tap.remove()
            self._tap = None
        for w in self._writers.values():
            w.close()
        self._writers = {}

    # -- what is written ------------------------------------------------------------------
    def _log_weights(self, epoch):
        from tapeflow import summary
        with self._writer("train").as_default():
            for layer in getattr(self.model, "layers", []):
                for weight in layer.weights:
                    path = weight.name.split(":")[0]
                    summary.histogram(f"{path}/histogram", weight.numpy(), step=epoch)
                    if self.write_images:
                        self._log_weight_image(weight.numpy(), f"{path}/image", epoch)
            if self._grads is not None:
                for v, g in zip(*self._grads):
                    if g is not None:
                        path = v.name.split(":")[0]
                        summary.histogram(f"{path}/gradient", g, step=epoch)
                self._grads = None

    @staticmethod
    def _log_weight_image(w, tag, epoch):
        from tapeflow import summary
        w = np.squeeze(w)
        if w.ndim == 1:
            w = w.reshape(1, w.shape[0], 1, 1)
        elif w.ndim == 2:
            if w.shape[0] > w.shape[1]:
                w = w.T
            w = w.reshape(1, w.shape[0], w.shape[1], 1)
        elif w.ndim == 3:
            w = np.transpose(w, (2, 0, 1))[..., np.newaxis]
        else:
            return
        lo, hi = float(w.min()), float(w.max())
        summary.image(tag, (w - lo) / (hi - lo) if hi > lo else np.zeros_like(w), step=epoch)

    def _write_model_config(self):
        from tensorboard.compat.proto import summary_pb2

        from tapeflow import summary
        to_json = getattr(self.model, "to_json", None)
        if to_json is None:
            return
        try:
            config = to_json()
        except (NotImplementedError, TypeError, ValueError):
            return      # a subclassed model without get_config: no configuration to show
        meta = summary_pb2.SummaryMetadata()
        meta.plugin_data.plugin_name = "graph_keras_model"
        meta.plugin_data.content = b"1"
        with self._writer("train").as_default():
            summary.write("keras", np.array(config.encode(), dtype=object), step=0,
                          metadata=meta)

    def _write_train_graph(self):
        from tapeflow.summary.graph_def import write_graph
        self._graph_written = True
        fn = getattr(self.model, "train_function", None)
        traces = getattr(fn, "_traces", None)
        if not traces:
            return
        write_graph(self._writer("train"), traces[-1][1].graph, step=0)
        self._writer("train").flush()


class GradientFlowCallback(Callback):
    """Records per-layer gradient statistics every `every_n_batches` batches and, at the
    end of training (and of every epoch), writes a gradient-flow chart to `path`.

    Args:
        path: the PNG to write (None: only keep `recorder.history`).
        every_n_batches: sample one batch in this many.
    """

    def __init__(self, path=None, every_n_batches=10):
        super().__init__()
        from tapeflow.debug.flow import GradientFlowRecorder
        self.path = path
        self.every_n_batches = int(every_n_batches)
        self._recorder_cls = GradientFlowRecorder
        self.recorder = None
        self._tap = None

    def set_model(self, model):
        super().set_model(model)
        if self._tap is None:
            self._tap = _OptimizerTap(model, self._on_gradients)
            self._tap.install()

    def _on_gradients(self, grads, variables):
        if self.recorder is None:
            self.recorder = self._recorder_cls(variables, self.every_n_batches)
        self.recorder.record(grads)

    def on_epoch_end(self, epoch, logs=None):
        self._draw()

    def on_train_end(self, logs=None):
        if self._tap is not None:
            self._tap.remove()
            self._tap = None
        self._draw()

    def _draw(self):
        if self.path is not None and self.recorder is not None and self.recorder.history:
            self.recorder.plot(self.path)
