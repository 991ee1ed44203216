"""Why a gradient is None, in plain words: `explain_gradients` and `explain_none_gradients`.

A tape keeps only the op calls that read a watched value, so a None gradient means the trail
from the source to the target broke somewhere. The tape notes the cheap facts as it records
(a no-gradient op such as ArgMax, Round, StopGradient or an assign reading a watched value,
with the user's line; a `stop_recording` pause); the explanation walks the recorded calls
from the target back and says where the trail broke:

- the source was never read while the tape recorded (read before the `with` block, or
  inside `stop_recording`), or is a Tensor the tape never watched (a Variable rebound with
  `v = v - ...` becomes such a Tensor);
- the path runs through an op with no gradient, or through an integer tensor (a cast);
- the value left tapeflow (`.numpy()`, `float(...)`) and came back as a constant;
- the source is not floating, or not trainable.

With `explain_none_gradients(True)` every `tape.gradient` that returns a None warns with
the reason, and every op notes where it was created (so the explanation names lines and
values made outside the tape). Without it, an all-None result is still explained, so the
optimizer's "No gradients provided" error can say why.

    >>> import tapeflow as tf
    >>> x = tf.constant(2.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x * x
    >>> print(explain_gradients(tape, y, [x])[0].split(":")[0])
    the source is a tf.Tensor the tape never watched
"""
from __future__ import annotations

import warnings
import weakref

import numpy as np

from tapeflow.debugging import numerics
from tapeflow.debugging.origin import Origin, origin_of, user_frame
from tapeflow.utils import nest

_ASSIGN_OPS = {"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"}
_MODE = {"warn": False}
_LINE_HINT = (" (turn on tapeflow.debug.explain_none_gradients(True) before the tape to have "
              "the line named)")
# id(source) -> (weakref to it, reason, id(tape)): the last explanations (optimizer error).
_RECENT: dict = {}


class Notes:
    """What a tape noted for explanations (created on the first note)."""

    __slots__ = ("blocked", "pauses", "tainted")

    def __init__(self):
        self.blocked = []      # (op name, Origin, inputs, outputs): no-gradient ops on the trail
        self.tainted = {}      # id(value) -> index in `blocked` of the op it came from
        self.pauses = []       # Origin of each stop_recording()

    def reads_tainted(self, inputs) -> bool:
        tainted = self.tainted
        return any(id(x) in tainted for x in inputs) if tainted else False


def _notes(tape) -> Notes:
    if tape._why is None:
        tape._why = Notes()
    return tape._why


def _here(op_name) -> Origin:
    filename, lineno, function = user_frame(3)
    return Origin(op_name, filename, lineno, function)


def note_blocked(tape, op, inputs, outputs, direct) -> None:
    """Called by the tape for a no-gradient op on a watched value (`direct`) or for
    any op reading a value such an op made."""
    notes = _notes(tape)
    outs = outputs if type(outputs) is tuple else (outputs,)
    if direct:
        index = len(notes.blocked)
        origin = origin_of(outs[0]) if outs else None
        if origin is None:
            origin = _here(op.name)
        notes.blocked.append((op.name, origin, tuple(inputs), outs))
        if op.name in _ASSIGN_OPS:
            # The Variable now holds a value whose gradient stops here: reads of it
            # are where the trail continues.
            outs = outs + tuple(x for x in inputs[:1] if getattr(x, "_is_variable", False))
    else:
        index = next(notes.tainted[id(x)] for x in inputs if id(x) in notes.tainted)
    for o in outs:
        notes.tainted[id(o)] = index


def note_pause(tape) -> None:
    _notes(tape).pauses.append(_here("stop_recording"))


# -- the analysis -------------------------------------------------------------------------

def _name(x) -> str:
    if getattr(x, "_is_variable", False):
        return f"Variable '{x.name}'"
    try:
        return f"tf.Tensor of shape {tuple(x.shape.as_list())} and dtype {x.dtype.name}"
    except (AttributeError, ValueError):
        return repr(x)


def _is_float(x) -> bool:
    d = x.dtype
    return d.is_floating or d.is_complex


def _where(x) -> str:
    """' (Op at file:line: `code`)' for a value whose origin is known."""
    o = origin_of(x)
    return f" ({o.describe()})" if o is not None and o.filename else ""


class _Graph:
    """The recorded calls of a tape, indexed for walks in both directions."""

    def __init__(self, tape):
        self.entries = tape._entries
        self.producer = {}
        for k, (_, _, outputs, _) in enumerate(self.entries):
            for o in (outputs if type(outputs) is tuple else (outputs,)):
                self.producer[id(o)] = k

    @staticmethod
    def outs(entry):
        outputs = entry[2]
        return outputs if type(outputs) is tuple else (outputs,)

    def ancestors(self, targets, float_only):
        """Ids of every value the targets depend on through recorded calls."""
        need = {id(t) for t in targets if t is not None}
        for entry in reversed(self.entries):
            outs = [o for o in self.outs(entry) if id(o) in need]
            if not outs or (float_only and not any(_is_float(o) for o in outs)):
                continue
            for x in entry[1]:
                if not float_only or _is_float(x):
                    need.add(id(x))
        return need

    def descendants(self, source):
        seen = {id(source)}
        for entry in self.entries:
            if any(id(x) in seen for x in entry[1]):
                seen.update(id(o) for o in self.outs(entry))
        return seen

    def consumers(self, ids):
        return [e for e in self.entries if any(id(x) in ids for x in e[1])]


def _int_break(graph, desc, need_any) -> str:
    for op, inputs, outputs, _ in graph.entries:
        if not any(id(x) in desc and _is_float(x) for x in inputs):
            continue
        for o in graph.outs((op, inputs, outputs, None)):
            if id(o) in need_any and not _is_float(o):
                hint = "" if _where(o) else _LINE_HINT
                return (f"the path to the target goes through {op.name}{_where(o)}, whose "
                        f"result has the integer dtype {o.dtype.name}: integer tensors carry "
                        f"no gradient. Keep the computation in floating point{hint}")
    return ""


def _blocked_reason(notes, desc, need_any, target_ids) -> str:
    if notes is None:
        return ""
    hit = {i for key, i in notes.tainted.items() if key in need_any or key in target_ids}
    for i in sorted(hit):
        name, origin, inputs, _ = notes.blocked[i]
        if not any(id(x) in desc for x in inputs):
            continue
        where = origin.describe() if origin is not None else name
        if name == "StopGradient":
            return f"tf.stop_gradient blocks the path to the target: {where}"
        if name in _ASSIGN_OPS:
            var = next((x for x in inputs if getattr(x, "_is_variable", False)), None)
            what = f"Variable '{var.name}'" if var is not None else "a Variable"
            return (f"the value reaches the target only through an assign into {what} "
                    f"({where}). Assignment has no gradient: the target reads the Variable, "
                    "whose gradient is its own; compute the target from the value itself")
        return (f"the path to the target goes through {name}, an op with no gradient: {where}")
    return ""


def _round_trip_reason(graph, tape, desc, need_any) -> str:
    """A recorded value that re-entered as a constant (NumPy / Python round trip)."""
    watched = tape._watched
    consts = {}
    for entry in graph.entries:
        if not any(id(o) in need_any for o in graph.outs(entry)):
            continue
        for x in entry[1]:
            if (id(x) not in graph.producer and id(x) not in watched
                    and not getattr(x, "_is_variable", False) and x._value is not None):
                consts[id(x)] = (x, entry)
    produced = [o for e in graph.entries for o in graph.outs(e)
                if id(o) in desc and o._value is not None]
    for c, entry in consts.values():
        for o in produced:
            cv, ov = np.asarray(c._value), np.asarray(o._value)
            if cv.shape == ov.shape and cv.size and np.array_equal(cv, ov.astype(cv.dtype)):
                used = origin_of(graph.outs(entry)[0])
                at = f" and came back as a constant used by {used.describe()}" if used and \
                    used.filename else " and came back as a constant"
                return (f"the value of {graph_op_name(graph, o)}{_where(o)} left tapeflow "
                        f"(.numpy(), np.array or float()){at}: the tape cannot follow values "
                        "through NumPy or Python numbers; keep the computation in tapeflow "
                        "ops")
    return ""


def _leaves(target):
    """(leaf value, Origin of the op that used it) behind `target`, from noted origins."""
    seen, stack, out = set(), [target], []
    while stack:
        t = stack.pop()
        o = origin_of(t)
        if o is None or o.inputs is None or id(t) in seen:
            continue
        seen.add(id(t))
        for x in o.inputs:
            if getattr(x, "_is_variable", False):
                continue
            if origin_of(x) is None:
                out.append((x, o))
            else:
                stack.append(x)
    return out


def _outside_reason(graph, desc, targets, notes) -> str:
    """The source was used on the tape, but the target was made off it."""
    produced = [o for e in graph.entries for o in graph.outs(e)
                if id(o) in desc and o._value is not None]
    for t in targets:
        for leaf, user in (_leaves(t) if t is not None else ()):
            lv = np.asarray(leaf._value) if leaf._value is not None else None
            for o in produced:
                ov = np.asarray(o._value)
                if lv is not None and lv.shape == ov.shape and lv.size and \
                        np.array_equal(lv, ov.astype(lv.dtype)):
                    return (f"the value of {graph_op_name(graph, o)}{_where(o)} left tapeflow "
                            "(.numpy(), np.array or float()) and came back as a constant used "
                            f"by {user.describe()}: the tape cannot follow values through NumPy "
                            "or Python numbers; keep the computation in tapeflow ops")
    hint = "" if numerics.modes.explain else _LINE_HINT
    return ("the target was not computed by any op this tape recorded: it came from values "
            "the tape did not see (a value that went through NumPy, .numpy() or float(), a "
            f"constant, or a computation before the `with` block){_pause_text(notes)}{hint}")


def graph_op_name(graph, tensor) -> str:
    k = graph.producer.get(id(tensor))
    return graph.entries[k][0].name if k is not None else "a value"


def _provenance_read(target, var):
    """(Origin of the op that read `var` outside the tape, if the target used it)."""
    seen, stack = set(), [target]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        o = origin_of(t)
        if o is None or o.inputs is None:
            continue
        if any(x is var for x in o.inputs):
            return o
        stack.extend(x for x in o.inputs if not getattr(x, "_is_variable", False))
    return None


def _rebound_from(source):
    o = origin_of(source)
    if o is None or o.inputs is None:
        return None, o
    var = next((x for x in o.inputs if getattr(x, "_is_variable", False)), None)
    return var, o


def _unread_reason(tape, source, targets, notes) -> str:
    if getattr(source, "_is_variable", False):
        if not source.trainable and id(source) not in tape._watched:
            return ("the Variable is not trainable (trainable=False), so the tape does not "
                    "watch it; create it with trainable=True or call tape.watch(v)")
        if id(source) not in tape._watched and not tape._watch_accessed:
            return ("the tape was created with watch_accessed_variables=False and this "
                    "Variable was never passed to tape.watch")
        for t in targets:
            read = _provenance_read(t, source) if t is not None else None
            if read is not None:
                return (f"it was never read while the tape recorded: the target uses "
                        f"{read.describe()}, which read it before the `with` block (or inside "
                        "stop_recording). Move that computation inside the `with` block")
        hint = "" if numerics.modes.explain else _LINE_HINT
        if notes is not None and notes.pauses:
            return (f"it was never read while the tape recorded: the tape stopped recording "
                    f"at {notes.pauses[-1].where} (stop_recording), and ops run there (or "
                    f"before the `with` block) are not differentiated{hint}")
        return ("it was never read while the tape recorded, so the target cannot depend on "
                "it through this tape. If the target uses a value computed from it before "
                f"the `with` block, move that computation inside{hint}")
    if id(source) not in tape._watched:
        var, o = _rebound_from(source)
        if var is not None:
            return (f"the source is a tf.Tensor, not a Variable: it was made by "
                    f"{o.describe()} from {_name(var)}. Rebinding a Variable (`v = v - x`) "
                    "replaces it with a Tensor the tape does not watch; update it in place "
                    "with v.assign(...) / v.assign_sub(...)")
        return ("the source is a tf.Tensor the tape never watched: tapes watch trainable "
                "Variables on their own, other tensors only after tape.watch(x) inside the "
                "`with` block (a Variable rebound with `v = v - x` also becomes such a Tensor; "
                "update Variables with v.assign_sub(x))")
    return ""


def _pause_text(notes) -> str:
    if notes is None or not notes.pauses:
        return ""
    return (f"; note that the tape stopped recording ({notes.pauses[-1].where}): ops run "
            "inside stop_recording() are not differentiated")


def _explain_one(tape, graph, source, targets, need_any, need_float, notes) -> str | None:
    if not _is_float(source):
        return (f"it has the integer dtype {source.dtype.name}: only floating-point tensors "
                "have gradients; cast it with tf.cast(x, tf.float32) and use that")
    if id(source) in need_float:
        return None
    target_ids = {id(t) for t in targets if t is not None}
    desc = graph.descendants(source)
    reason = _blocked_reason(notes, desc, need_any, target_ids)
    if reason:
        return reason
    if id(source) in need_any:
        return _int_break(graph, desc, need_any) or "its path to the target is not floating"
    # `desc` holds more than the source itself exactly when a recorded op read it.
    if len(desc) == 1:
        return _unread_reason(tape, source, targets, notes) or (
            "it was watched but never used while the tape recorded" + _pause_text(notes))
    reason = _round_trip_reason(graph, tape, desc, need_any)
    if reason:
        return reason
    if not any(id(t) in graph.producer for t in targets):
        return _outside_reason(graph, desc, targets, notes)
    users = ", ".join(sorted({e[0].name for e in graph.consumers({id(source)})})) or "ops"
    return (f"the target does not depend on it: it was used by {users}, but none of those "
            "results lead to the target (a value that went through NumPy, a Python number "
            f"or another tape loses its connection){_pause_text(notes)}")


def _target_reason(tape, targets) -> str:
    live = [t for t in targets if t is not None]
    if not live:
        return "the target is None"
    if all(not _is_float(t) for t in live):
        return f"the target has the integer dtype {live[0].dtype.name}: it has no gradient"
    return ""


def explain_gradients(tape, target, sources):
    """For each source, None when its gradient exists, else why it is None.

    Args:
        tape: the `GradientTape` (before `tape.gradient`, or a persistent one; a
            non-persistent tape that already gave gradients with None among them
            keeps the explanations made then).
        target: what is differentiated.
        sources: a Variable/tensor or a nested structure of them.

    Returns:
        The structure of `sources`, with None or a plain-words reason per source.
    """
    flat_targets, flat_sources = nest.flatten(target), nest.flatten(sources)
    if tape._used and not tape._persistent and not tape._entries:
        reasons = [_recent(s, tape) for s in flat_sources]
        if any(r is not None for r in reasons):
            return nest.pack_sequence_as(sources, reasons)
        raise RuntimeError(
            "explain_gradients: this non-persistent tape already computed its gradient and "
            "released what it recorded. Call explain_gradients before tape.gradient, create "
            "the tape with persistent=True, or turn on "
            "tapeflow.debug.explain_none_gradients(True).")
    return nest.pack_sequence_as(sources, _explain_flat(tape, flat_targets, flat_sources))


def _recent(source, tape=None):
    """The reason kept for `source` by the last `tape.gradient` (of `tape`, if given)."""
    entry = _RECENT.get(id(source))
    if entry is None or entry[0]() is not source or (tape is not None and entry[2] != id(tape)):
        return None
    return entry[1]


def _explain_flat(tape, flat_targets, flat_sources):
    graph = _Graph(tape)
    need_any = graph.ancestors(flat_targets, False)
    need_float = graph.ancestors(flat_targets, True)
    target_reason = _target_reason(tape, flat_targets)
    notes = tape._why
    out = []
    for s in flat_sources:
        if target_reason and _is_float(s):
            out.append(target_reason)
            continue
        out.append(_explain_one(tape, graph, s, flat_targets, need_any, need_float, notes))
    return out


def on_none_gradients(tape, flat_targets, flat_sources, grads) -> None:
    """Called by `tape.gradient` when some gradient is None."""
    if not _MODE["warn"] and any(g is not None for g in grads):
        return
    reasons = _explain_flat(tape, flat_targets, flat_sources)
    _RECENT.clear()
    for s, g, r in zip(flat_sources, grads, reasons):
        if g is None:
            r = r or ("the recorded ops lead from it to the target, but a gradient rule "
                      "returned None for it (a custom_gradient, or an op whose gradient is "
                      "defined only for some inputs)")
            try:
                _RECENT[id(s)] = (weakref.ref(s), r, id(tape))
            except TypeError:
                continue
            if _MODE["warn"]:
                warnings.warn(f"Gradient of {_name(s)} is None: {r}.", UserWarning,
                              stacklevel=3)


def reasons_for(variables) -> list:
    """'name: reason' for each of `variables` explained by the last tape.gradient."""
    out = []
    for v in variables:
        reason = _recent(v)
        if reason is not None:
            out.append(f"{getattr(v, 'name', _name(v))}: {reason}")
    return out


def explain_none_gradients(enabled: bool = True) -> None:
    """Makes every `tape.gradient` warn with the reason for each None gradient.

    While on, every op also notes its user line and inputs (see
    `tapeflow.debugging.origin`), so explanations name lines and values computed
    outside the tape; this costs time, so turn it off when done.
    """
    _MODE["warn"] = bool(enabled)
    numerics.set_mode("explain", enabled)
