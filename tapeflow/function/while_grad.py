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
from tapeflow.framework.op import NO_GRADIENT, OpDef, execute
from tapeflow.framework.tensor_shape import TensorShape


def _is_float(x) -> bool:
    return x.dtype.is_floating or x.dtype.is_complex


def _history_op(loop):
    n = loop.n

    def kernel(*args):
        history = []
        loop.run(args, history)
        count = np.int32(len(history))
        stacks = []
        for k in range(n):
            if history:
                stacks.append(np.stack([np.asarray(h[k]) for h in history]))
            else:
                a = np.asarray(args[k])
                stacks.append(np.zeros((0,) + a.shape, a.dtype))
        return (count, *stacks)

    def shapes(inputs, attrs):
        from tapeflow.framework import dtypes
        out = [(TensorShape([]), dtypes.int32)]
        for s, d in loop.specs:
            out.append((TensorShape([None]).concatenate(s), d))
        return out

    return OpDef("WhileHistory", kernel, NO_GRADIENT, num_outputs=n + 1, shape_fn=shapes,
                 register=False)


def while_grad(loop, inputs, dy):
    """Gradients for the While op's inputs: loop variables, captures, Variables."""
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
    count, stacks = hist[0], hist[1:]
    bb = loop.bb
    body_inputs = bb.params + [bb.graph.capture(c) for c in loop.captures]
    nf, nc = len(float_idx), len(cap_idx)

    def back_cond(i, *rest):
        return i >= 0

    def back_body(i, *rest):
        ds, accs = rest[:nf], rest[nf:]
        xs = [array_ops.gather(stacks[k], i) for k in range(n)]
        sources = [xs[k] for k in float_idx] + [caps[j] for j in cap_idx] + variables
        with GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(sources)
            outs = replay(bb.graph, body_inputs, xs + caps, bb.outputs)
        grads = tape.gradient([outs[k] for k in float_idx], sources, output_gradients=list(ds),
                              unconnected_gradients="zero")
        return [i - 1] + list(grads[:nf]) + [a + g for a, g in zip(accs, grads[nf:])]

    d_init = [dys[k] if dys[k] is not None else array_ops.zeros_like(init[k])
              for k in float_idx]
    acc_init = [array_ops.zeros_like(caps[j]) for j in cap_idx] + \
        [array_ops.zeros_like(v) for v in variables]
    result = while_loop(back_cond, back_body, [count - 1] + d_init + acc_init)
    d_final, accs = result[1:1 + nf], result[1 + nf:]
    out = [None] * len(inputs)
    for k, g in zip(float_idx, d_final):
        out[k] = g
    for j, g in zip(cap_idx, accs[:nc]):
        out[n + j] = g
    for v_i, g in enumerate(accs[nc:]):
        out[n + n_cap + v_i] = g
    return tuple(out)
