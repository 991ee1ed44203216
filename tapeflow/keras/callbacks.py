"""`keras.callbacks`: hooks into fit/evaluate/predict.

History (always attached by fit), ProgbarLogger (verbose), EarlyStopping,
ModelCheckpoint, BackupAndRestore, LearningRateScheduler, CSVLogger, LambdaCallback.

    >>> import tapeflow as tf
    >>> cb = tf.keras.callbacks.EarlyStopping(monitor='loss', patience=2)
    >>> cb.monitor, cb.patience
    ('loss', 2)
"""
from __future__ import annotations

import csv
import logging
import os

import numpy as np

from tapeflow.keras.utils.progbar import Progbar

_logger = logging.getLogger("tapeflow")


class Callback:
    """Base class; every hook receives the epoch/batch number and a `logs` dict."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=None, model=None, **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback instances; "
                                f"received {cb!r} of type {type(cb).__name__}")
            if model is not None:
                cb.set_model(model)
            cb.set_params(params)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def __getattr__(self, hook):
        if hook.startswith("on_"):
            return lambda *args: self._call(hook, *args)
        raise AttributeError(hook)


class History(Callback):
    """Records each epoch's logs: `history.history['loss']` is a list of floats."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class ProgbarLogger(Callback):
    """Prints 'Epoch i/n' and a progress bar per epoch (verbose 1) or one line (verbose 2)."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        if self.verbose and epochs >= 1:
            print(f"Epoch {epoch + 1}/{epochs}")
        self._bar = Progbar(self.params.get("steps"), verbose=self.verbose,
                            stateful_metrics=self._names())
        self._seen = 0

    def _names(self):
        return set(self.params.get("metrics_names", []))

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.verbose == 1:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=True)


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved by `min_delta` for `patience` epochs.

    Args:
        monitor: the logged quantity ('val_loss', 'loss', 'val_accuracy', ...).
        mode: 'min', 'max' or 'auto' (max for names containing 'acc' or 'auc').
        restore_best_weights: at the end, put back the weights of the best epoch.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', received "
                             f"{mode!r}")
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        if mode == "auto":
            mode = "max" if any(s in monitor for s in ("acc", "auc", "precision", "recall")) \
                else "min"
        self.mode = mode
        self.stopped_epoch = 0
        self.best_weights = None

    def _better(self, current, reference):
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            _logger.warning("Early stopping conditioned on metric `%s` which is not available. "
                            "Available metrics are: %s", self.monitor,
                            ",".join(sorted(logs or {})))
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._better(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None and self.stopped_epoch:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) every epoch or every `save_freq` batches, optionally
    only when `monitor` improves.

    `filepath` may contain `{epoch}`, `{batch}` and log names:
    'ckpt/model-{epoch:02d}-{val_loss:.2f}.keras'. It must end in `.weights.h5` when
    `save_weights_only=True` and in `.keras` otherwise (Keras 3's rule); its folder is
    created when needed.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int)
                                         and not isinstance(save_freq, bool) and save_freq > 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             "'epoch' or a positive integer (a number of batches).")
        self.filepath = os.fspath(filepath)
        if save_weights_only and not self.filepath.endswith((".weights.h5", ".npz")):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             "filepath provided must end in `.weights.h5` (Keras weights "
                             f"format). Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError("The filepath provided must end in `.keras` (Keras model "
                             f"format). Received: filepath={self.filepath}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'auto', 'min' or 'max', received "
                             f"{mode!r}")
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        if mode == "auto":
            mode = "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"
        self.mode = mode
        self.best = initial_value_threshold if initial_value_threshold is not None else (
            np.inf if mode == "min" else -np.inf)
        self._batches_since_save = 0
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" not in self.filepath:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: no value for {e} in the logs (available: "
                           f"{sorted(logs)}).") from None

    def _save(self, epoch, batch, logs):
        logs = dict(logs or {})
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                _logger.warning("Can save best model only with %s available, skipping.",
                                self.monitor)
                return
            improved = current < self.best if self.mode == "min" else current > self.best
            if not improved:
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)


class BackupAndRestore(Callback):
    """Backs up the training state so that an interrupted `fit` resumes where it stopped.

    At each epoch end (or every `save_freq` batches) the weights with the optimizer state
    go to `backup_dir/latest.weights.h5` and the epoch reached to
    `backup_dir/training_metadata.json` (Keras 3's files). A new `fit` with the same
    callback loads them and starts at the saved epoch (a save made within an epoch, with
    an integer `save_freq`, resumes at that epoch's start, as in Keras); a `fit` that
    completes deletes them (unless `delete_checkpoint=False`).
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or an integer "
                             "value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._batches_since_save = 0
        self._last_batch = 0

    def _files(self):
        return [self._weights_path, self._metadata_path]

    def on_train_begin(self, logs=None):
        import json
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             f"before you call `fit()`. Model {self.model.name} is unbuilt. "
                             "Build it beforehand by calling it on a batch of data.")
        paths = self._files()
        if not os.path.exists(paths[0]) and self.double_checkpoint and os.path.exists(
                paths[0] + ".bkp"):
            paths = [p + ".bkp" for p in paths]
        if os.path.exists(paths[0]):
            self.model.load_weights(paths[0])
            if os.path.exists(paths[1]):
                with open(paths[1], encoding="utf-8") as f:
                    meta = json.load(f)
                epoch = meta.get("epoch") if isinstance(meta, dict) else None
                if not isinstance(epoch, int) or epoch < 0:
                    raise ValueError(f"{paths[1]}: malformed training metadata {meta!r}")
                self._current_epoch = epoch
                self.model.__dict__["_initial_epoch"] = epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch = batch
        if self.save_freq != "epoch":
            self._batches_since_save += 1
            if self._batches_since_save >= self.save_freq:
                self._batches_since_save = 0
                self._save(self._current_epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch = 0
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def _save(self, next_epoch):
        import json
        import shutil

        from tapeflow.train.files import atomic_write
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for p in self._files():
                if os.path.exists(p):
                    shutil.copyfile(p, p + ".bkp")
        self.model.save_weights(self._weights_path, overwrite=True)
        meta = json.dumps({"epoch": next_epoch, "batch": self._last_batch}).encode()
        atomic_write(self._metadata_path, lambda f: f.write(meta))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            for p in self._files():
                for q in (p, p + ".bkp"):
                    try:
                        os.remove(q)
                    except FileNotFoundError:   # absent, or removed by another worker
                        pass


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate at each epoch start to `schedule(epoch, lr)`."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = float(opt.learning_rate)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:       # a schedule of the epoch only
            new = self.schedule(epoch)
        new = float(new)
        opt.learning_rate = new
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Appends one row per epoch (epoch, then the sorted log names) to a CSV file."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(
            self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self._keys,
                                          delimiter=self.sep)
            if not self._header_written:
                self._writer.writeheader()
        row = {"epoch": epoch}
        row.update({k: logs.get(k, "NA") for k in self._keys})
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
        self._writer = None
        self._keys = None


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` stops improving for `patience`
    epochs (then waits `cooldown` epochs), never below `min_lr`."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0; received "
                             f"factor={factor}")
        self.monitor, self.factor, self.patience = monitor, float(factor), patience
        self.verbose, self.min_delta, self.cooldown = verbose, min_delta, cooldown
        self.min_lr = float(min_lr)
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.mode = mode

    def on_train_begin(self, logs=None):
        self.best = np.inf if self.mode == "min" else -np.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        current = logs.get(self.monitor)
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        if current is None:
            _logger.warning("Learning rate reduction is conditioned on metric `%s` which is not "
                            "available. Available metrics are: %s", self.monitor,
                            ",".join(sorted(logs)))
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = current < self.best - self.min_delta if self.mode == "min" else \
            current > self.best + self.min_delta
        if better:
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    opt.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_end=lambda epoch, logs: ..."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_"):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


# TensorBoard lives in its own module (it imports this one for Callback).
from tapeflow.keras.callbacks_tensorboard import GradientFlowCallback, TensorBoard  # noqa: E402,F401
