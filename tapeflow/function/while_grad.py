"""The gradient of a traced `tf.while_loop`.

The forward While op keeps no intermediate values, so its gradient first runs
the loop again with a `WhileHistory` op that stacks every iteration's loop
variables (`[iterations, ...]` per variable). A backward `while_loop` then
walks the iterations in reverse: it takes iteration i's loop variables from
the stacks, replays one `body` step on them under a tape, and pulls the
incoming gradients back through it, summing the gradients of the captured
tensors and Variables the body reads over all iterations.

Because the forward loop runs again, loops with side effects (assign, print,
random draws) are not differentiated: that raises an error naming the op.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def grad_of_power(x):
    ...     with tf.GradientTape() as tape:
    ...         tape.watch(x)
    ...         _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
    ...                              (0, tf.ones_like(x)))
    ...     return tape.gradient(y, x)
    >>> float(grad_of_power(tf.constant(2.0)))     # d/dx x^3 = 3x^2
    12.0
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import errors
from tapeflow.framework.op import OpDef, execute
from tapeflow.framework.tensor_shape import TensorShape


def _is_float(x) -> bool:
    return x.dtype.is_floating or x.dtype.is_complex


def _varying(loop):
    """Loop variables whose shape may change between iterations (unknown dims)."""
    return [k for k, (s, _) in enumerate(loop.specs) if not s.is_fully_defined()]


def _padded_stack(arrays, rank):
    """Stacks arrays of one rank, zero-padded at the end of each axis to the largest."""
    top = [max(a.shape[d] for a in arrays) for d in range(rank)]
    out = np.zeros([len(arrays)] + top, arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[(i,) + tuple(slice(0, m) for m in a.shape)] = a
    return out


def _history_op(loop):
    """Runs the loop keeping each iteration's variables: the count, `[iterations, ...]` per
    variable, for variables of varying shape each iteration's shape (stacks are padded),
    and the final values. Differentiable (second derivatives of loops need it)."""
    n = loop.n
    varying = _varying(loop)

    def kernel(*args):
        history = []
        finals = loop.run(args, history)
        count = np.int32(len(history))
        stacks, shapes = [], []
        for k in range(n):
            rows = [np.asarray(h[k]) for h in history]
            a = np.asarray(args[k])
            if not rows:
                stacks.append(np.zeros((0,) + a.shape, a.dtype))
            elif k in varying:
                stacks.append(_padded_stack(rows, a.ndim))
            else:
                stacks.append(np.stack(rows))
            if k in varying:
                shapes.append(np.array([r.shape for r in rows], np.int32).reshape(
                    len(rows), a.ndim))
        return (count, *stacks, *shapes, *[np.asarray(f) for f in finals])

    def shape_fn(inputs, attrs):
        from tapeflow.framework import dtypes
        out = [(TensorShape([]), dtypes.int32)]
        for s, d in loop.specs:
            out.append((TensorShape([None]).concatenate(s), d))
        for k in varying:
            out.append((TensorShape([None, loop.specs[k][0].rank]), dtypes.int32))
        return out + list(loop.specs)

    def rule(inputs, outputs, attrs, dy):
        dys = list(dy)
        inject = dys[1:n + 1]
        finals = dys[1 + n + len(varying):]
        if all(d is None for d in inject + finals):
            return (None,) * len(inputs)
        return while_grad(loop, inputs, tuple(finals), inject=inject)

    return OpDef("WhileHistory", kernel, rule, num_outputs=2 * n + 1 + len(varying),
                 shape_fn=shape_fn, register=False)


# -- a block of a padded tensor: TakeBlock and PadBlock are each other's gradient -----------

def _take_block_kernel(x, size):
    return x[tuple(slice(0, int(s)) for s in size)]


def _pad_block_kernel(dy, like):
    out = np.zeros(np.shape(like), dy.dtype)
    out[tuple(slice(0, s) for s in dy.shape)] = dy
    return out


def _unknown_dims(x):
    return TensorShape([None] * x.shape.rank) if x.shape.rank is not None else x.shape


_TAKE_BLOCK = OpDef(
    "WhileTakeBlock", _take_block_kernel,
    lambda inputs, outputs, attrs, dy: (execute(_PAD_BLOCK, (dy, inputs[0])), None),
    shape_fn=lambda i, a: [(_unknown_dims(i[0]), i[0].dtype)])


def _shape_of(x):
    from tapeflow.ops import array_ops
    return array_ops.shape(x)


_PAD_BLOCK = OpDef(
    "WhilePadBlock", _pad_block_kernel,
    lambda inputs, outputs, attrs, dy: (execute(_TAKE_BLOCK, (dy, _shape_of(inputs[0]))),
                                        None),
    shape_fn=lambda i, a: [(i[1].shape, i[0].dtype)])


def while_grad(loop, inputs, dy, outputs=None, inject=None):
    """Gradients for the While op's inputs: loop variables, captures, Variables.

    `dy` holds the gradients of the final loop variables; `inject`, when given, those
    of each iteration's variables (the WhileHistory stacks), added as the reverse loop
    passes them.
    """
    from tapeflow.autodiff.tape import GradientTape
    from tapeflow.function.control_flow import replay, while_loop
    from tapeflow.ops import array_ops

    if loop.stateful:
        names = sorted({n.op.name for b in (loop.cb, loop.bb) for n in b.graph.nodes
                        if n.op.stateful and not n.op.pure_read})
        raise errors.UnimplementedError(
            None, None, "Cannot differentiate a traced tf.while_loop whose cond or body has "
            f"side effects ({', '.join(names)}): its gradient runs the loop again. Move the "
            "side effects out of the loop, or compute the gradient eagerly.")
    n, n_cap = loop.n, loop.n_cap
    init = list(inputs[:n])
    caps = list(inputs[n:n + n_cap])
    variables = list(loop.variables)
    dys = list(dy) if isinstance(dy, tuple) else [dy]
    float_idx = [k for k in range(n) if _is_float(init[k])]
    cap_idx = [j for j in range(n_cap) if _is_float(caps[j])]
    if not float_idx:
        return (None,) * len(inputs)

    hist = execute(_history_op(loop), tuple(inputs))
    count, stacks = hist[0], hist[1:n + 1]
    varying = _varying(loop)
    shape_hist = dict(zip(varying, hist[n + 1:n + 1 + len(varying)]))
    final = list(hist[n + 1 + len(varying):])
    inject = inject or [None] * n

    def row(stack, k, i):
        x = array_ops.gather(stack, i)
        if k in shape_hist:
            x = execute(_TAKE_BLOCK, (x, array_ops.gather(shape_hist[k], i)))
        return x
    bb = loop.bb
    body_inputs = bb.params + [bb.graph.capture(c) for c in loop.captures]
    nf, nc = len(float_idx), len(cap_idx)

    def back_cond(i, *rest):
        return i >= 0

    def back_body(i, *rest):
        ds, accs = rest[:nf], rest[nf:]
        xs = [row(stacks[k], k, i) for k in range(n)]
        sources = [xs[k] for k in float_idx] + [caps[j] for j in cap_idx] + variables
        with GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(sources)
            outs = replay(bb.graph, body_inputs, xs + caps, bb.outputs)
        grads = tape.gradient([outs[k] for k in float_idx], sources, output_gradients=list(ds),
                              unconnected_gradients="zero")
        d_xs = [g if inject[k] is None else g + row(inject[k], k, i)
                for k, g in zip(float_idx, grads[:nf])]
        return [i - 1] + d_xs + [a + g for a, g in zip(accs, grads[nf:])]

    d_init = [dys[k] if dys[k] is not None else array_ops.zeros_like(final[k])
              for k in float_idx]
    acc_init = [array_ops.zeros_like(caps[j]) for j in cap_idx] + \
        [array_ops.zeros_like(v) for v in variables]
    invariants = [TensorShape([])] + [loop.specs[k][0] for k in float_idx] + \
        [a.shape for a in acc_init]
    result = while_loop(back_cond, back_body, [count - 1] + d_init + acc_init,
                        shape_invariants=invariants)
    d_final, accs = result[1:1 + nf], result[1 + nf:]
    out = [None] * len(inputs)
    for k, g in zip(float_idx, d_final):
        out[k] = g
    for j, g in zip(cap_idx, accs[:nc]):
        out[n + j] = g
    for v_i, g in enumerate(accs[nc:]):
        out[n + n_cap + v_i] = g
    return tuple(out)
