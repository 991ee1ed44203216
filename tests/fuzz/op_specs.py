"""What the fuzz suite draws for each public op: shapes, dtypes, axes, indices, ...

Each spec is `draw_case(draw) -> (call, arrays, description)` (see fuzz_harness):
`draw` is Hypothesis's `data.draw`. Arguments are drawn in and out of range
(axes past the rank, negative, duplicated; indices past the end; strides of 0;
empty tensors), because agreeing on what raises is half of the contract.
Array values come from a NumPy generator seeded by a drawn integer:
continuous values, so ties (where a gradient is a matter of convention) do
not occur, and shrinking keeps inputs readable.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

SPECS: dict = {}
FLOATS = ["float32", "float64"]
NUMERIC = ["float32", "float64", "int32", "int64"]


def spec(name, grad=True):
    def register(fn):
        SPECS[name] = (fn, grad)
        return fn
    return register


# -- drawing helpers ---------------------------------------------------------------------

def shape(draw, min_rank=0, max_rank=4, min_dim=0, max_dim=4):
    rank = draw(st.integers(min_rank, max_rank))
    return tuple(draw(st.integers(min_dim, max_dim)) for _ in range(rank))


def array(draw, shp, dtype, domain="any"):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if dtype == "bool":
        return rng.random(shp) < 0.5
    if dtype.startswith(("int", "uint")):
        lo = 0 if dtype.startswith("uint") else -5
        return rng.integers(lo, 6, size=shp).astype(dtype)
    if domain == "pos":
        v = rng.uniform(0.2, 3.0, shp)
    elif domain == "unit":
        v = rng.uniform(-0.9, 0.9, shp)
    elif domain == "ge1":
        v = rng.uniform(1.1, 4.0, shp)
    else:
        v = rng.standard_normal(shp) * 2.0
    return np.asarray(v, dtype=dtype)


def axis(draw, rank, extra=2):
    """An axis in [-rank - extra, rank + extra): sometimes out of range."""
    return draw(st.integers(-rank - extra, rank + extra - 1))


def axes(draw, rank):
    """None, one axis, or a list of axes (possibly repeated or out of range)."""
    kind = draw(st.sampled_from(["none", "one", "list"]))
    if kind == "none":
        return None
    if kind == "one" or rank == 0:
        return axis(draw, max(rank, 1), extra=1)
    return draw(st.lists(st.integers(-rank - 1, rank), min_size=0, max_size=rank + 1))


def broadcast_partner(draw, shp):
    """A shape that broadcasts against `shp` (usually) or clashes with it (sometimes)."""
    kind = draw(st.sampled_from(["same", "same", "trailing", "ones", "scalar", "any"]))
    if kind == "same":
        return shp
    if kind == "trailing":
        return shp[draw(st.integers(0, len(shp))):]
    if kind == "ones":
        return tuple(1 if draw(st.booleans()) else d for d in shp)
    if kind == "scalar":
        return ()
    return shape(draw, max_rank=3)


# -- elementwise -------------------------------------------------------------------------

UNARY = {
    "abs": "any", "negative": "any", "sign": "any", "square": "any", "sqrt": "pos",
    "rsqrt": "pos", "exp": "any", "expm1": "any", "log": "pos", "log1p": "pos",
    "sin": "any", "cos": "any", "tan": "unit", "tanh": "any", "sigmoid": "any",
    "sinh": "any", "cosh": "any", "asin": "unit", "acos": "unit", "atan": "any",
    "asinh": "any", "acosh": "ge1", "atanh": "unit", "floor": "any", "ceil": "any",
    "round": "any", "rint": "any", "reciprocal": "pos", "erf": "any", "softplus": "any",
    "softsign": "any", "log_sigmoid": "any", "is_nan": "any", "is_finite": "any",
    "is_inf": "any", "reciprocal_no_nan": "any",
}
NN_UNARY = ["relu", "relu6", "elu", "selu", "gelu", "silu", "leaky_relu", "swish"]


def _unary(path, fn_name, domain):
    def draw_case(draw):
        dtype = draw(st.sampled_from(NUMERIC + ["float32"]))
        # Sometimes the whole real line, where the domain check (NaN) must agree too;
        # not for acosh, whose gradient below -1 differs (test_fuzz_regressions.py).
        dom = domain if draw(st.integers(0, 3)) or fn_name == "acosh" else "any"
        x = array(draw, shape(draw), dtype, dom)
        return (lambda m, t: getattr(getattr(m, path), fn_name)(t)), [x], dtype
    return draw_case


for _name, _domain in UNARY.items():
    spec(f"math.{_name}")(_unary("math", _name, _domain))
for _name in NN_UNARY:
    spec(f"nn.{_name}")(_unary("nn", _name, "any"))

BINARY = ["add", "subtract", "multiply", "divide", "floordiv", "floormod", "maximum",
          "minimum", "pow", "squared_difference", "atan2", "xlogy", "divide_no_nan",
          "multiply_no_nan", "equal", "not_equal", "less", "less_equal", "greater",
          "greater_equal"]


def _binary(fn_name):
    def draw_case(draw):
        dtype = draw(st.sampled_from(NUMERIC))
        other = dtype if draw(st.integers(0, 7)) else draw(st.sampled_from(NUMERIC))
        sa = shape(draw, max_rank=3)
        sb = broadcast_partner(draw, sa)
        dom = "pos" if fn_name in ("pow", "xlogy") and draw(st.booleans()) else "any"
        a, b = array(draw, sa, dtype, dom), array(draw, sb, other)
        if fn_name == "pow" and dtype.startswith("int"):
            b = np.abs(b)            # TF rejects negative integer powers (checked apart)
        return (lambda m, x, y: getattr(m.math, fn_name)(x, y)), [a, b], f"{dtype},{other}"
    return draw_case


for _name in BINARY:
    spec(f"math.{_name}")(_binary(_name))


@spec("math.logical_and/or/xor", grad=False)
def _logical(draw):
    fn = draw(st.sampled_from(["logical_and", "logical_or", "logical_xor"]))
    sa = shape(draw, max_rank=3)
    a, b = array(draw, sa, "bool"), array(draw, broadcast_partner(draw, sa), "bool")
    return (lambda m, x, y: getattr(m.math, fn)(x, y)), [a, b], fn


@spec("math.int_pow_negative_exponent")
def _int_pow(draw):
    a = array(draw, shape(draw, max_rank=2), "int32")
    return (lambda m, x: m.pow(x, -draw_int(a))), [a], "int32 ** negative"


def draw_int(a):
    return 1 if a.size == 0 else 2


@spec("add_n")
def _add_n(draw):
    shp = shape(draw, max_rank=3)
    n = draw(st.integers(1, 3))
    arrs = [array(draw, shp if draw(st.integers(0, 5)) else shape(draw, max_rank=3), "float32")
            for _ in range(n)]
    return (lambda m, *xs: m.add_n(list(xs))), arrs, f"n={n}"


@spec("clip_by_value")
def _clip(draw):
    x = array(draw, shape(draw), "float32")
    lo, hi = sorted(draw(st.lists(st.floats(-3, 3), min_size=2, max_size=2)))
    if draw(st.integers(0, 4)) == 0:
        lo, hi = hi, lo
    return (lambda m, t: m.clip_by_value(t, lo, hi)), [x], f"[{lo}, {hi}]"


@spec("cast")
def _cast(draw):
    src = draw(st.sampled_from(NUMERIC + ["bool"]))
    dst = draw(st.sampled_from(NUMERIC + ["bool"]))
    x = array(draw, shape(draw), src)
    return (lambda m, t: m.cast(t, dst)), [x], f"{src}->{dst}"


# -- reductions --------------------------------------------------------------------------

REDUCE = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
          "reduce_logsumexp", "reduce_euclidean_norm", "reduce_std", "reduce_variance"]


def _reduce(fn_name):
    def draw_case(draw):
        dtype = draw(st.sampled_from(NUMERIC))
        shp = shape(draw)
        x = array(draw, shp, dtype)
        ax = axes(draw, len(shp))
        keep = draw(st.booleans())
        return ((lambda m, t: getattr(m.math, fn_name)(t, axis=ax, keepdims=keep)), [x],
                f"axis={ax}, keepdims={keep}, {dtype}")
    return draw_case


for _name in REDUCE:
    spec(f"math.{_name}")(_reduce(_name))


@spec("math.reduce_any/all", grad=False)
def _reduce_bool(draw):
    fn = draw(st.sampled_from(["reduce_any", "reduce_all"]))
    shp = shape(draw)
    ax = axes(draw, len(shp))
    return ((lambda m, t: getattr(m.math, fn)(t, axis=ax)), [array(draw, shp, "bool")],
            f"{fn} axis={ax}")


@spec("math.argmax/argmin", grad=False)
def _argmax(draw):
    fn = draw(st.sampled_from(["argmax", "argmin"]))
    shp = shape(draw, min_rank=0)
    ax = axis(draw, max(len(shp), 1), extra=1)
    dtype = draw(st.sampled_from(NUMERIC))
    return (lambda m, t: getattr(m.math, fn)(t, axis=ax)), [array(draw, shp, dtype)], f"{fn} {ax}"


@spec("math.count_nonzero", grad=False)
def _count_nonzero(draw):
    shp = shape(draw)
    ax = axes(draw, len(shp))
    return ((lambda m, t: m.math.count_nonzero(t, axis=ax)), [array(draw, shp, "int32")],
            f"axis={ax}")


@spec("math.cumsum")
def _cumsum(draw):
    shp = shape(draw, min_rank=0)
    ax = axis(draw, max(len(shp), 1), extra=1)
    excl, rev = draw(st.booleans()), draw(st.booleans())
    dtype = draw(st.sampled_from(NUMERIC))
    return ((lambda m, t: m.math.cumsum(t, axis=ax, exclusive=excl, reverse=rev)),
            [array(draw, shp, dtype)], f"axis={ax} exclusive={excl} reverse={rev}")


# -- shapes and arrays -------------------------------------------------------------------

@spec("reshape")
def _reshape(draw):
    shp = shape(draw)
    n = int(np.prod(shp))
    kind = draw(st.sampled_from(["valid", "minus_one", "any"]))
    if kind == "any" or n == 0:
        new = list(shape(draw, max_rank=3, min_dim=-1, max_dim=6))
    else:
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        d = draw(st.sampled_from(divisors))
        new = [d, n // d] if kind == "valid" else [d, -1]
    return (lambda m, t: m.reshape(t, new)), [array(draw, shp, "float32")], f"-> {new}"


@spec("transpose")
def _transpose(draw):
    shp = shape(draw)
    perm = list(draw(st.permutations(range(len(shp)))))
    if perm and draw(st.integers(0, 4)) == 0:
        perm[0] = draw(st.integers(-len(shp) - 1, len(shp) + 1))
    use = draw(st.booleans())
    return ((lambda m, t: m.transpose(t, perm=perm if use else None)),
            [array(draw, shp, "float32")], f"perm={perm if use else None}")


@spec("expand_dims")
def _expand_dims(draw):
    shp = shape(draw, max_rank=3)
    ax = axis(draw, len(shp) + 1)
    return (lambda m, t: m.expand_dims(t, ax)), [array(draw, shp, "float32")], f"axis={ax}"


@spec("squeeze")
def _squeeze(draw):
    shp = shape(draw, max_dim=2)
    ax = draw(st.one_of(st.none(), st.integers(-len(shp) - 1, len(shp)),
                        st.lists(st.integers(-len(shp) - 1, len(shp)), max_size=3)))
    return (lambda m, t: m.squeeze(t, axis=ax)), [array(draw, shp, "float32")], f"axis={ax}"


@spec("concat")
def _concat(draw):
    shp = shape(draw, min_rank=0, max_rank=3)
    ax = axis(draw, max(len(shp), 1))
    n = draw(st.integers(1, 3))
    arrs = []
    for _ in range(n):
        s = list(shp)
        if s and draw(st.booleans()):
            s[ax % len(s) if -len(s) <= ax < len(s) else 0] = draw(st.integers(0, 3))
        arrs.append(array(draw, tuple(s), "float32"))
    return (lambda m, *xs: m.concat(list(xs), axis=ax)), arrs, f"axis={ax}"


@spec("stack")
def _stack(draw):
    shp = shape(draw, max_rank=3)
    ax = axis(draw, len(shp) + 1)
    n = draw(st.integers(1, 3))
    arrs = [array(draw, shp if draw(st.integers(0, 6)) else shape(draw, max_rank=3), "float32")
            for _ in range(n)]
    return (lambda m, *xs: m.stack(list(xs), axis=ax)), arrs, f"axis={ax}"


@spec("unstack")
def _unstack(draw):
    shp = shape(draw, min_rank=0, max_rank=3, min_dim=1)
    ax = axis(draw, max(len(shp), 1))
    return (lambda m, t: m.unstack(t, axis=ax)), [array(draw, shp, "float32")], f"axis={ax}"


@spec("split")
def _split(draw):
    shp = shape(draw, min_rank=1, max_rank=3, max_dim=6)
    ax = axis(draw, len(shp))
    if draw(st.booleans()):
        n = draw(st.integers(1, 4))
        return (lambda m, t: m.split(t, n, axis=ax)), [array(draw, shp, "float32")], \
            f"{n} ways, axis={ax}"
    sizes = draw(st.lists(st.integers(-1, 4), min_size=1, max_size=3))
    return (lambda m, t: m.split(t, sizes, axis=ax)), [array(draw, shp, "float32")], \
        f"sizes={sizes}, axis={ax}"


@spec("tile")
def _tile(draw):
    shp = shape(draw, max_rank=3)
    mult = draw(st.lists(st.integers(0, 3), min_size=max(len(shp) - 1, 0),
                         max_size=len(shp) + 1))
    return (lambda m, t: m.tile(t, mult)), [array(draw, shp, "float32")], f"multiples={mult}"


@spec("pad")
def _pad(draw):
    shp = shape(draw, max_rank=3, min_dim=1)
    mode = draw(st.sampled_from(["CONSTANT", "REFLECT", "SYMMETRIC"]))
    pads = [[draw(st.integers(-1, 3)), draw(st.integers(0, 3))] for _ in shp]
    if draw(st.integers(0, 6)) == 0:
        pads = pads[:-1]
    return ((lambda m, t: m.pad(t, pads, mode=mode)), [array(draw, shp, "float32")],
            f"{mode} {pads}")


@spec("broadcast_to")
def _broadcast_to(draw):
    shp = shape(draw, max_rank=3)
    target = list(broadcast_partner(draw, shp))
    if len(target) < len(shp) or draw(st.booleans()):
        target = [draw(st.integers(0, 3))] + list(shp)
    return (lambda m, t: m.broadcast_to(t, target)), [array(draw, shp, "float32")], f"{target}"


@spec("reverse")
def _reverse(draw):
    shp = shape(draw, min_rank=1)
    ax = draw(st.lists(st.integers(-len(shp) - 1, len(shp)), min_size=1, max_size=3))
    return (lambda m, t: m.reverse(t, ax)), [array(draw, shp, "float32")], f"axis={ax}"


@spec("gather")
def _gather(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    ax = axis(draw, len(shp), extra=1)
    bd = draw(st.sampled_from([0, 0, 0, 1, -1]))
    d = shp[ax] if -len(shp) <= ax < len(shp) else 3
    ishape = shape(draw, max_rank=2)
    if bd and draw(st.booleans()):
        ishape = shp[:abs(bd)] + ishape
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    hi = d + (1 if draw(st.integers(0, 5)) == 0 else 0)
    idx = rng.integers(0, max(hi, 1), size=ishape).astype("int32")
    use_axis = draw(st.booleans())
    return ((lambda m, p, i: m.gather(p, i, axis=ax if use_axis else None, batch_dims=bd)),
            [array(draw, shp, "float32"), idx], f"axis={ax if use_axis else None}, bd={bd}")


@spec("gather_nd")
def _gather_nd(draw):
    shp = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    bd = draw(st.sampled_from([0, 0, 1]))
    k = draw(st.integers(1, len(shp)))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    lead = list(shp[:bd]) + list(shape(draw, max_rank=1, min_dim=1, max_dim=3))
    cols = [rng.integers(0, shp[bd + j] + (1 if draw(st.integers(0, 6)) == 0 else 0), size=lead)
            if bd + j < len(shp) else rng.integers(0, 2, size=lead) for j in range(k)]
    idx = np.stack(cols, axis=-1).astype("int32")
    return ((lambda m, p, i: m.gather_nd(p, i, batch_dims=bd)),
            [array(draw, shp, "float32"), idx], f"batch_dims={bd}")


@spec("slice")
def _slice(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    begin = [draw(st.integers(-1, d + 1)) for d in shp]
    size = [draw(st.integers(-1, d + 1)) for d in shp]
    return (lambda m, t: m.slice(t, begin, size)), [array(draw, shp, "float32")], \
        f"begin={begin} size={size}"


@spec("getitem")
def _getitem(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    key = []
    for d in shp[:draw(st.integers(1, len(shp)))]:
        if draw(st.booleans()):
            key.append(draw(st.integers(-d - 1, d)))
        else:
            start = draw(st.one_of(st.none(), st.integers(-d - 2, d + 2)))
            stop = draw(st.one_of(st.none(), st.integers(-d - 2, d + 2)))
            step = draw(st.sampled_from([None, 1, 2, -1, -2]))
            key.append(slice(start, stop, step))
    return (lambda m, t: t[tuple(key)]), [array(draw, shp, "float32")], f"key={key}"


@spec("one_hot", grad=False)
def _one_hot(draw):
    ishape = shape(draw, max_rank=2)
    depth = draw(st.integers(-1, 4))
    ax = draw(st.one_of(st.none(), st.integers(-2, len(ishape) + 1)))
    idx = np.random.default_rng(draw(st.integers(0, 99))).integers(-1, 5, ishape).astype("int32")
    return (lambda m, i: m.one_hot(i, depth, axis=ax)), [idx], f"depth={depth} axis={ax}"


@spec("boolean_mask")
def _boolean_mask(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    ax = draw(st.integers(0, len(shp) - 1))
    k = draw(st.integers(1, len(shp) - ax))
    mshape = shp[ax:ax + k] if draw(st.integers(0, 5)) else shape(draw, min_rank=1, max_rank=2)
    return ((lambda m, t, mk: m.boolean_mask(t, mk, axis=ax)),
            [array(draw, shp, "float32"), array(draw, mshape, "bool")], f"axis={ax}")


@spec("where")
def _where(draw):
    shp = shape(draw, max_rank=3)
    c = array(draw, broadcast_partner(draw, shp), "bool")
    return ((lambda m, cc, x, y: m.where(cc, x, y)),
            [c, array(draw, shp, "float32"), array(draw, broadcast_partner(draw, shp), "float32")],
            "")


@spec("roll")
def _roll(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    shift = draw(st.integers(-5, 5))
    ax = axis(draw, len(shp), extra=1)
    return (lambda m, t: m.roll(t, shift, ax)), [array(draw, shp, "float32")], f"{shift} {ax}"


@spec("repeat")
def _repeat(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    reps = draw(st.integers(0, 3))
    ax = draw(st.one_of(st.none(), st.integers(-len(shp) - 1, len(shp))))
    return (lambda m, t: m.repeat(t, reps, axis=ax)), [array(draw, shp, "float32")], \
        f"repeats={reps} axis={ax}"


@spec("zeros/ones/fill", grad=False)
def _fill(draw):
    fn = draw(st.sampled_from(["zeros", "ones", "fill"]))
    dims = draw(st.lists(st.one_of(st.integers(-2, 3), st.sampled_from([1.0, 2.5])),
                         max_size=3))
    if fn == "fill":
        return (lambda m: m.fill(dims, 1.5)), [], f"fill {dims}"
    return (lambda m: getattr(m, fn)(dims)), [], f"{fn} {dims}"


@spec("range/linspace/eye", grad=False)
def _ranges(draw):
    fn = draw(st.sampled_from(["range", "linspace", "eye"]))
    a, b = draw(st.integers(-4, 6)), draw(st.integers(-4, 6))
    if fn == "range":
        step = draw(st.sampled_from([1, 2, -1, 3]))
        return (lambda m: m.range(a, b, step)), [], f"range({a}, {b}, {step})"
    if fn == "linspace":
        n = draw(st.integers(0, 5))
        return (lambda m: m.linspace(float(a), float(b), n)), [], f"linspace({a}, {b}, {n})"
    cols = abs(b) if draw(st.booleans()) else None
    return (lambda m: m.eye(abs(a), cols)), [], f"eye {abs(a)} {cols}"


@spec("sort/argsort", grad=True)
def _sort(draw):
    fn = draw(st.sampled_from(["sort", "argsort"]))
    shp = shape(draw, min_rank=1, max_rank=3)
    ax = axis(draw, len(shp), extra=1)
    d = draw(st.sampled_from(["ASCENDING", "DESCENDING"]))
    return (lambda m, t: getattr(m, fn)(t, axis=ax, direction=d)), \
        [array(draw, shp, "float32")], f"{fn} axis={ax} {d}"


@spec("math.top_k")
def _top_k(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    k = draw(st.integers(0, 5))
    return (lambda m, t: m.math.top_k(t, k=k)), [array(draw, shp, "float32")], f"k={k}"


@spec("matmul")
def _matmul(draw):
    n, k, p = (draw(st.integers(0, 4)) for _ in range(3))
    batch = shape(draw, max_rank=1, min_dim=1, max_dim=2)
    ta, tb = draw(st.booleans()), draw(st.booleans())
    sa = batch + ((k, n) if ta else (n, k))
    sb = batch + ((p, k) if tb else (k, p))
    if draw(st.integers(0, 5)) == 0:
        sb = shape(draw, min_rank=2, max_rank=3)
    dtype = draw(st.sampled_from(["float32", "float64", "int32"]))
    return ((lambda m, a, b: m.matmul(a, b, transpose_a=ta, transpose_b=tb)),
            [array(draw, sa, dtype), array(draw, sb, dtype)], f"ta={ta} tb={tb}")


@spec("einsum")
def _einsum(draw):
    eq, shapes = draw(st.sampled_from([
        ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 1)]),
        ("ij->ji", [(2, 3)]), ("ij,ij->", [(2, 3), (2, 3)]),
        ("i,j->ij", [(2,), (3,)]), ("ij,jk->ik", [(2, 3), (4, 4)]),
        ("ij,jk", [(2, 3), (3, 2)]), ("...ij->...ji", [(2, 2, 3)])]))
    return ((lambda m, *xs: m.einsum(eq, *xs)), [array(draw, s, "float32") for s in shapes], eq)


@spec("einsum_diagonal", grad=False)
def _einsum_diagonal(draw):
    # Values only: tapeflow has no gradient for a repeated subscript (it says so).
    eq = draw(st.sampled_from(["ii->i", "ii->", "iij->ij"]))
    shp = (3, 3) if eq != "iij->ij" else (2, 2, 3)
    return (lambda m, x: m.einsum(eq, x)), [array(draw, shp, "float32")], eq


@spec("tensordot")
def _tensordot(draw):
    sa = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    n_ax = draw(st.integers(0, len(sa)))
    sb = sa[len(sa) - n_ax:] + shape(draw, max_rank=2, min_dim=1)
    if draw(st.integers(0, 5)) == 0:
        sb = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    return ((lambda m, a, b: m.tensordot(a, b, axes=n_ax)),
            [array(draw, sa, "float32"), array(draw, sb, "float32")], f"axes={n_ax}")


@spec("sequence_mask", grad=False)
def _sequence_mask(draw):
    lengths = np.random.default_rng(draw(st.integers(0, 99))).integers(
        0, 5, shape(draw, max_rank=2)).astype("int32")
    maxlen = draw(st.one_of(st.none(), st.integers(0, 5)))
    return (lambda m, t: m.sequence_mask(t, maxlen)), [lengths], f"maxlen={maxlen}"


@spec("tensor_scatter_nd_update/add")
def _scatter(draw):
    fn = draw(st.sampled_from(["tensor_scatter_nd_update", "tensor_scatter_nd_add"]))
    shp = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    n = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    # Distinct rows: with repeated indices the update order is unspecified in TF.
    rows = rng.permutation(shp[0])[:n] if fn.endswith("update") else rng.integers(0, shp[0], n)
    if draw(st.integers(0, 6)) == 0:
        rows = rows + shp[0]
    idx = rows.reshape(-1, 1).astype("int32")
    upd = array(draw, (len(rows),) + shp[1:], "float32")
    return (lambda m, t, i, u: getattr(m, fn)(t, i, u)), [array(draw, shp, "float32"), idx, upd], fn


# -- nn ----------------------------------------------------------------------------------

@spec("nn.softmax/log_softmax")
def _softmax(draw):
    fn = draw(st.sampled_from(["softmax", "log_softmax"]))
    shp = shape(draw, min_rank=1, max_rank=3)
    ax = axis(draw, len(shp), extra=1)
    return (lambda m, t: getattr(m.nn, fn)(t, axis=ax)), [array(draw, shp, "float32")], \
        f"{fn} axis={ax}"


def _window(draw, depth=True):
    """An int, a pair or TF's NHWC four (batch and depth entries mostly 1: other values
    are unsupported by TF's convolution and by tapeflow's pooling)."""
    kind = draw(st.sampled_from(["int", "pair", "nhwc"]))
    if kind == "int":
        return draw(st.integers(0, 3))
    if kind == "pair":
        return [draw(st.integers(0, 3)), draw(st.integers(1, 3))]
    odd = draw(st.sampled_from([1, 1, 1, 2]))
    return ([1 if depth else odd, draw(st.integers(1, 3)), draw(st.integers(1, 3)),
             odd if depth else 1])


@spec("nn.conv2d")
def _conv2d(draw):
    n, h, w, ci, co = (draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6)),
                       draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    wi = ci if draw(st.integers(0, 6)) else ci + 1
    strides = _window(draw)
    pad = draw(st.sampled_from(["SAME", "VALID"]))
    dil = draw(st.sampled_from([1, 1, 2]))
    if dil != 1 and strides not in (1, [1, 1], [1, 1, 1, 1]):
        strides = 1          # TF supports dilation with unit strides only on CPU
    if pad == "VALID":
        # A VALID filter larger than the input: TF returns an empty tensor, tapeflow
        # raises a clear error on purpose (tests/ops/test_conv_ops.py); not drawn.
        h, w = max(h, (kh - 1) * dil + 1), max(w, (kw - 1) * dil + 1)
    return ((lambda m, x, f: m.nn.conv2d(x, f, strides=strides, padding=pad, dilations=dil)),
            [array(draw, (n, h, w, ci), "float32"), array(draw, (kh, kw, wi, co), "float32")],
            f"strides={strides} {pad} dilations={dil}")


@spec("nn.max_pool2d/avg_pool2d")
def _pool(draw):
    fn = draw(st.sampled_from(["max_pool2d", "avg_pool2d"]))
    shp = (draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)),
           draw(st.integers(1, 3)))
    # TF pools over depth on some kernels (tapeflow does not: UnimplementedError).
    ksize, strides = _window(draw, depth=False), _window(draw, depth=False)
    pad = draw(st.sampled_from(["SAME", "VALID"]))
    k = _pair(ksize)
    if fn == "max_pool2d" and pad == "VALID" and (k[0] > shp[1] or k[1] > shp[2]):
        # TF's MaxPool aborts the process (SIGFPE) on VALID windows larger than the
        # input; the output is empty, as AvgPool's, which stands in for it on TF's side.
        return ((lambda m, x: getattr(m.nn, fn if m.__name__ == "tapeflow" else "avg_pool2d")(
            x, ksize, strides, pad)), [array(draw, shp, "float32")],
            f"{fn} ksize={ksize} strides={strides} {pad} (empty)")
    return ((lambda m, x: getattr(m.nn, fn)(x, ksize, strides, pad)),
            [array(draw, shp, "float32")], f"{fn} ksize={ksize} strides={strides} {pad}")


def _pair(window):
    if isinstance(window, int):
        return (window, window)
    return tuple(window[1:3]) if len(window) == 4 else tuple(window)


@spec("nn.bias_add")
def _bias_add(draw):
    shp = shape(draw, min_rank=0, max_rank=3)
    c = shp[-1] if shp and draw(st.integers(0, 5)) else draw(st.integers(0, 3))
    return ((lambda m, x, b: m.nn.bias_add(x, b)),
            [array(draw, shp, "float32"), array(draw, (c,), "float32")], "")


@spec("nn.l2_normalize")
def _l2_normalize(draw):
    shp = shape(draw, min_rank=1, max_rank=3)
    ax = draw(st.one_of(st.none(), st.integers(-len(shp), len(shp) - 1)))
    return (lambda m, t: m.nn.l2_normalize(t, axis=ax)), [array(draw, shp, "float32")], \
        f"axis={ax}"


@spec("nn.moments")
def _moments(draw):
    shp = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    ax = sorted(set(draw(st.lists(st.integers(0, len(shp) - 1), min_size=1, max_size=len(shp)))))
    keep = draw(st.booleans())
    return (lambda m, t: m.nn.moments(t, ax, keepdims=keep)), [array(draw, shp, "float32")], \
        f"axes={ax} keepdims={keep}"


@spec("nn.sparse_softmax_cross_entropy_with_logits")
def _sparse_xent(draw):
    b, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    labels = np.random.default_rng(draw(st.integers(0, 99))).integers(
        0, c + (1 if draw(st.integers(0, 6)) == 0 else 0), size=(b,)).astype("int32")
    return ((lambda m, lab, lo: m.nn.sparse_softmax_cross_entropy_with_logits(
        labels=lab, logits=lo)), [labels, array(draw, (b, c), "float32")], "")


@spec("nn.softmax/sigmoid_cross_entropy_with_logits")
def _xent(draw):
    fn = draw(st.sampled_from(["softmax_cross_entropy_with_logits",
                               "sigmoid_cross_entropy_with_logits"]))
    shp = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    lshape = shp if draw(st.integers(0, 6)) else shape(draw, min_rank=1, max_rank=3, min_dim=1)
    labels = np.random.default_rng(draw(st.integers(0, 99))).uniform(0.1, 1, lshape)
    if fn.startswith("softmax"):
        # Distributions: TF's fused gradient (softmax - labels) assumes they sum to 1.
        labels = labels / labels.sum(axis=-1, keepdims=True)
    return ((lambda m, lab, lo: getattr(m.nn, fn)(labels=lab, logits=lo)),
            [labels.astype("float32"), array(draw, shp, "float32")], fn)


@spec("nn.l2_loss")
def _l2_loss(draw):
    return (lambda m, t: m.nn.l2_loss(t)), [array(draw, shape(draw), "float32")], ""


@spec("nn.embedding_lookup")
def _embedding_lookup(draw):
    rows = draw(st.integers(1, 5))
    idx = np.random.default_rng(draw(st.integers(0, 99))).integers(
        0, rows + (1 if draw(st.integers(0, 6)) == 0 else 0), shape(draw, max_rank=2))
    return ((lambda m, p, i: m.nn.embedding_lookup(p, i)),
            [array(draw, (rows, 3), "float32"), idx.astype("int32")], "")


# -- segments, scatter, norms, random shapes ---------------------------------------------

@spec("math.segment_sum/unsorted_segment_sum")
def _segment_sum(draw):
    fn = draw(st.sampled_from(["segment_sum", "unsorted_segment_sum"]))
    shp = shape(draw, min_rank=1, max_rank=3)
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    ids = np.sort(rng.integers(0, 3 + (1 if draw(st.integers(0, 6)) == 0 else 0), shp[0]))
    if fn == "segment_sum":
        return ((lambda m, x, i: m.math.segment_sum(x, i)),
                [array(draw, shp, "float32"), ids.astype("int32")], fn)
    n = draw(st.integers(0, 4))
    return ((lambda m, x, i: m.math.unsorted_segment_sum(x, i, n)),
            [array(draw, shp, "float32"), ids.astype("int32")], f"{fn} num_segments={n}")


@spec("scatter_nd")
def _scatter_nd(draw):
    out = list(shape(draw, min_rank=1, max_rank=3, min_dim=1))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    n = draw(st.integers(0, 3))
    rows = rng.integers(0, out[0] + (1 if draw(st.integers(0, 6)) == 0 else 0), n)
    upd = array(draw, (n,) + tuple(out[1:]), "float32")
    return ((lambda m, i, u: m.scatter_nd(i, u, out)), [rows.reshape(-1, 1).astype("int32"), upd],
            f"shape={out}")


@spec("math.in_top_k", grad=False)
def _in_top_k(draw):
    b, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    k = draw(st.integers(0, 6))
    t = np.random.default_rng(draw(st.integers(0, 99))).integers(0, c, b).astype("int32")
    return ((lambda m, tt, p: m.math.in_top_k(tt, p, k)), [t, array(draw, (b, c), "float32")],
            f"k={k}")


@spec("norm")
def _norm(draw):
    shp = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    o = draw(st.sampled_from(["euclidean", 1, 2, np.inf]))
    ax = draw(st.one_of(st.none(), st.integers(-len(shp), len(shp) - 1)))
    keep = draw(st.booleans())
    return ((lambda m, x: m.norm(x, ord=o, axis=ax, keepdims=keep)),
            [array(draw, shp, "float32")], f"ord={o} axis={ax} keepdims={keep}")


@spec("clip_by_norm")
def _clip_by_norm(draw):
    shp = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    c = draw(st.sampled_from([0.5, 1.0, 5.0]))
    ax = draw(st.one_of(st.none(), st.integers(0, len(shp) - 1)))
    return ((lambda m, x: m.clip_by_norm(x, c, axes=ax)), [array(draw, shp, "float32")],
            f"clip_norm={c} axes={ax}")


@spec("meshgrid")
def _meshgrid(draw):
    n = draw(st.integers(1, 3))
    idx = draw(st.sampled_from(["xy", "ij"]))
    arrs = [array(draw, shape(draw, min_rank=1, max_rank=1), "float32") for _ in range(n)]
    return (lambda m, *xs: m.meshgrid(*xs, indexing=idx)), arrs, f"n={n} {idx}"


@spec("zeros_like/ones_like", grad=False)
def _likes(draw):
    fn = draw(st.sampled_from(["zeros_like", "ones_like"]))
    dtype = draw(st.sampled_from(NUMERIC + ["bool"]))
    return (lambda m, x: getattr(m, fn)(x)), [array(draw, shape(draw), dtype)], f"{fn} {dtype}"


@spec("random.uniform/normal shapes", grad=False)
def _random_shapes(draw):
    # Draws differ between the libraries: compare shape, dtype and what raises.
    fn = draw(st.sampled_from(["uniform", "normal", "truncated_normal"]))
    dims = draw(st.lists(st.one_of(st.integers(-1, 3), st.just(2.0)), max_size=3))
    dtype = draw(st.sampled_from(["float32", "float64", "int32"]))
    kwargs = {"dtype": dtype}
    if fn == "uniform" and dtype == "int32":
        kwargs.update(minval=0, maxval=draw(st.integers(-1, 5)))

    def call(m):
        r = getattr(m.random, fn)(dims, **kwargs)
        return m.shape(r), r * 0
    return call, [], f"{fn} {dims} {kwargs}"


@spec("nn.batch_normalization")
def _batch_norm(draw):
    shp = shape(draw, min_rank=1, max_rank=3, min_dim=1)
    c = shp[-1]
    stats = [np.abs(array(draw, (c,), "float32")) + 0.5 if k == 1 else array(draw, (c,), "float32")
             for k in range(4)]
    return ((lambda m, x, mu, var, off, sc: m.nn.batch_normalization(x, mu, var, off, sc, 1e-3)),
            [array(draw, shp, "float32")] + stats, "")
