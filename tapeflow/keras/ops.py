"""`keras.ops`: Keras 3's backend-neutral operations, computed with tapeflow ops.

Layers written for Keras 3 call `keras.ops` (`ops.matmul`, `ops.sum`, ...) instead of
`tf.*`; here each is a tapeflow op, so gradients, tracing and Keras tensors work as for
`tf.*` calls. Mixed dtypes promote as Keras does (an int and a float tensor give the
float dtype; a Python float with an integer tensor gives float32), where TF would refuse.

    >>> from tapeflow.keras import ops
    >>> ops.matmul(ops.ones((2, 3)), ops.ones((3, 1))).numpy().ravel().tolist()
    [3.0, 3.0]
    >>> ops.add(ops.arange(3), 0.5).numpy().tolist()
    [0.5, 1.5, 2.5]
"""
from __future__ import annotations

import builtins

import numpy as np

_PY_SCALARS = (bool, int, float)


def _tf():
    # The public namespace: loaded after keras, so looked up when an op first runs.
    import tapeflow
    return tapeflow


def convert_to_tensor(x, dtype=None, sparse=None):
    """`x` as a tensor (of `dtype` when given); tensors and Variables pass through."""
    tf = _tf()
    if dtype is not None:
        dtype = tf.as_dtype(dtype)
        if tf.is_tensor(x) and x.dtype != dtype:
            return tf.cast(x, dtype)
    if tf.is_tensor(x) and dtype is None:
        return x
    return tf.convert_to_tensor(x, dtype=dtype)


def convert_to_numpy(x):
    return np.asarray(convert_to_tensor(x).numpy())


def is_tensor(x) -> bool:
    return _tf().is_tensor(x)


def _result_dtype(a, b):
    """Keras's promotion of two tensor dtypes: a float beats an int; otherwise the wider."""
    if a == b:
        return a
    tf = _tf()
    if a.is_bool:
        return b
    if b.is_bool:
        return a
    if a.is_floating != b.is_floating:
        return a if a.is_floating else b
    return tf.as_dtype(np.promote_types(a.as_numpy_dtype, b.as_numpy_dtype))


def _promote(x1, x2):
    """Both operands as tensors of one dtype, by Keras's rules (Python numbers are weak)."""
    tf = _tf()
    weak1, weak2 = isinstance(x1, _PY_SCALARS), isinstance(x2, _PY_SCALARS)
    if weak1 and weak2:
        return tf.convert_to_tensor(x1), tf.convert_to_tensor(x2)
    if weak1 or weak2:
        strong, weak = (x2, x1) if weak1 else (x1, x2)
        strong = convert_to_tensor(strong)
        dtype = strong.dtype
        if isinstance(weak, float) and not (dtype.is_floating or dtype.is_complex):
            dtype = tf.float32
            strong = tf.cast(strong, dtype)
        weak = tf.convert_to_tensor(weak, dtype=dtype)
        return (weak, strong) if weak1 else (strong, weak)
    t1, t2 = convert_to_tensor(x1), convert_to_tensor(x2)
    dtype = _result_dtype(t1.dtype, t2.dtype)
    return (t1 if t1.dtype == dtype else tf.cast(t1, dtype),
            t2 if t2.dtype == dtype else tf.cast(t2, dtype))


def _binary(name):
    def op(x1, x2):
        a, b = _promote(x1, x2)
        return getattr(_tf().math, name)(a, b)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise `{name}` of `x1` and `x2` (dtypes promoted as in Keras)."
    return op


def _unary(path, float_only=False):
    def op(x):
        tf = _tf()
        t = convert_to_tensor(x)
        if float_only and not t.dtype.is_floating:
            t = tf.cast(t, tf.float32)
        target = tf
        for part in path.split("."):
            target = getattr(target, part)
        return target(t)
    op.__name__ = op.__qualname__ = path.split(".")[-1]
    op.__doc__ = f"Elementwise `{path}` (integer inputs become float32 where Keras's do)."
    return op


add, subtract, multiply, maximum, minimum = (_binary(n) for n in (
    "add", "subtract", "multiply", "maximum", "minimum"))
equal, not_equal, greater, greater_equal, less, less_equal = (_binary(n) for n in (
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal"))
logical_and, logical_or = _binary("logical_and"), _binary("logical_or")
power = _binary("pow")
power.__name__ = "power"


def divide(x1, x2):
    """True division; integer operands give float32 (Keras's `ops.divide`)."""
    tf = _tf()
    a, b = _promote(x1, x2)
    if not a.dtype.is_floating:
        a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
    return tf.math.divide(a, b)


true_divide = divide

abs = absolute = _unary("math.abs")     # noqa: A001 - Keras's public name
negative, square, sign = _unary("math.negative"), _unary("math.square"), _unary("math.sign")
floor, ceil, round = (_unary(p, True) for p in (   # noqa: A001
    "math.floor", "math.ceil", "math.round"))
sqrt, exp, log, log1p, expm1 = (_unary(p, True) for p in (
    "math.sqrt", "math.exp", "math.log", "math.log1p", "math.expm1"))
sin, cos, tanh, erf = (_unary(p, True) for p in ("math.sin", "math.cos", "math.tanh",
                                                  "math.erf"))
logical_not = _unary("math.logical_not")
relu, relu6, sigmoid, softplus, elu = (_unary(p, True) for p in (
    "nn.relu", "nn.relu6", "nn.sigmoid", "nn.softplus", "nn.elu"))
silu = swish = _unary("nn.silu", True)


def gelu(x, approximate=True):
    return _tf().nn.gelu(convert_to_tensor(x), approximate=approximate)


def leaky_relu(x, negative_slope=0.2):
    return _tf().nn.leaky_relu(convert_to_tensor(x), alpha=negative_slope)


def softmax(x, axis=-1):
    return _tf().nn.softmax(convert_to_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    return _tf().nn.log_softmax(convert_to_tensor(x), axis=axis)


def matmul(x1, x2):
    a, b = _promote(x1, x2)
    return _tf().linalg.matmul(a, b)


def dot(x1, x2):
    """NumPy's dot: scalars multiply, vectors and matrices contract the last/first axes."""
    tf = _tf()
    a, b = _promote(x1, x2)
    if a.shape.rank == 0 or b.shape.rank == 0:
        return tf.math.multiply(a, b)
    if b.shape.rank == 1:
        return tf.tensordot(a, b, axes=[[a.shape.rank - 1], [0]])
    return tf.tensordot(a, b, axes=[[a.shape.rank - 1], [b.shape.rank - 2]])


def einsum(subscripts, *operands):
    return _tf().einsum(subscripts, *[convert_to_tensor(o) for o in operands])


# -- reductions ----------------------------------------------------------------------------
def _reducer(path, float_only=False):
    def op(x, axis=None, keepdims=False):
        tf = _tf()
        t = convert_to_tensor(x)
        if float_only and not t.dtype.is_floating:
            t = tf.cast(t, tf.float32)
        return getattr(tf.math, path)(t, axis=axis, keepdims=keepdims)
    op.__name__ = op.__qualname__ = path
    op.__doc__ = f"`tf.math.{path}` over `axis` (all axes when None)."
    return op


sum = _reducer("reduce_sum")     # noqa: A001
max = _reducer("reduce_max")     # noqa: A001
min = _reducer("reduce_min")     # noqa: A001
prod, all, any = (_reducer(n) for n in (   # noqa: A001
    "reduce_prod", "reduce_all", "reduce_any"))
mean, std, var, logsumexp = (_reducer(n, True) for n in (
    "reduce_mean", "reduce_std", "reduce_variance", "reduce_logsumexp"))
for _name, _op in (("sum", sum), ("max", max), ("min", min), ("prod", prod), ("all", all),
                   ("any", any), ("mean", mean), ("std", std), ("var", var)):
    _op.__name__ = _op.__qualname__ = _name
del _name, _op


def argmax(x, axis=None, keepdims=False):
    return _arg_reduce("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg_reduce("argmin", x, axis, keepdims)


def _arg_reduce(name, x, axis, keepdims):
    """Index of the extreme value (of the flattened `x` when axis is None), as int32."""
    tf = _tf()
    t = convert_to_tensor(x)
    if axis is None:
        t, axis = tf.reshape(t, [-1]), 0
    out = getattr(tf.math, name)(t, axis=axis, output_type=tf.int32)
    return tf.expand_dims(out, axis) if keepdims else out


def cumsum(x, axis=None):
    tf = _tf()
    t = convert_to_tensor(x)
    if axis is None:
        t, axis = tf.reshape(t, [-1]), 0
    return tf.math.cumsum(t, axis=axis)


def norm(x, ord=None, axis=None, keepdims=False):
    t = convert_to_tensor(x)
    return _tf().norm(t, ord="euclidean" if ord is None else ord, axis=axis, keepdims=keepdims)


# -- making and shaping tensors --------------------------------------------------------------
def _dtype_or_floatx(dtype):
    from tapeflow.keras import backend
    return _tf().as_dtype(dtype or backend.floatx())


def ones(shape, dtype=None):
    return _tf().ones(shape, dtype=_dtype_or_floatx(dtype))


def zeros(shape, dtype=None):
    return _tf().zeros(shape, dtype=_dtype_or_floatx(dtype))


def full(shape, fill_value, dtype=None):
    return _tf().fill(shape, convert_to_tensor(fill_value, dtype=_dtype_or_floatx(dtype)))


def ones_like(x, dtype=None):
    return _tf().ones_like(convert_to_tensor(x), dtype=dtype)


def zeros_like(x, dtype=None):
    return _tf().zeros_like(convert_to_tensor(x), dtype=dtype)


def full_like(x, fill_value, dtype=None):
    t = convert_to_tensor(x)
    return full(tuple(t.shape.as_list()), fill_value, dtype=dtype or t.dtype)


def eye(N, M=None, k=0, dtype=None):
    """A matrix with ones on the `k`-th diagonal."""
    rows, cols = int(N), int(M if M is not None else N)
    value = np.eye(rows, cols, k=int(k), dtype=_dtype_or_floatx(dtype).as_numpy_dtype)
    return _tf().constant(value)


def arange(start, stop=None, step=1, dtype=None):
    """Keras's arange: int32 for integer arguments, floatx for float ones."""
    tf = _tf()
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        floats = builtins.any(isinstance(v, float) for v in (start, stop, step))
        dtype = "float32" if floats else "int32"
    return tf.range(start, stop, step, dtype=tf.as_dtype(dtype))


def reshape(x, newshape):
    return _tf().reshape(convert_to_tensor(x), newshape)


def transpose(x, axes=None):
    return _tf().transpose(convert_to_tensor(x), perm=axes)


def concatenate(xs, axis=0):
    return _tf().concat([convert_to_tensor(x) for x in xs], axis=axis)


def stack(x, axis=0):
    return _tf().stack([convert_to_tensor(t) for t in x], axis=axis)


def expand_dims(x, axis):
    return _tf().expand_dims(convert_to_tensor(x), axis)


def squeeze(x, axis=None):
    return _tf().squeeze(convert_to_tensor(x), axis=axis)


def tile(x, repeats):
    return _tf().tile(convert_to_tensor(x), repeats)


def split(x, indices_or_sections, axis=0):
    """NumPy's split: a number of equal sections, or the indices to split at."""
    tf = _tf()
    t = convert_to_tensor(x)
    if isinstance(indices_or_sections, int):
        return tf.split(t, indices_or_sections, axis=axis)
    bounds = [0] + list(indices_or_sections) + [t.shape[axis]]
    return tf.split(t, [b - a for a, b in zip(bounds[:-1], bounds[1:])], axis=axis)


def take(x, indices, axis=None):
    tf = _tf()
    t = convert_to_tensor(x)
    if axis is None:
        t, axis = tf.reshape(t, [-1]), 0
    return tf.gather(t, convert_to_tensor(indices), axis=axis)


def where(condition, x1=None, x2=None):
    tf = _tf()
    if x1 is None and x2 is None:
        return tuple(tf.unstack(tf.cast(tf.where(condition), tf.int32), axis=1))
    a, b = _promote(x1, x2)
    return tf.where(convert_to_tensor(condition), a, b)


def clip(x, x_min, x_max):
    t = convert_to_tensor(x)
    return _tf().clip_by_value(t, x_min, x_max)


def cast(x, dtype):
    return _tf().cast(convert_to_tensor(x), dtype)


def one_hot(x, num_classes, axis=-1, dtype=None):
    tf = _tf()
    return tf.one_hot(convert_to_tensor(x), num_classes, axis=axis,
                      dtype=_dtype_or_floatx(dtype))


def shape(x):
    """The shape as a tuple (None for dimensions unknown while tracing)."""
    return tuple(convert_to_tensor(x).shape.as_list())


def stop_gradient(variable):
    return _tf().stop_gradient(convert_to_tensor(variable))


def sort(x, axis=-1):
    return _tf().sort(convert_to_tensor(x), axis=axis)


def top_k(x, k, sorted=True):     # noqa: A002 - Keras's argument name
    return _tf().math.top_k(convert_to_tensor(x), k=k, sorted=sorted)


# -- losses as ops (no reduction over the batch) ------------------------------------------
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (no mean over the last axis, unlike the loss)."""
    tf = _tf()
    target, output = _promote(target, output)
    if from_logits:
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    eps = 1e-7
    output = tf.clip_by_value(output, eps, 1.0 - eps)
    return -(target * tf.math.log(output) + (1.0 - target) * tf.math.log(1.0 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from tapeflow.keras import losses
    return losses.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from tapeflow.keras import losses
    return losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits,
                                                  axis=axis)
