"""Plan-time specialisation: a node whose op, attrs and dtypes are known at trace time
is written into the plan as a direct NumPy expression instead of a kernel call.

Every kernel re-decides at each call what tracing already knows (attrs, dtypes,
transposes); for the small tensors of a small model that wrapper work costs as
much as the arithmetic. Each rule here returns a template for the generated
code, `{0}`, `{1}`, ... standing for the inputs, and the constants it names,
or None to keep the kernel. A rule must compute exactly what the kernel
computes (same ufuncs, same order, same dtype): the tests compare plans with
and without specialisation bit for bit.

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> from tapeflow.framework.graph import FuncGraph
    >>> from tapeflow.framework.context import state
    >>> g = FuncGraph('f')
    >>> x = g.placeholder([2, 3], tf.float32)
    >>> state.graph = g
    >>> y = tf.reduce_sum(tf.matmul(x, x, transpose_b=True) + 1.0, axis=0)
    >>> state.graph = None
    >>> [specialize(n)[0] for n in g.nodes]
    ['_matmul({0}, {1}.swapaxes(-1, -2))', '{0} + {1}', '_add_reduce({0}, (0,), _f32, None, False)']
"""
from __future__ import annotations

import numpy as np

ENABLED = True

_BINARY = {"AddV2": "{0} + {1}", "Sub": "{0} - {1}", "Mul": "{0} * {1}"}
_DTYPE_NAMES = {np.dtype(np.float32): "_f32", np.dtype(np.float64): "_f64"}
CONSTANTS = {"_matmul": np.matmul, "_add_reduce": np.add.reduce, "_maximum": np.maximum,
             "_f32": np.dtype(np.float32), "_f64": np.dtype(np.float64),
             "_zero_f32": np.zeros((), np.float32), "_zero_f64": np.zeros((), np.float64)}


def _float_dtype(x):
    d = x.dtype._np
    return d if d in _DTYPE_NAMES else None


def _binary(node):
    a, b = node.inputs
    if _float_dtype(a) is None or a.dtype is not b.dtype or node.attrs:
        return None
    return _BINARY[node.op.name]


def _matmul(node):
    a, b = node.inputs
    if _float_dtype(a) is None or a.dtype is not b.dtype:
        return None
    attrs = dict(node.attrs)
    ta, tb = attrs.pop("transpose_a", False), attrs.pop("transpose_b", False)
    if attrs:
        return None
    lhs = "{0}.swapaxes(-1, -2)" if ta else "{0}"
    rhs = "{1}.swapaxes(-1, -2)" if tb else "{1}"
    return f"_matmul({lhs}, {rhs})"


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


def _relu(node):
    (x,) = node.inputs
    d = _float_dtype(x)
    if d is None or node.attrs:
        return None
    return "_maximum({0}, _zero_" + _DTYPE_NAMES[d][1:] + ")"


_RULES = None


def _rules():
    """op name -> (the kernel the rule stands in for, rule); a rule applies only
    to that very kernel, so an op of the same name elsewhere is left alone."""
    global _RULES
    if _RULES is None:
        from tapeflow.ops import conv_ops, math_ops, nn_ops, reduce_ops
        _RULES = {"AddV2": (np.add, _binary), "Sub": (np.subtract, _binary),
                  "Mul": (np.multiply, _binary), "MatMul": (math_ops._matmul_kernel, _matmul),
                  "Sum": (reduce_ops._sum_kernel, _sum), "Relu": (nn_ops._relu_kernel, _relu),
                  "Conv2D": (conv_ops._conv_kernel, _conv2d)}
    return _RULES


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
    rule = hit[1]
    template = rule(node, context or {}) if rule is _conv2d else rule(node)
    return None if template is None else (template, CONSTANTS)
