"""Plan-time specialisation: a node whose op declares an inline form
(`OpDef(inline=...)`, see `ops/_inline.py`) is written into the plan as a
direct NumPy expression instead of a kernel call.

The inline form returns a template for the generated code, `{0}`, `{1}`, ...
standing for the inputs, and the constants it names, or None to keep the
kernel. Kernels that are plain NumPy ufuncs are replaced by their operator;
for any other kernel the template is first checked against it on a probe of
the node's shape and dtype, bit for bit, and the kernel is kept on any
difference, so a kernel that changes its arithmetic is never bypassed.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> from tapeflow.framework.graph import FuncGraph
    >>> from tapeflow.framework.context import state
    >>> g = FuncGraph('f')
    >>> x = g.placeholder([2, 3], tf.float32)
    >>> state.graph = g
    >>> y = tf.reduce_sum(tf.nn.relu(x) + 1.0, axis=0)
    >>> state.graph = None
    >>> [specialize(n)[0] for n in g.nodes]
    ['_maximum({0}, _zero_f32)', '{0} + {1}', '_add_reduce({0}, (0,), _f32, None, False)']
"""
from __future__ import annotations

import numpy as np

ENABLED = True

_PROBE_DIM = 3
_MAX_PROBE = 1 << 16
_checked: dict = {}            # (kernel, template, attrs, dtype, shape) -> bool


def _agrees(node, template, constants):
    """Whether `template` computes what the node's kernel computes, on probe inputs."""
    shapes = []
    for x in node.inputs:
        if x.shape.rank is None:
            return False
        shapes.append(tuple(_PROBE_DIM if d is None else d for d in x.shape.as_list()))
    dtypes = tuple(x.dtype._np for x in node.inputs)
    key = (node.op.kernel, template, repr(sorted(node.attrs.items())), dtypes, tuple(shapes))
    hit = _checked.get(key)
    if hit is None:
        if sum(int(np.prod(s)) for s in shapes) > _MAX_PROBE:
            if len(shapes) != 1:
                _checked[key] = False
                return False
            shapes = [tuple(min(d, _PROBE_DIM) for d in shapes[0])]   # same rank, smaller
        rng = np.random.default_rng(0)
        probes = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
        names = [f"x{i}" for i in range(len(probes))]
        try:
            want = np.asarray(node.op.kernel(*probes, **node.attrs))
            fn = eval(f"lambda {', '.join(names)}: " + template.format(*names),
                      dict(constants))
            got = np.asarray(fn(*probes))
            hit = (got.dtype == want.dtype and got.shape == want.shape
                   and bool(np.array_equal(got, want)))
        except Exception:  # noqa: BLE001 - any failure just keeps the kernel
            hit = False
        _checked[key] = hit
    return hit


def specialize(node, context=None):
    """(template, constants) for `node`, or None to call its kernel.

    `context` is what the plan knows around the node (`slot_of`: id of a tensor
    -> its slot), passed on to the op's inline form.
    """
    op = node.op
    if not ENABLED or op.inline is None or op.n_total != 1:
        return None
    form = op.inline(node, context or {})
    if form is None:
        return None
    template, constants = form
    if not isinstance(op.kernel, np.ufunc) and not _agrees(node, template, constants):
        return None
    return template, constants
