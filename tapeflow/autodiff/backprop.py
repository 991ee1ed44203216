"""The reverse walk over a tape's recorded calls, and jacobians built on it.

Gradient rules have one signature: `rule(inputs, outputs, attrs, dy)`, with
`dy` one tensor for single-output ops and a tuple for multi-output ops; they
return one gradient per input (None where an input gets none). A rule that
declares a fifth parameter, `needs` (one bool per input), is told which
inputs the walk wants a gradient for, and may return None for the others
instead of computing them (a matmul's gradient for its data batch). Rules are
written in tapeflow ops, so an outer tape records the backward pass and
nested tapes give higher derivatives. Broadcasting is undone here, once: a
rule may return a gradient of the broadcast shape.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import errors
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


# Ops whose gradient rules only combine dy with broadcasting elementwise ops or matmul
# (batched over leading axes): a leading batch axis on dy passes through them unchanged,
# so `jacobian` can push all its rows through one backward walk.
_BATCHABLE = frozenset({
    "Neg", "Abs", "Exp", "Expm1", "Log", "Log1p", "Sqrt", "Rsqrt", "Square", "Reciprocal",
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Tanh", "Sigmoid",
    "Softplus", "Erf", "Relu", "Elu", "AddV2", "Sub", "Mul", "RealDiv", "Pow", "Maximum",
    "Minimum", "SquaredDifference", "Atan2", "SelectV2", "Identity", "Cast",
    "ReadVariableOp", "MatMul", "BroadcastTo", "SparseSoftmaxCrossEntropyWithLogits",
    # fused gradient ops, met when a jacobian differentiates a gradient (a Hessian)
    "ReluGrad", "SinGrad", "CosGrad", "TanhGrad", "SigmoidGrad", "SqrtGrad", "RsqrtGrad",
    "SoftplusGrad"})


# Rules for ops whose own gradient rule would mistake the batch axis for a data axis
# (shape ops, reductions, slices): the same gradient with the axis accounted for, in ops.
def _batch_reshape(inputs, outputs, attrs, dy, batch):
    array_ops = _ops()[0]
    g = array_ops.reshape(dy, [batch] + list(inputs[0]._value.shape))
    return (g,) + (None,) * (len(inputs) - 1)


def _batch_transpose(inputs, outputs, attrs, dy, batch):
    array_ops = _ops()[0]
    inv = np.argsort(attrs["perm"]).tolist()
    return (array_ops.transpose(dy, [0] + [p + 1 for p in inv]),)


def _batch_reduce(inputs, outputs, attrs, dy, batch, mean=False):
    array_ops = _ops()[0]
    shape = inputs[0]._value.shape
    axes = range(len(shape)) if attrs["axis"] is None else attrs["axis"]
    g = array_ops.reshape(dy, [batch] + [1 if i in axes else d for i, d in enumerate(shape)])
    if mean:
        g = g * (np.size(outputs._value) / max(inputs[0]._value.size, 1))
    return (array_ops.broadcast_to(g, [batch] + list(shape)),)


def _batch_slice(inputs, outputs, attrs, dy, batch):
    from tapeflow.framework.op import execute
    from tapeflow.ops import indexing_ops
    xv = inputs[0]._value
    base = Tensor(np.broadcast_to(xv, (batch,) + xv.shape))   # only its shape is read
    return (execute(indexing_ops._SLICE_GRAD, (base, dy),
                    {"key": (slice(None),) + tuple(attrs["key"])}),)


def _batch_reduce_grad(inputs, outputs, attrs, g, batch, mean=False):
    # SumGrad/MeanGrad(x, dy) spread dy over x: the adjoint reduces g over x's axes.
    reduce_ops = _ops()[2]
    xv = inputs[0]._value
    axes = range(xv.ndim) if attrs["axis"] is None else attrs["axis"]
    out = reduce_ops.reduce_sum(g, axis=[a + 1 for a in axes], keepdims=attrs["keepdims"])
    if mean:
        out = out * (np.size(inputs[1]._value) / max(xv.size, 1))
    return None, out


def _batch_slice_grad(inputs, outputs, attrs, g, batch):
    # StridedSliceGrad(x, dy) scatters dy into zeros shaped like x: the adjoint slices g.
    from tapeflow.ops import indexing_ops
    return None, indexing_ops.getitem(g, (slice(None),) + tuple(attrs["key"]))


_BATCH_RULES = {
    "SumGrad": _batch_reduce_grad, "StridedSliceGrad": _batch_slice_grad,
    "MeanGrad": lambda i, o, a, g, b: _batch_reduce_grad(i, o, a, g, b, mean=True),
    "Reshape": _batch_reshape, "ExpandDims": _batch_reshape, "Squeeze": _batch_reshape,
    "Transpose": _batch_transpose, "Sum": _batch_reduce, "StridedSlice": _batch_slice,
    "Mean": lambda i, o, a, dy, b: _batch_reduce(i, o, a, dy, b, mean=True)}


def _batchable(entry):
    op, inputs, _, attrs = entry
    name = op.name
    if name in _BATCH_RULES:
        return True
    if name in _BATCHABLE:
        return name != "MatMul" or all(x._value.ndim >= 2 for x in inputs)
    if name in ("Softmax", "LogSoftmax", "SoftmaxGrad"):   # axis from the end: unaffected
        return attrs["axis"] < 0
    return False


def backward(entries, watched, targets, sources, output_gradients, zero_unconnected,
             aliases=None, batch=None):
    """Gradients of sum(targets) w.r.t. each source (list, aligned with `sources`).

    `aliases` maps the id of a snapshot of a Variable (taken when the Variable
    was updated while the tape recorded) to the Variable it stands for.
    `batch` (eager only, see `jacobian`): every gradient carries a leading axis
    of that size, which broadcasting is never undone over.
    """
    array_ops, math_ops, _ = _ops()
    add = math_ops.add
    source_ids = {id(s) for s in sources}
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
        grads[id(t)] = seed if prev is None else add(prev, seed)

    pop = grads.pop
    for op, inputs, outputs, attrs in reversed(entries):
        # An output's gradient is complete once its producer is reached (entries
        # are in program order), so it is popped: memory stays at the frontier.
        if type(outputs) is tuple:
            dys = [grads.get(id(o)) if id(o) in source_ids else pop(id(o), None)
                   for o in outputs]
            if all(d is None for d in dys):
                continue
            dy = tuple(array_ops.zeros_like(o) if d is None and _is_float(o) else d
                       for o, d in zip(outputs, dys))
        else:
            oid = id(outputs)
            dy = grads.get(oid) if oid in source_ids else pop(oid, None)
            if dy is None:
                continue
        rule = op.grad
        if rule is None:
            names = ", ".join(f"#{i} {x.dtype.name}{tuple(x.shape)}" for i, x in enumerate(inputs))
            raise LookupError(
                f"No gradient defined for operation '{op.name}' (op type: {op.name}); its "
                f"inputs were {names}. Wrap the computation in tf.stop_gradient if no "
                "gradient should flow through it, or define one with tf.custom_gradient.")
        if batch is not None and op.name in _BATCH_RULES:
            in_grads = _BATCH_RULES[op.name](inputs, outputs, attrs, dy, batch)
        elif op.grad_needs:
            if len(inputs) == 2:    # binary ops: the common case, without a generator
                a, b = inputs
                needs = (id(a) in watched and _is_float(a), id(b) in watched and _is_float(b))
            else:
                needs = tuple(id(x) in watched and _is_float(x) for x in inputs)
            in_grads = rule(inputs, outputs, attrs, dy, needs)
        else:
            in_grads = rule(inputs, outputs, attrs, dy)
        for x, g in zip(inputs, in_grads):
            if g is None:
                continue
            xid = id(x)
            if xid not in watched:
                continue
            xv, gv = x._value, g._value
            if batch is not None:
                if xv.dtype.kind not in "fc":
                    continue
                if gv.shape != (batch,) + xv.shape:
                    g = _unbroadcast_batched(g, (batch,) + xv.shape)
            elif xv is not None and gv is not None:   # eager: compare the arrays directly
                if xv.dtype.kind not in "fc":
                    continue
                if gv.shape != xv.shape:
                    g = unbroadcast(g, x)
            else:
                if not _is_float(x):
                    continue
                if g.shape != x.shape:
                    g = unbroadcast(g, x)
            prev = grads.get(xid)
            grads[xid] = g if prev is None else add(prev, g)

    if aliases:
        for sid, var in aliases.items():
            g = grads.pop(sid, None)
            if g is not None:
                prev = grads.get(id(var))
                grads[id(var)] = g if prev is None else add(prev, g)

    result = []
    for s in sources:
        g = grads.get(id(s))
        if g is not None and not _is_float(s):
            g = None
        if g is None and zero_unconnected:
            g = array_ops.zeros_like(s)
        elif g is not None and s._is_variable and (
                g._value.dtype != s._value.dtype if g._value is not None else
                g.dtype is not s.dtype):
            g = math_ops.cast(g, s.dtype)
        result.append(g)
    return result


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
    (`_BATCHABLE`); otherwise row by row, one walk per element of `target`."""
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
