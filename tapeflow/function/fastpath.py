"""Plan-time specialisation: a node whose op, attrs and dtypes are known at trace time
is written into the plan as a direct NumPy expression instead of a kernel call.

A kernel re-decides at each call what tracing already knows (attrs, dtypes);
for the small tensors of a small model that wrapper work costs as much as the
arithmetic (`np.sum`'s Python wrapper is twice the reduction it calls). Each
rule returns a template for the generated code, `{0}`, `{1}`, ... standing for
the inputs, or None to keep the kernel.

Rules apply only to the very kernel they were written for (checked by
identity). Kernels that are plain NumPy ufuncs are replaced by their operator;
for any other kernel the template is first checked against it on a probe of
the node's shape and dtype, bit for bit, and the kernel is kept on any
difference, so a kernel that changes its arithmetic is never bypassed. Matrix
products go through tapeflow's BLAS pool (`backend/blas.py`), which hands a
product below `MIN_FLOPS` straight to NumPy after its run-time size checks: with
the shapes known at trace time the plan makes that choice once, and large or
unknown-size products keep the kernel. A convolution keeps its patches when the
plan knows a filter backprop reads them.

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

_BINARY = {"AddV2": "{0} + {1}", "Sub": "{0} - {1}", "Mul": "{0} * {1}"}
_DTYPE_NAMES = {np.dtype(np.float32): "_f32", np.dtype(np.float64): "_f64"}
CONSTANTS = {"_matmul": np.matmul, "_add_reduce": np.add.reduce, "_maximum": np.maximum,
             "_f32": np.dtype(np.float32), "_f64": np.dtype(np.float64),
             "_zero_f32": np.zeros((), np.float32), "_zero_f64": np.zeros((), np.float64)}
_PROBE_DIM = 3
_MAX_PROBE = 1 << 16
_checked: dict = {}            # (kernel, template, attrs, dtype, shape) -> bool


def _float_dtype(x):
    d = x.dtype._np
    return d if d in _DTYPE_NAMES else None


def _binary(node):
    a, b = node.inputs
    if _float_dtype(a) is None or a.dtype is not b.dtype or node.attrs:
        return None
    return _BINARY[node.op.name]


def _sum(node):
    (x,) = node.inputs
    d = _float_dtype(x)
    attrs = node.attrs
    if d is None or set(attrs) != {"axis", "keepdims"}:
        return None
    axis = attrs["axis"]
    if not (axis is None or isinstance(axis, int) or (
            isinstance(axis, tuple) and all(isinstance(a, int) for a in axis))):
        return None
    # np.sum(x, axis, dtype=x.dtype, keepdims) is this reduction minus its Python wrapper.
    return f"_add_reduce({{0}}, {axis!r}, {_DTYPE_NAMES[d]}, None, {bool(attrs['keepdims'])!r})"


def _relu(node):
    (x,) = node.inputs
    d = _float_dtype(x)
    if d is None or node.attrs:
        return None
    return "_maximum({0}, _zero_" + _DTYPE_NAMES[d][1:] + ")"


def _matmul(node):
    from tapeflow.backend import blas
    a, b = node.inputs
    if _float_dtype(a) is None or a.dtype is not b.dtype:
        return None
    attrs = dict(node.attrs)
    ta, tb = attrs.pop("transpose_a", False), attrs.pop("transpose_b", False)
    if attrs or not (a.shape.is_fully_defined() and b.shape.is_fully_defined()):
        return None
    sa, sb = a.shape.as_list(), b.shape.as_list()
    if len(sa) == 2 and len(sb) == 2:
        m, k = (sa[1], sa[0]) if ta else (sa[0], sa[1])
        n = sb[0] if tb else sb[1]
        if 2.0 * m * k * n >= blas.MIN_FLOPS:
            return None             # large: the pool splits it over the cores
    lhs = "{0}.swapaxes(-1, -2)" if ta else "{0}"
    rhs = "{1}.swapaxes(-1, -2)" if tb else "{1}"
    return f"_matmul({lhs}, {rhs})"


def _conv_keep_patches(x, w, strides, padding, dilations):
    from tapeflow.backend import conv
    return conv.conv2d(x, w, strides, padding, dilations, keep_patches=True)


CONSTANTS["_conv_keep_patches"] = _conv_keep_patches


def _conv2d(node, context):
    # The plan knows what a tape-less trace cannot: that a filter backprop later in this
    # plan reads the same input array. Its patches are then kept for it (an
    # intermediate or an argument's array, never a Variable's, which may be updated).
    slot = context.get("slot_of", {}).get(id(node.inputs[0]))
    if slot is None or slot not in context.get("filter_grad_inputs", ()):
        return None
    a = node.attrs
    if set(a) != {"strides", "padding", "dilations"}:
        return None
    return (f"_conv_keep_patches({{0}}, {{1}}, {a['strides']!r}, {a['padding']!r}, "
            f"{a['dilations']!r})")


_RULES = None


def _rules():
    """op name -> (the kernel the rule stands in for, rule, whether to probe)."""
    global _RULES
    if _RULES is None:
        from tapeflow.ops import conv_ops, math_ops, nn_ops, reduce_ops
        _RULES = {"AddV2": (np.add, _binary, False), "Sub": (np.subtract, _binary, False),
                  "Mul": (np.multiply, _binary, False),
                  "MatMul": (math_ops._matmul_kernel, _matmul, True),
                  "Sum": (reduce_ops._sum_kernel, _sum, True),
                  "Relu": (nn_ops._relu_kernel, _relu, True),
                  "Conv2D": (conv_ops._conv_kernel, _conv2d, False)}
    return _RULES


def _agrees(node, template):
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
                      dict(CONSTANTS))
            got = np.asarray(fn(*probes))
            hit = (got.dtype == want.dtype and got.shape == want.shape
                   and bool(np.array_equal(got, want)))
        except Exception:  # noqa: BLE001 - any failure just keeps the kernel
            hit = False
        _checked[key] = hit
    return hit


def specialize(node, context=None):
    """(template, constants) for `node`, or None to call its kernel.

    `context` is what the plan knows around the node: `slot_of` (id of a tensor ->
    its slot) and `filter_grad_inputs` (slots read by a Conv2DBackpropFilter).
    """
    if not ENABLED:
        return None
    hit = _rules().get(node.op.name)
    if hit is None or hit[0] is not node.op.kernel or node.op.num_outputs != 1:
        return None
    _, rule, probe = hit
    template = rule(node, context or {}) if rule is _conv2d else rule(node)
    if template is None or (probe and not _agrees(node, template)):
        return None
    return template, CONSTANTS
