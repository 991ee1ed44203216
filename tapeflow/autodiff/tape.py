"""`tf.GradientTape`: records op calls on watched tensors; `gradient` walks them back.

Recording is cheap and local: `execute` offers each op call to the recording
tapes; a tape keeps the call only when one of its inputs is watched (a
watched source, or the output of a call it kept), and then watches the
outputs. Trainable Variables are watched when an op reads them, unless
`watch_accessed_variables=False`.

    >>> import tapeflow as tf
    >>> x = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x ** 2
    >>> float(tape.gradient(y, x))
    6.0
"""
from __future__ import annotations

import contextlib
import enum

import numpy as np

from tapeflow.autodiff import backprop
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.context import state
from tapeflow.framework.tensor import Tensor, TensorBase, is_tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.utils import nest


def _explain():
    # Imported on first use: tapeflow.debug sits above autodiff.
    from tapeflow.debug import explain
    return explain


class UnconnectedGradients(enum.Enum):
    """What `gradient` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


def _check_output_gradients(targets, output_gradients):
    """Each upstream gradient must have its target's shape: one of another shape
    would be broadcast into (or summed over) the wrong elements."""
    for i, (t, g) in enumerate(zip(targets, output_gradients)):
        if t is None or g is None:
            continue
        g_shape = g.shape if isinstance(g, Tensor) or getattr(g, "_is_variable", False) \
            else TensorShape(np.shape(g))
        if not TensorShape(g_shape).is_compatible_with(t.shape):
            raise ValueError(f"GradientTape.gradient: output_gradients[{i}] has shape "
                             f"{TensorShape(g_shape)} but its target has shape {t.shape}; "
                             "each upstream gradient must have its target's shape.")


@tf_export("GradientTape", "autodiff.GradientTape")
class GradientTape:
    """Records operations for automatic differentiation.

    Args:
        persistent: allow several `gradient`/`jacobian` calls on one tape.
        watch_accessed_variables: watch trainable Variables when they are read.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self._persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._entries = []          # (op, inputs, outputs, attrs) in program order
        self._watched = {}          # id -> watched tensor/variable (kept alive here)
        self._variables = {}        # id -> Variable watched, in watch order
        self._aliases = {}          # id(snapshot) -> Variable (see _freeze_variable)
        self._recording = False
        self._used = False
        self._why = None            # notes for tapeflow.debug.explain_gradients

    # -- recording ---------------------------------------------------------
    def __enter__(self):
        self._push()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._recording:
            self._pop()

    def _push(self):
        if self._recording:
            raise ValueError("This GradientTape is already recording.")
        state.tapes = state.tapes + [self]
        self._recording = True

    def _pop(self):
        tapes = state.tapes
        # Usually the innermost tape: a slice, not a pass over the list.
        state.tapes = tapes[:-1] if tapes and tapes[-1] is self else [
            t for t in tapes if t is not self]
        self._recording = False

    def _record(self, op, inputs, outputs, attrs):
        watched = self._watched
        hit = False
        for x in inputs:
            if id(x) in watched:
                hit = True
            elif x._is_variable and self._watch_accessed and x._trainable:
                self._watch_variable(x)    # a read of a trainable Variable, even by a
                hit = True                 # no-gradient op, makes the tape watch it (as TF)
        if hit and not op.no_grad:
            self._entries.append((op, inputs, outputs, attrs))
            if type(outputs) is tuple:
                for o in outputs:
                    watched[id(o)] = o
            else:
                watched[id(outputs)] = outputs
        elif hit or (self._why is not None and self._why.reads_tainted(inputs)):
            # A no-gradient op read a watched value (or a value such an op made):
            # noted so that a None gradient can be explained (tapeflow.debug).
            _explain().note_blocked(self, op, inputs, outputs, hit)

    def _freeze_variable(self, var):
        """Called just before `var` is updated in place while this tape records.

        Entries that read `var` get a snapshot of the value they saw (as TF's
        reads do), so their gradient rules do not see the new value; the
        snapshot's gradient is credited to `var` at the end of the walk.
        """
        snap = None
        entries = self._entries
        for k, (op, inputs, outputs, attrs) in enumerate(entries):
            if any(x is var for x in inputs):
                if snap is None:
                    snap = self._snapshot(var)
                    self._watched[id(snap)] = snap
                    self._aliases[id(snap)] = var
                entries[k] = (op, tuple(snap if x is var else x for x in inputs), outputs, attrs)

    @staticmethod
    def _snapshot(var):
        if state.graph is None:
            return Tensor(var._value.copy())
        # Tracing: a read node, created (so run) before the update, holds the value.
        saved, state.tapes = state.tapes, []
        try:
            return var.read_value()
        finally:
            state.tapes = saved

    def _watch_variable(self, v):
        self._watched[id(v)] = v
        self._variables[id(v)] = v

    def watch(self, tensor) -> None:
        """Ensures `tensor` (a tensor, a Variable, or a nested structure of them) is traced."""
        flat = nest.flatten(tensor)
        # Check everything first: a bad element leaves the tape as it was.
        for t in flat:
            if not (is_tensor(t)):
                raise ValueError(
                    "GradientTape.watch expects a tf.Tensor or tf.Variable (or a nested "
                    f"structure of them); received {t!r} of type {type(t).__name__}. Convert "
                    "values with tf.constant(...) first, and watch that tensor.")
        for t in flat:
            if getattr(t, "_is_variable", False):
                self._watch_variable(t)
            else:
                if not t.dtype.is_floating and not t.dtype.is_complex:
                    import logging
                    logging.getLogger("tapeflow").warning(
                        "The dtype of the watched tensor must be floating (e.g. tf.float32), "
                        "got %r", t.dtype)
                self._watched[id(t)] = t

    def watched_variables(self):
        """The Variables this tape watched, in the order it first saw them."""
        return tuple(self._variables.values())

    @contextlib.contextmanager
    def stop_recording(self):
        """Temporarily stops recording on this tape (ops inside are not differentiated)."""
        if not self._recording:
            raise ValueError("Tape must be recording to use stop_recording().")
        self._pop()
        _explain().note_pause(self)
        try:
            yield
        finally:
            self._push()

    def reset(self) -> None:
        """Clears everything recorded so far; the tape keeps recording.

        Only inside the tape's `with` block (as TF): outside it there is nothing
        recording to reset, and the call is an error rather than a silent no-op.
        """
        if not self._recording:
            raise ValueError("Tape is not recording. GradientTape.reset() clears a tape "
                             "while it records: call it inside the tape's `with` block.")
        self._entries = []
        self._watched = {}
        self._variables = {}
        self._aliases = {}
        self._used = False

    # -- differentiation ---------------------------------------------------------
    def _check_usable(self, what: str):
        if self._used and not self._persistent:
            raise RuntimeError(
                f"A non-persistent GradientTape can only be used to compute one set of "
                f"gradients (or jacobians); this tape's {what}() was called again. Create "
                "the tape with tf.GradientTape(persistent=True) to call it several times.")

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE):
        """Gradient of `target` (summed if non-scalar or nested) w.r.t. each source.

        Args:
            target: a tensor or nested structure of tensors to differentiate.
            sources: a tensor/Variable or any nested list/tuple/dict of them; the
                result has the same structure.
            output_gradients: upstream gradients, one per target (default ones).
            unconnected_gradients: 'none' (None for unconnected sources) or 'zero'.
        """
        self._check_usable("gradient")
        unconnected = unconnected_gradients if type(unconnected_gradients) is \
            UnconnectedGradients else UnconnectedGradients(unconnected_gradients)
        # One tensor or Variable each side (the common call) skips the nesting helpers.
        single = isinstance(sources, TensorBase)
        flat_sources = [sources] if single else nest.flatten(sources)
        for s in flat_sources:
            if not isinstance(s, TensorBase):
                raise TypeError(f"GradientTape.gradient: sources must be tensors or Variables; "
                                f"received {s!r} of type {type(s).__name__}.")
        flat_targets = [target] if isinstance(target, TensorBase) else nest.flatten(target)
        for t in flat_targets:
            if t is not None and not isinstance(t, TensorBase):
                raise TypeError(f"GradientTape.gradient: target must be a tensor or a nested "
                                f"structure of tensors; received {t!r} of type "
                                f"{type(t).__name__}.")
        if output_gradients is not None:
            output_gradients = nest.flatten(output_gradients)
            if len(output_gradients) != len(flat_targets):
                raise ValueError(f"output_gradients has {len(output_gradients)} entries but "
                                 f"target has {len(flat_targets)} tensors.")
            _check_output_gradients(flat_targets, output_gradients)
        was_recording = self._recording
        if was_recording:
            self._pop()       # a tape never records its own backward pass
        try:
            grads = backprop.backward(self._entries, self._watched, flat_targets,
                                      flat_sources, output_gradients,
                                      unconnected is UnconnectedGradients.ZERO,
                                      self._aliases)
        finally:
            if was_recording:
                self._push()
        for g in grads:
            if g is None:
                _explain().on_none_gradients(self, flat_targets, flat_sources, grads)
                break
        if not self._persistent:
            self._used = True
            if not was_recording:      # nothing more can be asked: free what was kept
                self._entries = []
                self._watched = {}
                self._aliases = {}
        return grads[0] if single else nest.pack_sequence_as(sources, grads)

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True):
        """Jacobian of `target` w.r.t. each source: shape target.shape + source.shape."""
        self._check_usable("jacobian")
        result = backprop.jacobian(self, target, sources,
                                   UnconnectedGradients(unconnected_gradients)
                                   is UnconnectedGradients.ZERO)
        if not self._persistent:
            self._used = True
        return result

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per-example jacobian: target [B, ...] w.r.t. source [B, ...] -> [B, t..., s...]."""
        self._check_usable("batch_jacobian")
        result = backprop.batch_jacobian(self, target, source,
                                         UnconnectedGradients(unconnected_gradients)
                                         is UnconnectedGradients.ZERO)
        if not self._persistent:
            self._used = True
        return result
