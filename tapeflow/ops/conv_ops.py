"""Convolution and pooling ops (NHWC): conv2d and its two backprops, max/avg pooling.

The kernels live in `tapeflow/backend/conv.py`; here are the ops, their shape
rules and gradients. Each backprop op is linear in its two real operands, so
the family is closed under differentiation (second derivatives work).

The convolution's patches (im2col matrix) are a residual output of Conv2D:
when a recording tape keeps the call, or a `tf.function` plan has a filter
backprop that reads them, the kernel returns them beside the output and the
filter backprop takes them as its fourth input instead of copying the input
again. They live as long as the tape entry or the plan slot holding them.
"""
from __future__ import annotations

import numpy as np

from tapeflow.backend import conv as K
from tapeflow.backend import elementwise, fused, onednn
from tapeflow.framework import op as op_mod
from tapeflow.framework.api_export import tf_export
from tapeflow.framework import errors
from tapeflow.framework.context import state
from tapeflow.framework.op import OpDef, as_input, binary_inputs, execute
from tapeflow.ops import math_ops, reduce_ops
from tapeflow.framework.tensor_shape import TensorShape


def _float_input(op_name, x):
    x = as_input(x)
    if not x.dtype.is_floating:
        raise TypeError(f"{op_name}: expected a floating-point tensor, got {x.dtype.name}.")
    return x


# -- convolution ----------------------------------------------------------------------

def _pair(v, name, n=2):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = [int(i) for i in v]
    if len(v) == 4:       # TF's NHWC form [1, sh, sw, 1]
        return tuple(v[1:3])
    if len(v) == 1:
        return (v[0],) * n
    if len(v) != n:
        raise ValueError(f"{name} must have 1, 2 or 4 elements; got {v}")
    return tuple(v)


def _window_attrs(op_name, strides, ksize=None, dilations=None):
    """Strides, window size and dilations as pairs; each must be positive (TF's checks;
    a stride of 0 would otherwise divide by zero deep in the kernel)."""
    for name, v in (("strides", strides), ("ksize", ksize), ("dilations", dilations)):
        if v is None or isinstance(v, (int, np.integer)):
            continue
        v = [int(i) for i in v]
        if len(v) == 4 and (v[0] != 1 or v[3] != 1):
            # TF pools over depth on some kernels; tapeflow (like TF's conv) does not.
            raise errors.op_error(op_name, f"Current implementation does not yet support "
                                  f"{name} in the batch and depth dimensions; got {name} {v}",
                                  errors.UnimplementedError)
    out = {"strides": _pair(strides, "strides")}
    if ksize is not None:
        out["ksize"] = _pair(ksize, "ksize")
    if dilations is not None:
        out["dilations"] = _pair(dilations, "dilations")
    if min(out["strides"]) <= 0:
        raise errors.op_error(op_name, f"Stride must be > 0, but got {min(out['strides'])} "
                              f"(strides {strides!r})")
    if "ksize" in out and min(out["ksize"]) <= 0:
        raise errors.op_error(op_name, f"Sliding window ksize must be > 0, but got "
                              f"{ksize!r}")
    if "dilations" in out and min(out["dilations"]) <= 0:
        raise errors.op_error(op_name, f"Dilated rates should be larger than 0, but got "
                              f"{dilations!r}")
    return out


def _padding_attr(padding):
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME', 'VALID' or explicit pairs; got {padding!r}")
        return p
    p = [tuple(int(v) for v in pair) for pair in padding]
    if len(p) == 4:
        p = p[1:3]
    return tuple(p)


def _conv_out_shape(x_shape, k_shape, attrs, out_channels):
    n, h, w, _ = x_shape.as_list()
    if h is None or w is None:
        return TensorShape([n, None, None, out_channels])
    _, oh, ow = K.conv_geometry((n, h, w, 0), k_shape, attrs["strides"], attrs["padding"],
                                attrs["dilations"])
    return TensorShape([n, oh, ow, out_channels])


def _conv_shape(inputs, attrs):
    """The output's shape, then the patches' (N, Ho, Wo, kh, kw, C)."""
    x, w = inputs
    kh, kw, ci, co = w.shape.as_list()
    out = _conv_out_shape(x.shape, (kh, kw), attrs, co)
    patches = TensorShape(out.as_list()[:3] + [kh, kw, ci])
    return [(out, x.dtype), (patches, x.dtype)]


def _conv_grad(inputs, outputs, attrs, dy, needs):
    # `needs` skips the input gradient of a first layer fed with data (a
    # product and a scatter-add the size of the input, for nothing).
    image, filters = inputs
    patches = outputs[1]               # the residual; None when it was not produced
    filter_inputs = (image, filters, dy) if patches is None else (image, filters, dy, patches)
    return (execute(_CONV_BP_INPUT, (image, filters, dy), attrs) if needs[0] else None,
            execute(_CONV_BP_FILTER, filter_inputs, attrs) if needs[1] else None)


def _conv_kernel(x, w, strides, padding, dilations):
    return K.conv2d(x, w, strides, padding, dilations)


def _conv_residual_kernel(x, w, strides, padding, dilations):
    return K.conv2d(x, w, strides, padding, dilations, keep_patches=True)


def _bp_input_kernel(x, w, dy, strides, padding, dilations):
    return K.conv2d_backprop_input(x.shape, w, dy, strides, padding, dilations)


def _bp_filter_kernel(x, w, dy, patches=None, *, strides, padding, dilations):
    return K.conv2d_backprop_filter(x, w.shape, dy, strides, padding, dilations, patches)


def _bp_input_grad(inputs, outputs, attrs, g):
    _, filters, dy = inputs
    return (None, execute(_CONV_BP_FILTER, (g, filters, dy), attrs),
            execute(_CONV, (g, filters), attrs))


def _bp_filter_grad(inputs, outputs, attrs, g):
    # The patches input (when given) is the image's, re-read: its gradient goes to the image.
    image, _, dy = inputs[:3]
    return ((execute(_CONV_BP_INPUT, (image, g, dy), attrs), None,
             execute(_CONV, (image, g), attrs)) + (None,) * (len(inputs) - 3))


# -- fused forms, for tf.function plans (function/fusion.py) --------------------------------

def _conv_bias_act(x, w, bias, *, relu, residuals, strides, padding, dilations):
    """Conv2D -> bias add -> ReLU (`relu`) as one plan step; with `residuals`, also the
    patches (as `_conv_residual_kernel`). On oneDNN the bias and ReLU run inside the
    convolution (a NaN reaching that ReLU may come out 0); on NumPy they are applied in
    place to each block of the output right after its product (the same arithmetic as
    the separate ops, while the block is in cache)."""
    if onednn.usable(x, w, bias):
        y = onednn.conv2d(x, w, strides, padding, dilations, bias=bias, relu=relu)
        if y is not None:
            # oneDNN's filter gradient reads the input itself (as K.conv2d's oneDNN path).
            return (y, np.empty((0,), x.dtype)) if residuals else y
    zero = np.zeros((), np.result_type(x, w))

    def epilogue(out):
        np.add(out, bias, out=out)
        if relu:
            np.maximum(out, zero, out=out)
    return K.conv2d(x, w, strides, padding, dilations, keep_patches=residuals,
                    epilogue=epilogue)


def _bp_filter_and_bias(x, w, dy, patches=None, *, strides, padding, dilations):
    """(Conv2DBackpropFilter, the bias gradient dy summed over N, H, W) in one plan step:
    one oneDNN pass, or the NumPy filter gradient (with the kept patches) and the sum the
    Sum op computes."""
    if onednn.usable(x, dy):
        r = onednn.conv2d_backprop_filter(x, w.shape, dy, strides, padding, dilations,
                                          with_bias=True)
        if r is not None:
            return r
    dw = K.conv2d_backprop_filter(x, w.shape, dy, strides, padding, dilations, patches)
    return dw, np.add.reduce(dy, (0, 1, 2), dy.dtype, None, False)


def _bp_input_relu_grad(x, w, dy, y, *, out_shape, strides, padding, dilations):
    """ReluGrad(Conv2DBackpropInput(x, w, dy), y) as one plan step: each block of images of
    the input gradient is multiplied by (y > 0) on the thread that made it, while it is in
    cache (function/fusion.py)."""
    mask_of = y.reshape(x.shape)

    def epilogue(block, i0, i1):
        elementwise.relu_grad_block(block, mask_of[i0:i1], out=block)
    dx = K.conv2d_backprop_input(x.shape, w, dy, strides, padding, dilations, epilogue)
    return dx.reshape(out_shape)


_CONV = OpDef("Conv2D", _conv_kernel, _conv_grad, shape_fn=_conv_shape, grad_needs=True,
              residuals=("patches",), residual_kernel=_conv_residual_kernel,
              fuse={"bias_act": _conv_bias_act, "fresh": True})
# Both backprops are linear in their two real operands, so their gradients are
# the other two members of this family: the set is closed under differentiation.
_CONV_BP_INPUT = OpDef("Conv2DBackpropInput", _bp_input_kernel, _bp_input_grad,
                       shape_fn=lambda i, a: [(i[0].shape, i[2].dtype)],
                       grad_uses_outputs=False,
                       fuse={"fresh": True, "relu_grad": _bp_input_relu_grad})
_CONV_BP_FILTER = OpDef("Conv2DBackpropFilter", _bp_filter_kernel, _bp_filter_grad,
                        shape_fn=lambda i, a: [(i[1].shape, i[2].dtype)],
                        grad_uses_outputs=False,
                        fuse={"with_bias_grad": _bp_filter_and_bias, "fresh": True})


@tf_export("nn.conv2d", "nn.convolution")
def conv2d(input, filters, strides=1, padding="VALID", data_format="NHWC",
           dilations=None, name=None):
    """2-D convolution of an NHWC `input` with HWIO `filters`.

    Example:
        >>> import tapeflow as tf
        >>> x = tf.ones([1, 5, 5, 1]); w = tf.ones([3, 3, 1, 2])
        >>> tf.nn.conv2d(x, w, strides=1, padding='VALID').shape
        TensorShape([1, 3, 3, 2])
    """
    x, w, attrs = _checked(input, filters, strides, padding, data_format, dilations)
    return execute(_CONV, (x, w), attrs)


def _checked(input, filters, strides, padding, data_format, dilations):
    """(input, filters, attrs) of a Conv2D call, or TF's error for a bad one."""
    x, w = binary_inputs("Conv2D", input, filters)
    if data_format not in ("NHWC", None):
        raise ValueError(f"conv2d supports data_format='NHWC' only; got {data_format!r}")
    if x.shape.rank != 4 or w.shape.rank != 4:
        raise errors.op_error("Conv2D", f"input must be 4-dimensional (NHWC) and filters "
                              f"4-dimensional (HWIO); got input shape {x.shape} and filter "
                              f"shape {w.shape}")
    ci, wi = x.shape[3], w.shape[2]
    if ci is not None and wi is not None and ci != wi:
        raise errors.op_error("Conv2D", f"input depth must equal the filter's input depth: "
                              f"input shape {x.shape} has depth {ci}, filter shape {w.shape} "
                              f"expects {wi}")
    attrs = _window_attrs("Conv2D", strides, dilations=1 if dilations is None else dilations)
    attrs = {"strides": attrs["strides"], "padding": _padding_attr(padding),
             "dilations": attrs["dilations"]}
    h, wd = x.shape[1], x.shape[2]
    if h is not None and wd is not None and attrs["padding"] == "VALID":
        kh, kw = w.shape[0], w.shape[1]
        dh, dw = attrs["dilations"]
        if (kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > wd:
            raise errors.op_error("Conv2D", f"the filter ({kh}x{kw}, dilation {dh}x{dw}) is "
                                  f"larger than the input's spatial size {h}x{wd} with VALID "
                                  f"padding; input shape {x.shape}")
    return x, w, attrs


convolution = conv2d


# -- the Keras layer's eager form: conv + bias (+ ReLU) as one op --------------------------

def fusing_eagerly() -> bool:
    """Whether a layer called now may run `fused_conv2d`: eagerly, with no hook checking
    each op's values (tf.debugging's numerics checks; the profiler, which only times ops,
    sees the fused op), and fusion not turned off (TAPEFLOW_FUSE=0, which also keeps
    `tf.function` plans unfused)."""
    hook = op_mod.dispatch_hook
    if hook is not None and not (hasattr(hook, "times_only") and hook.times_only()):
        return False
    return state.graph is None and fused.enabled()


def fused_conv2d(input, filters, bias, strides, padding, dilations, activation=""):
    """`activation(conv2d(input, filters) + bias)` as one eager op (TF's `_FusedConv2D`),
    `activation` '' or 'Relu': what Keras's Conv2D computes, with the bias added by the
    convolution itself (a oneDNN post-op) and the ReLU applied in place on its output,
    split over the kernel pool. A NaN stays NaN, as with the separate ops. Its gradient
    takes the ReLU gradient once and the filter and bias gradients in one pass."""
    x, w, attrs = _checked(input, filters, strides, padding, "NHWC", dilations)
    b = as_input(bias)
    if b.dtype != x.dtype or b.shape.rank != 1:     # the separate ops, and their errors
        from tapeflow.ops import nn_ops
        y = math_ops.add(execute(_CONV, (x, w), attrs), b)
        return nn_ops.relu(y) if activation == "Relu" else y
    attrs["activation"] = activation
    return execute(_FUSED_CONV, (x, w, b), attrs)


def _fused(x, w, bias, activation, residuals, strides, padding, dilations):
    out = _conv_bias_act(x, w, bias, relu=False, residuals=residuals, strides=strides,
                         padding=padding, dilations=dilations)
    if activation == "Relu":
        y = out[0] if residuals else out
        elementwise.relu(y, out=y)
    return out


def _fused_kernel(x, w, bias, *, strides, padding, dilations, activation):
    return _fused(x, w, bias, activation, False, strides, padding, dilations)


def _fused_residual_kernel(x, w, bias, *, strides, padding, dilations, activation):
    return _fused(x, w, bias, activation, True, strides, padding, dilations)


def _fused_grad(inputs, outputs, attrs, dy, needs):
    from tapeflow.ops import nn_ops    # nn_ops imports this module
    x, w, b = inputs
    y, patches = outputs if type(outputs) is tuple else (outputs, None)
    conv_attrs = {k: attrs[k] for k in ("strides", "padding", "dilations")}
    dz = nn_ops.relu_grad(dy, y) if attrs["activation"] == "Relu" else dy
    dx = execute(_CONV_BP_INPUT, (x, w, dz), conv_attrs) if needs[0] else None
    filter_inputs = (x, w, dz) if patches is None else (x, w, dz, patches)
    dw = db = None
    if needs[1] and needs[2]:
        dw, db = execute(_CONV_BP_FILTER_BIAS, filter_inputs, conv_attrs)
    elif needs[1]:
        dw = execute(_CONV_BP_FILTER, filter_inputs, conv_attrs)
    elif needs[2]:
        db = reduce_ops.reduce_sum(dz, axis=[0, 1, 2])
    return dx, dw, db


def _bp_filter_bias_grad(inputs, outputs, attrs, g):
    # Gradients of (dw, db): dw's as Conv2DBackpropFilter's; db = sum of dy over N, H, W
    # sends its gradient back to every element of dy.
    image, _, dy = inputs[:3]
    gw, gb = g
    d_dy = math_ops.add(execute(_CONV, (image, gw), attrs), gb)
    return ((execute(_CONV_BP_INPUT, (image, gw, dy), attrs), None, d_dy)
            + (None,) * (len(inputs) - 3))


_FUSED_CONV = OpDef("_FusedConv2D", _fused_kernel, _fused_grad, grad_needs=True,
                    shape_fn=lambda i, a: _conv_shape(i[:2], a),
                    residuals=("patches",), residual_kernel=_fused_residual_kernel)
_CONV_BP_FILTER_BIAS = OpDef(
    "_Conv2DBackpropFilterWithBias", _bp_filter_and_bias, _bp_filter_bias_grad,
    shape_fn=lambda i, a: [(i[1].shape, i[2].dtype), (TensorShape(i[1].shape[3:]), i[2].dtype)],
    grad_uses_outputs=False, num_outputs=2)


# -- pooling ----------------------------------------------------------------------------

def _pool_shape(inputs, attrs):
    x = inputs[0]
    c = x.shape.as_list()[3]
    return [(_conv_out_shape(x.shape, attrs["ksize"], {**attrs, "dilations": (1, 1)}, c), x.dtype)]


def _max_pool_kernel(x, ksize, strides, padding):
    return K.max_pool(x, ksize, strides, padding)


def _max_pool_grad_kernel(x, dy, ksize, strides, padding):
    return K.max_pool_grad(x, dy, ksize, strides, padding)


def _max_pool_gg_kernel(x, ddx, ksize, strides, padding):
    return K.max_pool_grad_grad(x, ddx, ksize, strides, padding)


_MAX_POOL_GG = OpDef(
    "MaxPoolGradGrad", _max_pool_gg_kernel,
    lambda inputs, outputs, attrs, g: (None, execute(_MAX_POOL_GRAD, (inputs[0], g), attrs)),
    shape_fn=None, grad_uses_outputs=False)
_MAX_POOL_GRAD = OpDef(
    "MaxPoolGrad", _max_pool_grad_kernel,
    lambda inputs, outputs, attrs, g: (None, execute(_MAX_POOL_GG, (inputs[0], g), attrs)),
    shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)], grad_uses_outputs=False)
_MAX_POOL = OpDef(
    "MaxPool", _max_pool_kernel,
    lambda inputs, outputs, attrs, dy: (execute(_MAX_POOL_GRAD, (inputs[0], dy), attrs),),
    shape_fn=_pool_shape, grad_uses_outputs=False)


def _avg_pool_kernel(x, ksize, strides, padding):
    return K.avg_pool(x, ksize, strides, padding)


def _avg_pool_grad_kernel(x, dy, ksize, strides, padding):
    return K.avg_pool_grad(x.shape, dy, ksize, strides, padding)


_AVG_POOL_GRAD = OpDef(
    "AvgPoolGrad", _avg_pool_grad_kernel,
    lambda inputs, outputs, attrs, g: (None, execute(_AVG_POOL, (g,), attrs)),
    shape_fn=lambda i, a: [(i[0].shape, i[1].dtype)], grad_uses_outputs=False)
_AVG_POOL = OpDef(
    "AvgPool", _avg_pool_kernel,
    lambda inputs, outputs, attrs, dy: (execute(_AVG_POOL_GRAD, (inputs[0], dy), attrs),),
    shape_fn=_pool_shape, grad_uses_outputs=False)


def _pool(op, name, input, ksize, strides, padding, data_format):
    x = _float_input(name, input)
    if x.shape.rank != 4:
        raise errors.op_error(name, f"input must be 4-dimensional (NHWC); got shape {x.shape}")
    if data_format not in ("NHWC", None):
        raise ValueError(f"{name} supports data_format='NHWC' only; got {data_format!r}")
    window = _window_attrs(name, strides, ksize=ksize)
    attrs = {"ksize": window["ksize"], "strides": window["strides"],
             "padding": _padding_attr(padding)}
    return execute(op, (x,), attrs)


@tf_export("nn.max_pool2d", "nn.max_pool")
def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """Max over windows of `ksize` moved by `strides` (NHWC)."""
    return _pool(_MAX_POOL, "MaxPool", input, ksize, strides, padding, data_format)


@tf_export("nn.avg_pool2d", "nn.avg_pool")
def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """Mean over windows (with 'SAME', padding cells are not counted)."""
    return _pool(_AVG_POOL, "AvgPool", input, ksize, strides, padding, data_format)


max_pool = max_pool2d
avg_pool = avg_pool2d
