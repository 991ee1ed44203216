"""compile / fit / evaluate / predict: a GradientTape plus `apply_gradients`, nothing magic.

`train_step(data)` is one step: forward with `training=True`, the compiled
loss (plus `model.losses`), gradients, the optimizer update, the metrics.
`make_train_function()` returns the callable `fit` runs per batch; it is
`train_step` itself (eager), or `train_step` wrapped in `tapeflow.function`
when compiled with `run_eagerly=False` or `jit_compile=True`.
"""
from __future__ import annotations

import numpy as np

from tapeflow.autodiff.tape import GradientTape
from tapeflow.keras import callbacks as callbacks_mod
from tapeflow.keras import metrics as metrics_mod
from tapeflow.keras import optimizers as optimizers_mod
from tapeflow.keras.models import data_adapter
from tapeflow.keras.models.compile_utils import LossesContainer, MetricsContainer
from tapeflow.keras.utils.progbar import Progbar
from tapeflow.ops import math_ops
from tapeflow.utils import nest

# The most examples `predict` runs through the model at once (see _predict_in_chunks).
PREDICT_CHUNK = 256

# Set by tapeflow.distribute (keras_support._KerasHooks): runs the steps of a model
# compiled under a strategy's scope over its replicas.
_distribute = None


def _float_logs(logs):
    return {k: float(v) for k, v in logs.items()}


class Trainer:
    """The training API mixed into `Model`."""

    def _init_trainer(self):
        d = self.__dict__
        d["optimizer"] = None
        d["compiled_loss"] = None
        d["compiled_metrics"] = None
        d["_is_compiled"] = False
        d["stop_training"] = False
        d["history"] = None
        d["train_function"] = None
        d["test_function"] = None
        d["predict_function"] = None
        d["_run_eagerly"] = None
        d["_jit_compile"] = None

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=1,
                jit_compile=None, **kwargs):
        """Sets the optimizer, loss and metrics used by fit/evaluate.

        Args:
            optimizer: a name ('adam', 'sgd', ...) or an Optimizer.
            loss: a name ('sparse_categorical_crossentropy', 'mse', ...), a Loss, a
                function `fn(y_true, y_pred)`, or one per output (list/dict).
            metrics: names or Metric objects; 'accuracy' picks the accuracy fitting the loss.
            run_eagerly: False (or jit_compile=True) runs each step through tapeflow.function.
        """
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword arguments {sorted(kwargs)}")
        names = self._output_names()
        self.__dict__["optimizer"] = optimizers_mod.get(optimizer)
        self.__dict__["compiled_loss"] = LossesContainer(loss, loss_weights, names) \
            if loss is not None else None
        losses = self.compiled_loss.losses if self.compiled_loss else [None] * len(names)
        self.__dict__["_added_loss_tracker"] = metrics_mod.Mean(name="loss")
        self.__dict__["compiled_metrics"] = MetricsContainer(metrics, names, losses,
                                                             weighted_metrics)
        self.__dict__["_run_eagerly"] = run_eagerly
        self.__dict__["_jit_compile"] = jit_compile
        self.__dict__["_is_compiled"] = True
        self.__dict__["train_function"] = None
        self.__dict__["test_function"] = None
        self.__dict__["predict_function"] = None
        if _distribute is not None:         # tf.distribute: the strategy in scope
            _distribute.on_compile(self)

    def _output_names(self):
        return ["output_1"]

    @property
    def run_eagerly(self):
        """True runs each step as plain Python; the default (as Keras) traces it once."""
        return bool(self._run_eagerly) and not self._jit_compile

    @run_eagerly.setter
    def run_eagerly(self, value):
        self.__dict__["_run_eagerly"] = value
        self.__dict__["train_function"] = None

    @property
    def metrics(self):
        """The loss tracker and compiled metrics (after compile)."""
        out = []
        if self.compiled_loss is not None:
            out += self.compiled_loss.metrics
        elif self._is_compiled:
            out.append(self._added_loss_tracker)
        if self.compiled_metrics is not None:
            out += self.compiled_metrics.metrics
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _assert_compiled(self, what):
        if not self._is_compiled:
            raise RuntimeError(f"You must compile your model before {what}: call "
                               "`model.compile(optimizer, loss)` first.")

    # -- steps -----------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """The compiled loss plus the model's regularization losses."""
        if self.compiled_loss is None:
            losses = self.losses
            if not losses:
                raise ValueError("No loss to compute: the model was compiled without `loss` and "
                                 "adds none with add_loss(). Pass `loss=` to compile() or "
                                 "override train_step().")
            # A model that adds its own losses (add_loss) trains on them alone, as in Keras.
            total = math_ops.add_n(losses) if len(losses) > 1 else losses[0]
            self._added_loss_tracker.update_state(total)
            return total
        if y is None:
            raise ValueError("The data has no targets: fit() and evaluate() need `y` (or a "
                             "dataset of (x, y) pairs) to compute the loss; received x only.")
        return self.compiled_loss(y, y_pred, sample_weight, self.losses)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if y is not None:
            self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        """One optimization step on a batch; returns {metric name: value}."""
        x, y, sample_weight = data_adapter.unpack(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        variables = self.trainable_variables
        if variables:       # a model with no weights (only add_loss) still trains, as Keras
            grads = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = data_adapter.unpack(data)
        y_pred = self(x, training=False)
        self.compute_loss(x, y, y_pred, sample_weight)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = data_adapter.unpack(data)
        return self(x, training=False)

    def _maybe_function(self, fn):
        if self.run_eagerly:
            return fn
        try:
            # The package, not `tapeflow.function` (which names the decorator itself).
            from tapeflow.function.polymorphic import function as wrap
        except ImportError:
            return fn
        # reduce_retracing: the partial last batch (or a second batch size) makes one more
        # trace with the batch dimension unknown, not one trace per size.
        return wrap(fn, jit_compile=self._jit_compile, reduce_retracing=True)

    def _step_function(self, step, kind):
        # tf.distribute: under a strategy, the step runs over its replicas.
        wrapped = _distribute.wrap(self, step, kind) if _distribute is not None else None
        return wrapped if wrapped is not None else self._maybe_function(step)

    def make_train_function(self, force=False):
        if self.train_function is None or force:
            self.__dict__["train_function"] = self._step_function(self.train_step, "train")
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is None or force:
            self.__dict__["test_function"] = self._step_function(self.test_step, "test")
        return self.test_function

    def make_predict_function(self, force=False):
        if self.predict_function is None or force:
            self.__dict__["predict_function"] = self._step_function(self.predict_step,
                                                                    "predict")
        return self.predict_function

    # -- loops -------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, **kwargs):
        """Trains for `epochs` epochs; returns a History (`history.history['loss']`, ...)."""
        self._assert_compiled("training/fitting")
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword arguments {sorted(kwargs)}")
        verbose = 1 if verbose == "auto" else int(verbose)
        data = data_adapter.make(x, y, sample_weight, batch_size, bool(shuffle),
                                 steps_per_epoch, class_weight)
        val = None
        if validation_data is not None:
            val = self._validation_data(validation_data, validation_batch_size or batch_size,
                                        validation_steps)
        elif validation_split:
            if not isinstance(data, data_adapter.ArrayData):
                raise ValueError("`validation_split` is only supported for NumPy arrays and "
                                 "tensors, not for a dataset; pass `validation_data` instead.")
            data, val = data.split(validation_split)
            val.batch_size = int(validation_batch_size or data.batch_size)
        history = callbacks_mod.History()
        cbs = list(callbacks or [])
        logger = callbacks_mod.ProgbarLogger(verbose) if verbose else None
        all_cbs = cbs + ([logger] if logger else []) + [history]
        cb = callbacks_mod.CallbackList(all_cbs, model=self, epochs=epochs, steps=data.steps,
                                        verbose=verbose, metrics_names=self._log_names(val))
        train_fn = self.make_train_function()
        self.__dict__["stop_training"] = False
        cb.on_train_begin()
        # BackupAndRestore resumes an interrupted fit at the epoch it had reached.
        initial_epoch = self.__dict__.pop("_initial_epoch", None) or initial_epoch
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cb.on_epoch_begin(epoch)
            step = -1
            step_logs = {}
            for step, batch in enumerate(data):
                cb.on_train_batch_begin(step)
                step_logs = train_fn(batch)
                cb.on_train_batch_end(step, _float_logs(step_logs))
                if self.stop_training:
                    break
            if step < 0:
                raise ValueError("The training data yielded no batches: check that `x` is not "
                                 "empty and that a dataset is not exhausted.")
            if hasattr(train_fn, "end_of_data"):    # tf.distribute: workers end together
                train_fn.end_of_data()
            if data.steps is None:
                data.steps = step + 1
                if logger is not None and logger._bar is not None:
                    logger._bar.target = data.steps
            logs = _float_logs(step_logs)
            if val is not None and ((epoch + 1) in validation_freq if isinstance(
                    validation_freq, (list, tuple, set)) else (epoch + 1) % validation_freq == 0):
                val_logs = self._evaluate_data(val, verbose=0)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cb.on_train_end(logs)
        history.model = self
        history.params = {"verbose": verbose, "epochs": epochs, "steps": data.steps}
        self.__dict__["history"] = history
        return history

    def _log_names(self, val):
        names = self.metrics_names
        return names + (["val_" + n for n in names] if val is not None else [])

    def _validation_data(self, validation_data, batch_size, steps):
        if data_adapter.is_dataset_like(validation_data):
            return data_adapter.make(validation_data, steps=steps)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"val_sample_weight), or a dataset; received {type(validation_data)}")
        vx, vy = validation_data[0], validation_data[1]
        vsw = validation_data[2] if len(validation_data) == 3 else None
        return data_adapter.make(vx, vy, vsw, batch_size, False, steps)

    def _evaluate_data(self, data, verbose=0, callbacks=None):
        self.reset_metrics()
        test_fn = self.make_test_function()
        bar = Progbar(data.steps, verbose=verbose, stateful_metrics=set(self.metrics_names))
        if callbacks is not None:
            callbacks.on_test_begin()
        logs = {}
        step = -1
        for step, batch in enumerate(data):
            if callbacks is not None:
                callbacks.on_test_batch_begin(step)
            logs = _float_logs(self._test_in_chunks(test_fn, batch))
            if callbacks is not None:
                callbacks.on_test_batch_end(step, logs)
            if verbose == 1:
                bar.update(step + 1, list(logs.items()), finalize=False)
        if verbose:
            bar.target = bar.target or step + 1
            bar.update(step + 1, list(logs.items()), finalize=True)
        if callbacks is not None:
            callbacks.on_test_end(logs)
        if step < 0:
            raise ValueError("The evaluation data yielded no batches.")
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics over the data: [loss, metric, ...] (or the loss alone, or a dict)."""
        self._assert_compiled("evaluating")
        verbose = 1 if verbose == "auto" else int(verbose)
        data = data_adapter.make(x, y, sample_weight, batch_size, False, steps)
        cbs = callbacks_mod.CallbackList(callbacks, model=self, steps=data.steps,
                                         verbose=verbose)
        logs = self._evaluate_data(data, verbose, cbs)
        if return_dict:
            return logs
        values = [logs[n] for n in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, **kwargs):
        """The model's outputs for `x`, batch by batch, as NumPy arrays."""
        verbose = 1 if verbose == "auto" else int(verbose)
        data = data_adapter.make(x, None, None, batch_size, False, steps)
        predict_fn = self.make_predict_function()
        bar = Progbar(data.steps, verbose=verbose)
        cbs = callbacks_mod.CallbackList(callbacks, model=self, steps=data.steps)
        cbs.on_predict_begin()
        outputs = []
        step = -1
        for step, batch in enumerate(data):
            cbs.on_predict_batch_begin(step)
            out = self._predict_in_chunks(predict_fn, batch)
            outputs.append(out)
            cbs.on_predict_batch_end(step, {"outputs": out})
            if verbose == 1:
                bar.update(step + 1, finalize=False)
        if verbose:
            bar.target = bar.target or step + 1
            bar.update(step + 1, finalize=True)
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict: the input data yielded no batches.")
        flat = [nest.flatten(o) for o in outputs]
        merged = [np.concatenate([f[i] for f in flat], axis=0) for i in range(len(flat[0]))]
        return nest.pack_sequence_as(outputs[0], merged)

    def _test_in_chunks(self, test_fn, batch):
        """test_fn over a batch, PREDICT_CHUNK examples at a time.

        The metrics (and the batch-size-weighted loss mean) are stateful sums over
        examples, so the result is the same as one pass over the whole batch.
        """
        x, y, sw = data_adapter.unpack(batch) if isinstance(batch, tuple) else (batch, None,
                                                                                  None)
        flat = nest.flatten(x)
        n = int(flat[0].shape[0]) if flat and len(flat[0].shape) else 0
        if n <= PREDICT_CHUNK:
            return test_fn(batch)
        logs = None
        for start in range(0, n, PREDICT_CHUNK):
            def part(a, s=start):
                return a[s:s + PREDICT_CHUNK]
            logs = test_fn(data_adapter.pack(nest.map_structure(part, x),
                                             None if y is None else nest.map_structure(part, y),
                                             None if sw is None else part(sw)))
        return logs

    def _predict_in_chunks(self, predict_fn, batch):
        """Outputs (NumPy) for one batch, run PREDICT_CHUNK examples at a time.

        Inference treats examples independently, so a huge batch (the seeds predict the
        whole test set as one batch) gives the same outputs in pieces, with the memory of a
        piece: convolution patches of 10,000 images at once would take gigabytes.
        """
        x = data_adapter.unpack(batch)[0]
        flat = nest.flatten(x)
        n = int(flat[0].shape[0]) if flat and len(flat[0].shape) else 0
        if n <= PREDICT_CHUNK:
            return nest.map_structure(lambda t: np.asarray(t._value), predict_fn((x,)))
        pieces = []
        for start in range(0, n, PREDICT_CHUNK):
            part = nest.map_structure(lambda a, s=start: a[s:s + PREDICT_CHUNK], x)
            pieces.append(nest.map_structure(lambda t: np.asarray(t._value),
                                             predict_fn((part,))))
        flat_pieces = [nest.flatten(p) for p in pieces]
        merged = [np.concatenate([f[i] for f in flat_pieces], axis=0)
                  for i in range(len(flat_pieces[0]))]
        return nest.pack_sequence_as(pieces[0], merged)

    def predict_on_batch(self, x):
        return np.asarray(self(x, training=False)._value)

    def train_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                       return_dict=False):
        self._assert_compiled("training")
        if reset_metrics:
            self.reset_metrics()
        logs = _float_logs(self.make_train_function()((x, y, sample_weight)))
        if return_dict:
            return logs
        values = [logs[n] for n in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        self._assert_compiled("evaluating")
        if reset_metrics:
            self.reset_metrics()
        logs = _float_logs(self.make_test_function()((x, y, sample_weight)))
        if return_dict:
            return logs
        values = [logs[n] for n in self.metrics_names]
        return values[0] if len(values) == 1 else values
