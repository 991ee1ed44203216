"""The reverse walk over a tape's recorded calls, and jacobians built on it.

Gradient rules have one signature: `rule(inputs, outputs, attrs, dy)`, with
`dy` one tensor for single-output ops and a tuple for multi-output ops; they
return one gradient per input (None where an input gets none). An op defined
with `grad_needs=True` has its rule also given `needs` (one bool per input):
which inputs the walk wants a gradient for, so that it may return None for
the others instead of computing them (a matmul's gradient for its data batch).
An op's residuals (see `OpDef`) follow its outputs in `outputs`; they get no
gradient. Batched walks (`jacobian`) use each op's declared `batch_rule`.
Rules are written in tapeflow ops, so an outer tape records the backward pass
and nested tapes give higher derivatives. Broadcasting is undone here, once: a
rule may return a gradient of the broadcast shape.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import errors
from tapeflow.framework.op import TRANSPARENT
from tapeflow.framework.tensor import Tensor

_OPS = None


def _ops():
    # Imported on first use: the op modules import this package's custom_gradient.
    global _OPS
    if _OPS is None:
        from tapeflow.ops import array_ops, math_ops, reduce_ops
        _OPS = (array_ops, math_ops, reduce_ops)
    return _OPS


def _is_float(x) -> bool:
    v = x._value
    if v is not None:                     # eager tensor or Variable: no DType lookup
        return v.dtype.kind in "fc"
    d = x.dtype
    return d.is_floating or d.is_complex


def unbroadcast(g, x):
    """Sums `g` down to the shape of `x` (the one place broadcasting is undone)."""
    gs, xs = g.shape, x.shape
    if gs == xs:
        return g
    array_ops, _, reduce_ops = _ops()
    if gs.rank is None or xs.rank is None:
        return g
    lead = gs.rank - xs.rank
    axes = list(range(lead))
    keep = []
    for i, d in enumerate(xs.as_list()):
        gd = gs[lead + i]
        if d == 1 and gd != 1:
            keep.append(lead + i)
    if not axes and not keep:
        return g
    out = reduce_ops.reduce_sum(g, axis=axes + keep)
    if keep or out.shape != xs:
        target = [1 if d is None and (lead + i) in keep else d for i, d in enumerate(xs.as_list())]
        if any(d is None for d in target):
            return array_ops.reshape(out, array_ops.shape(x))
        out = array_ops.reshape(out, target)
    return out


def _unbroadcast_batched(g, shape):
    """Sums `g` to `shape` = (batch, *x.shape) over everything but the leading axis."""
    _, _, reduce_ops = _ops()
    gs = g._value.shape
    lead = len(gs) - len(shape)
    axes = [1 + i for i in range(lead)] + [
        lead + i for i in range(1, len(shape)) if shape[i] == 1 and gs[lead + i] != 1]
    if axes:
        g = reduce_ops.reduce_sum(g, axis=axes, keepdims=True)
    if g._value.shape != shape:
        array_ops, _, _ = _ops()
        g = array_ops.reshape(g, list(shape))
    return g


def _batchable(entry):
    """Whether the op's gradient can carry a leading batch axis (`OpDef.batch_rule`)."""
    op, inputs, _, attrs = entry
    if op.batch_rule is None:
        return False
    return op.batch_when is None or op.batch_when(inputs, attrs)


def backward(entries, watched, targets, sources, output_gradients, zero_unconnected,
             aliases=None, batch=None):
    """Gradients of sum(targets) w.r.t. each source (list, aligned with `sources`).

    `aliases` maps the id of a snapshot of a Variable (taken when the Variable
    was updated while the tape recorded) to the Variable it stands for.
    `batch` (eager only, see `jacobian`): every gradient carries a leading axis
    of that size, which broadcasting is never undone over.
    """
    source_ids = {id(s) for s in sources}
    grads = _seeds(targets, watched, source_ids, output_gradients)
    pop, get = grads.pop, grads.get
    add = _ops()[1].add
    for entry in reversed(entries):
        # An output's gradient is complete once its producer is reached (entries
        # are in program order), so it is popped: memory stays at the frontier.
        op, inputs, outputs, attrs = entry
        if type(outputs) is tuple:
            dy = _gradient_of_outputs(op, outputs, grads, source_ids)
        else:
            oid = id(outputs)
            dy = get(oid) if oid in source_ids else pop(oid, None)
        if dy is None:
            continue
        # The eager common case is spelled out here (it is most of a small step's
        # walk); `_call_rule` and `_accumulate` hold the general rules.
        rule = op.grad
        if batch is not None or rule is None:
            in_grads = _call_rule(entry, dy, watched, batch)
        elif not op.grad_needs:
            in_grads = rule(inputs, outputs, attrs, dy)
        elif len(inputs) == 2:
            a, b = inputs
            in_grads = rule(inputs, outputs, attrs, dy,
                            (id(a) in watched and _is_float(a), id(b) in watched and _is_float(b)))
        else:
            in_grads = _call_rule(entry, dy, watched, batch)
        for x, g in zip(inputs, in_grads):
            if g is None or id(x) not in watched:
                continue
            xv, gv = x._value, g._value
            if (batch is None and xv is not None and gv is not None
                    and gv.shape == xv.shape and xv.dtype.kind in "fc"):
                prev = get(id(x))
                grads[id(x)] = g if prev is None else add(prev, g)
            else:
                _accumulate(x, g, grads, batch)
    if aliases:
        for sid, var in aliases.items():
            g = grads.pop(sid, None)
            if g is not None:
                prev = grads.get(id(var))
                grads[id(var)] = g if prev is None else add(prev, g)
    out = []
    for s in sources:
        g = grads.get(id(s))
        # A gradient of the source's own float dtype is returned as it is (the
        # common case, spelled out); `_result` handles the rest.
        if g is None or g._value is None or s._value is None or s._value.dtype != g._value.dtype \
                or s._value.dtype.kind not in "fc":
            g = _result(g, s, zero_unconnected)
        out.append(g)
    return out


def _seeds(targets, watched, source_ids, output_gradients):
    """The starting gradients: `output_gradients`, or ones shaped like each target."""
    array_ops, math_ops, _ = _ops()
    grads = {}
    for i, t in enumerate(targets):
        if t is None or not (id(t) in watched or id(t) in source_ids) or not _is_float(t):
            continue
        if output_gradients is not None and output_gradients[i] is not None:
            seed = output_gradients[i]
            if not isinstance(seed, Tensor):
                seed = array_ops.constant(seed, dtype=t.dtype)
        elif t._value is not None:
            seed = Tensor(np.ones(t._value.shape, t._value.dtype))   # a constant: no op needed
        else:
            seed = array_ops.ones_like(t)
        prev = grads.get(id(t))
        grads[id(t)] = seed if prev is None else math_ops.add(prev, seed)
    return grads


def _gradient_of_outputs(op, outputs, grads, source_ids):
    """dy of a multi-output call (a tuple; one tensor when the op's own outputs are one
    and the rest residuals), zeros for outputs that got none; None when none did."""
    n = op.num_outputs
    visible = outputs if len(outputs) == n else outputs[:n]
    dys = [grads.get(id(o)) if id(o) in source_ids else grads.pop(id(o), None)
           for o in visible]
    if all(d is None for d in dys):
        return None
    zeros_like = _ops()[0].zeros_like
    dy = tuple(zeros_like(o) if d is None and _is_float(o) else d for o, d in zip(visible, dys))
    return dy[0] if n == 1 else dy


def _call_rule(entry, dy, watched, batch):
    """The op's rule (its batch rule in a batched walk), told `needs` if it asks."""
    op, inputs, outputs, attrs = entry
    rule = op.grad
    if rule is None:
        names = ", ".join(f"#{i} {x.dtype.name}{tuple(x.shape)}" for i, x in enumerate(inputs))
        raise LookupError(
            f"No gradient defined for operation '{op.name}' (op type: {op.name}); its "
            f"inputs were {names}. Wrap the computation in tf.stop_gradient if no "
            "gradient should flow through it, or define one with tf.custom_gradient.")
    if batch is not None and op.batch_rule is not TRANSPARENT:
        return op.batch_rule(inputs, outputs, attrs, dy, batch)
    if not op.grad_needs:
        return rule(inputs, outputs, attrs, dy)
    if len(inputs) == 2:    # binary ops: the common case, without a generator
        a, b = inputs
        needs = (id(a) in watched and _is_float(a), id(b) in watched and _is_float(b))
    else:
        needs = tuple(id(x) in watched and _is_float(x) for x in inputs)
    return rule(inputs, outputs, attrs, dy, needs)


def _accumulate(x, g, grads, batch):
    """Adds a watched input's gradient (summed back over broadcast axes) to its total."""
    xv, gv = x._value, g._value
    if batch is not None:
        if xv.dtype.kind not in "fc":
            return
        if gv.shape != (batch,) + xv.shape:
            g = _unbroadcast_batched(g, (batch,) + xv.shape)
    elif xv is not None and gv is not None:   # eager: compare the arrays directly
        if xv.dtype.kind not in "fc":
            return
        if gv.shape != xv.shape:
            g = unbroadcast(g, x)
    else:
        if not _is_float(x):
            return
        if g.shape != x.shape:
            g = unbroadcast(g, x)
    prev = grads.get(id(x))
    grads[id(x)] = g if prev is None else _ops()[1].add(prev, g)


def _result(g, source, zero_unconnected):
    """A source's gradient as returned: None or zeros when unconnected, in its dtype."""
    array_ops, math_ops, _ = _ops()
    if g is not None and not _is_float(source):
        g = None
    if g is None:
        return array_ops.zeros_like(source) if zero_unconnected else None
    if source._is_variable and (g._value.dtype != source._value.dtype if g._value is not None
                                else g.dtype is not source.dtype):
        g = math_ops.cast(g, source.dtype)
    return g


def _with_tape_paused(tape, fn):
    was = tape._recording
    if was:
        tape._pop()
    try:
        return fn()
    finally:
        if was:
            tape._push()


def _producers(entries, target):
    """The recorded calls that `target` depends on (the only ones a walk from it visits)."""
    needed = {id(target)}
    out = []
    for e in reversed(entries):
        outs = e[2] if type(e[2]) is tuple else (e[2],)
        if any(id(o) in needed for o in outs):
            out.append(e)
            needed.update(id(x) for x in e[1])
    return out


def jacobian(tape, target, sources, zero_unconnected):
    """All rows in one batched backward walk when every recorded op allows it
    (its `batch_rule`); otherwise row by row, one walk per element of `target`."""
    from tapeflow.utils import nest
    array_ops, _, _ = _ops()
    flat_sources = nest.flatten(sources)
    n = target.shape.num_elements()
    if n is None:
        raise errors.InvalidArgumentError(
            f"jacobian needs a target of known shape; got {target.shape}.")
    tshape = target.shape.as_list()

    np_dtype = target.dtype._np

    def run_batched():
        # All rows at once: the seed is the identity, one row per target element.
        seed = Tensor(np.eye(n, dtype=np_dtype).reshape([n] + tshape))
        gs = backward(tape._entries, tape._watched, [target], flat_sources, [seed],
                      False, tape._aliases, batch=n)
        out = []
        for s, g in zip(flat_sources, gs):
            if g is None:
                out.append(array_ops.zeros(tshape + s.shape.as_list(), s.dtype)
                           if zero_unconnected else None)
            else:
                out.append(array_ops.reshape(g, tshape + s.shape.as_list()))
        return out

    if n and target._value is not None and all(
            _batchable(e) for e in _producers(tape._entries, target)):
        return nest.pack_sequence_as(sources, _with_tape_paused(tape, run_batched))

    def run():
        rows = [[] for _ in flat_sources]
        flat_seed = np.zeros(n, np_dtype)
        for i in range(n):
            # Seeds are plain constants: building them with ops would cost as much as
            # the backward walk itself for small graphs.
            flat_seed[i] = 1
            seed = Tensor(flat_seed.reshape(tshape).copy())
            flat_seed[i] = 0
            gs = backward(tape._entries, tape._watched, [target], flat_sources, [seed],
                          zero_unconnected, tape._aliases)
            for r, g in zip(rows, gs):
                r.append(g)
        out = []
        for s, r in zip(flat_sources, rows):
            if any(g is None for g in r):
                out.append(None)
                continue
            stacked = array_ops.stack(r) if n else array_ops.zeros([0] + s.shape.as_list(), s.dtype)
            out.append(array_ops.reshape(stacked, tshape + s.shape.as_list()))
        return out

    return nest.pack_sequence_as(sources, _with_tape_paused(tape, run))


def batch_jacobian(tape, target, source, zero_unconnected):
    """For each example b: d target[b] / d source[b], assuming examples are independent."""
    array_ops, _, _ = _ops()
    # As TF: both must be at least [batch, n]; a rank-1 "batch" of scalars is ambiguous.
    if target.shape.rank is None or target.shape.rank < 2 or \
            any(d is None for d in target.shape.as_list()[1:]):
        raise errors.InvalidArgumentError(
            "batch_jacobian needs a target of shape [batch, ...] with rank >= 2 and known "
            f"inner dims; got shape {target.shape}.")
    if source.shape.rank is None or source.shape.rank < 2:
        raise errors.InvalidArgumentError(
            f"batch_jacobian needs a source of shape [batch, ...] with rank >= 2; got shape "
            f"{source.shape}.")
    tshape = target.shape.as_list()
    inner = 1
    for d in tshape[1:]:
        inner *= d

    def run_batched():
        # Seed j selects inner element j of every example: all inner elements in one walk.
        seed_np = np.zeros((inner, tshape[0], inner), target.dtype._np)
        seed_np[np.arange(inner), :, np.arange(inner)] = 1
        seed = Tensor(seed_np.reshape([inner] + tshape))
        (g,) = backward(tape._entries, tape._watched, [target], [source], [seed], False,
                        tape._aliases, batch=inner)
        sshape = source.shape.as_list()
        out_shape = [sshape[0]] + tshape[1:] + sshape[1:]
        if g is None:
            return array_ops.zeros(out_shape, source.dtype) if zero_unconnected else None
        g = array_ops.transpose(g, [1, 0] + list(range(2, len(sshape) + 1)))
        return array_ops.reshape(g, out_shape)

    if inner and target._value is not None and all(
            _batchable(e) for e in _producers(tape._entries, target)):
        return _with_tape_paused(tape, run_batched)

    def run():
        cols = []
        batch = array_ops.shape(target)[0] if tshape[0] is None else tshape[0]
        np_dtype = target.dtype._np
        for j in range(inner):
            if target._is_symbolic:
                onehot = array_ops.reshape(array_ops.one_hot(j, inner, dtype=target.dtype),
                                           tshape[1:])
                seed = array_ops.ones_like(target) * onehot
            else:
                seed_np = np.zeros((batch, inner), np_dtype)
                seed_np[:, j] = 1
                seed = Tensor(seed_np.reshape(tshape))
            (g,) = backward(tape._entries, tape._watched, [target], [source], [seed],
                            zero_unconnected, tape._aliases)
            if g is None:
                return None
            cols.append(g)
        stacked = array_ops.stack(cols, axis=1)
        b = array_ops.shape(source)[0] if source.shape[0] is None else source.shape[0]
        return array_ops.reshape(stacked, [b] + tshape[1:] + source.shape.as_list()[1:])

    return _with_tape_paused(tape, run)
