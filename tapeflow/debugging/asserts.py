"""`tf.debugging.assert_*` and `tf.debugging.Assert`, with TensorFlow's messages.

Eagerly a failed assertion raises at once. Inside a traced function, a check on
values known only at run time becomes a stateful `Assert` op that raises when the
function runs; static facts (ranks, shapes, dtypes) are checked while tracing.

    >>> import tapeflow as tf
    >>> tf.debugging.assert_less(tf.constant([1., 2.]), 3.0) is None
    True
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor

_ASSERT = OpDef("Assert", lambda *arrays, check: check(*arrays) or (), NO_GRADIENT,
                num_outputs=0, shape_fn=lambda inputs, attrs: [], stateful=True)


def _run_check(check, tensors) -> None:
    """Runs `check(*arrays)` now (eager) or as an op of the function being traced."""
    if any(t._is_symbolic for t in tensors):
        execute(_ASSERT, tuple(tensors), {"check": check})
    else:
        check(*[np.asarray(t._value) for t in tensors])


def _prefix(message) -> str:
    return f"{message}.  " if message else ""


def _fail(text):
    raise errors.InvalidArgumentError(None, None, text)


def _binary(symbol, compare, default_dtype_from_x=True):
    def assert_fn(x, y, message=None, summarize=None, name=None):
        x = as_input(x)
        y = as_input(y, x.dtype) if default_dtype_from_x else as_input(y)
        if x.dtype is not y.dtype:
            raise errors.InvalidArgumentError(
                None, None, f"assert: x and y must have the same dtype; got {x.dtype.name} "
                f"and {y.dtype.name}.")
        n = 3 if summarize is None else int(summarize)

        def check(xv, yv):
            try:
                ok = compare(xv, yv)
            except ValueError:
                _fail(f"Incompatible shapes: {list(xv.shape)} vs. {list(yv.shape)}")
            if np.all(ok):
                return
            ok = np.asarray(ok)
            bad = np.argwhere(~ok)[:n] if ok.ndim else np.zeros((1, 0), np.int64)
            xb, yb = np.broadcast_to(xv, ok.shape), np.broadcast_to(yv, ok.shape)
            xs = np.array([xb[tuple(i)] for i in bad])
            ys = np.array([yb[tuple(i)] for i in bad])
            head = f"{message}\n" if message else ""
            _fail(f"{head}Condition x {symbol} y did not hold.\n"
                  f"Indices of first {len(bad)} different values:\n{bad}\n"
                  f"Corresponding x values:\n{xs}\nCorresponding y values:\n{ys}\n"
                  f"First {min(n, xv.size)} elements of x:\n{xv.reshape(-1)[:n]}\n"
                  f"First {min(n, yv.size)} elements of y:\n{yv.reshape(-1)[:n]}")
        _run_check(check, (x, y))
    assert_fn.__name__ = f"assert_{symbol}"
    return assert_fn


assert_equal = _binary("==", np.equal)
assert_none_equal = _binary("!=", np.not_equal)
assert_less = _binary("<", np.less)
assert_less_equal = _binary("<=", np.less_equal)
assert_greater = _binary(">", np.greater)
assert_greater_equal = _binary(">=", np.greater_equal)
for _f, _n in ((assert_equal, "equal"), (assert_none_equal, "none_equal"),
               (assert_less, "less"), (assert_less_equal, "less_equal"),
               (assert_greater, "greater"), (assert_greater_equal, "greater_equal")):
    _f.__name__ = _f.__qualname__ = f"assert_{_n}"
    _f.__doc__ = (f"Raises `InvalidArgumentError` unless `x {_n.replace('_', ' ')} y` holds "
                  "element-wise (with broadcasting).")


def _unary(symbol, compare):
    def assert_fn(x, message=None, summarize=None, name=None):
        x = as_input(x)
        n = 3 if summarize is None else int(summarize)

        def check(xv):
            if np.all(compare(xv)):
                return
            values = [str(v) for v in xv.reshape(-1)[:n].tolist()]
            _fail(f"{_prefix(message)}\nCondition x {symbol} 0 did not hold element-wise:\n"
                  f"x (shape={tuple(xv.shape)} dtype={dtypes.from_numpy(xv.dtype).name}) = "
                  f"\n{values}")
        _run_check(check, (x,))
    return assert_fn


assert_non_negative = _unary(">=", lambda v: v >= 0)
assert_positive = _unary(">", lambda v: v > 0)
assert_negative = _unary("<", lambda v: v < 0)
assert_non_positive = _unary("<=", lambda v: v <= 0)
for _f, _n in ((assert_non_negative, "non_negative"), (assert_positive, "positive"),
               (assert_negative, "negative"), (assert_non_positive, "non_positive")):
    _f.__name__ = _f.__qualname__ = f"assert_{_n}"
    _f.__doc__ = f"Raises `InvalidArgumentError` unless every element of `x` is {_n}."


def _summarize(value, n) -> str:
    if isinstance(value, (str, bytes)):
        return repr(value.encode() if isinstance(value, str) else value)
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        return repr(arr.reshape(-1)[0].encode() if arr.dtype.kind == "U" else arr.reshape(-1)[0])
    flat = [str(v) for v in arr.reshape(-1).tolist()]
    text = ", ".join(flat[:n])
    return text + (", ..." if len(flat) > n else "")


def assert_near(x, y, rtol=None, atol=None, message=None, summarize=None, name=None):
    """Raises unless `|x - y| <= atol + rtol * |y|` element-wise (default 10 * eps)."""
    x = as_input(x)
    y = as_input(y, x.dtype)
    eps = float(np.finfo(x.dtype._np).eps) if x.dtype.is_floating else 0.0
    rtol = 10 * eps if rtol is None else rtol
    atol = 10 * eps if atol is None else atol
    n = 3 if summarize is None else int(summarize)
    rt = convert_to_tensor(rtol, x.dtype)
    at = convert_to_tensor(atol, x.dtype)

    def check(xv, yv):
        if np.all(np.abs(xv - yv) <= atol + rtol * np.abs(yv)):
            return
        _fail(f"Expected 'tf.Tensor(False, shape=(), dtype=bool)' to be true. Summarized "
              f"data: {_prefix(message).encode()!r}\n"
              f"{f'x and y not equal to tolerance rtol = {rt}, atol = {at}'.encode()!r}\n"
              f"{f'x (shape={tuple(xv.shape)} dtype={x.dtype.name}) = '.encode()!r}\n"
              f"{_summarize(xv, n)}\n"
              f"{f'y (shape={tuple(yv.shape)} dtype={y.dtype.name}) = '.encode()!r}\n"
              f"{_summarize(yv, n)}")
    _run_check(check, (x, y))


def assert_rank(x, rank, message=None, name=None):
    """Raises `ValueError` unless `x` has rank `rank`."""
    x = as_input(x)
    r = x.shape.rank
    if r is not None and r != int(rank):
        raise ValueError(f"{_prefix(message)}Tensor {name or ''} must have rank {int(rank)}.  "
                         f"Received rank {r}, shape {_shape_text(x)}")


def assert_rank_at_least(x, rank, message=None, name=None):
    """Raises `ValueError` unless `x` has rank at least `rank`."""
    x = as_input(x)
    r = x.shape.rank
    if r is not None and r < int(rank):
        raise ValueError(f"{_prefix(message)}Tensor {name or ''} must have rank at least "
                         f"{int(rank)}.  Received rank {r}, shape {_shape_text(x)}")


def assert_scalar(tensor, name=None, message=None):
    """Raises `ValueError` unless `tensor` is a scalar (rank 0)."""
    t = as_input(tensor)
    if t.shape.rank not in (0, None):
        raise ValueError(f"{_prefix(message)}Expected scalar shape, saw shape: "
                         f"{_shape_text(t)}.")
    return t


def _shape_text(x) -> str:
    dims = x.shape.as_list() if x.shape.rank is not None else None
    if dims is None:
        return "<unknown>"
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + \
        ("," if len(dims) == 1 else "") + ")"


def _describe(x) -> str:
    return f"Tensor shape={_shape_text(x)} dtype={x.dtype.name}"


def assert_shapes(shapes, data=None, summarize=None, message=None, name=None):
    """Checks that tensors' shapes agree with symbolic specs, e.g. `[(x, ('N', 3))]`.

    A dimension named by a string must have one size across all tensors; an int must
    match exactly; a spec with fewer entries than the tensor's rank is an error.
    """
    pairs = shapes.items() if isinstance(shapes, dict) else shapes
    known = {}
    for tensor, spec in pairs:
        x = as_input(tensor)
        spec = tuple(spec) if not isinstance(spec, str) else (spec,)
        dims = x.shape.as_list() if x.shape.rank is not None else None
        if dims is None:
            continue
        if "..." not in spec and len(dims) != len(spec):
            # A one-entry spec also admits a scalar (it broadcasts), as TF says.
            allowed = "in (0, 1)" if len(spec) == 1 else str(len(spec))
            raise ValueError(f"{_prefix(message)}Tensor {name or ''} must have rank "
                             f"{allowed}.  Received rank {len(dims)}, shape {_shape_text(x)}")
        for i, (want, got) in enumerate(zip(spec, dims)):
            if want in ("...", None) or got is None:
                continue
            if isinstance(want, str):
                if want not in known:
                    known[want] = (got, x, i)
                    continue
                size, first, first_i = known[want]
                origin = f"Specified by tensor {_describe(first)[7:]} dimension {first_i}"
            else:
                size, origin = int(want), "Specified explicitly"
            if got != size:
                raise ValueError(f"{_prefix(message)}{origin}.  {_describe(x)} dimension {i} "
                                 f"must have size {size}.  Received size {got}, shape "
                                 f"{_shape_text(x)}")


def assert_type(tensor, tf_type, message=None, name=None):
    """Raises `TypeError` unless `tensor` has dtype `tf_type`."""
    t = tensor if getattr(tensor, "_is_variable", False) else as_input(tensor)
    want = dtypes.as_dtype(tf_type)
    if t.dtype is not want:
        raise TypeError(f"{_prefix(message)}{name or 'tensor'} must be of type {want!r}; "
                        f"got {t.dtype!r}")


def assert_integer(x, message=None, name=None):
    """Raises `TypeError` unless `x` has an integer dtype."""
    t = as_input(x)
    if not t.dtype.is_integer:
        raise TypeError(f"{_prefix(message)}Expected \"x\" to be integer type.  Found: tensor "
                        f"of dtype <dtype: '{t.dtype.name}'>")


def assert_all_finite(x, message, name=None):
    """Returns `x`, raising `InvalidArgumentError` when it holds a NaN or an Inf."""
    from tapeflow.debugging.numerics import check_numerics
    return check_numerics(x, message)


def Assert(condition, data, summarize=None, name=None):
    """Raises `InvalidArgumentError` with `data` summarised when `condition` is False."""
    n = 3 if summarize is None else int(summarize)
    cond = condition if isinstance(condition, Tensor) else None
    items = list(data)
    tensors = [as_input(condition)] + [as_input(d) for d in items
                                       if isinstance(d, Tensor) or getattr(d, "_is_variable",
                                                                           False)]

    def check(c, *arrays):
        if bool(np.all(c)):
            return
        values = iter(arrays)
        parts = [_summarize(next(values) if isinstance(d, Tensor) or
                            getattr(d, "_is_variable", False) else d, n) for d in items]
        shown = (f"tf.Tensor({bool(np.all(c))}, shape=(), dtype=bool)" if cond is not None
                 else str(bool(condition)))
        _fail(f"Expected '{shown}' to be true. Summarized data: " + "\n".join(parts))
    _run_check(check, tensors)


def is_numeric_tensor(tensor) -> bool:
    """Whether `tensor` is a tensor (or Variable) of a numeric dtype."""
    if not (isinstance(tensor, Tensor) or getattr(tensor, "_is_variable", False)):
        return False
    d = tensor.dtype
    return bool(d.is_floating or d.is_integer or d.is_complex)


def assert_same_float_dtype(tensors=None, dtype=None):
    """The one floating dtype of `tensors` (and `dtype`); ValueError if they differ."""
    found = dtypes.as_dtype(dtype) if dtype is not None else None
    for t in tensors or []:
        d = t.dtype
        if found is None:
            found = d
        elif d is not found:
            raise ValueError(f"Expected {found!r}, got {d!r} for tensor {t!r}.")
    if found is None:
        return dtypes.float32
    if not found.is_floating:
        raise ValueError(f"Expected floating point type, got {found!r}.")
    return found
