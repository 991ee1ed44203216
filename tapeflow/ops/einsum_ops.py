"""`tf.einsum`: Einstein summation, with a gradient that is itself an einsum.

The equation is first made explicit (an output after '->', every '...' spelt
out as letters), so the gradient of operand k is the einsum of the incoming
gradient with the other operands, giving operand k's letters; letters summed
away inside operand k alone come back by broadcasting.

    >>> import tapeflow as tf
    >>> tf.einsum('ij,jk->ik', tf.ones((2, 3)), tf.ones((3, 2))).numpy()
    array([[3., 3.],
           [3., 3.]], dtype=float32)
    >>> tf.einsum('bi,bi->b', [[1., 2.]], [[3., 4.]]).numpy()
    array([11.], dtype=float32)
"""
from __future__ import annotations

import string

import numpy as np

from tapeflow.framework.api_export import tf_export
from tapeflow.framework import errors
from tapeflow.framework.op import OpDef, as_input, execute
from tapeflow.framework.tensor_shape import TensorShape


def _explicit(equation: str, ranks) -> str:
    """`equation` with an explicit output and each '...' replaced by letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operands but "
                         f"{len(ranks)} tensors were given.")
    spare = [c for c in string.ascii_letters if c not in eq]
    n_ell = max((r - len(t.replace("...", "")) for t, r in zip(terms, ranks) if "..." in t),
                default=0)
    ell = "".join(spare[:n_ell])
    fixed = []
    for t, r in zip(terms, ranks):
        if "..." in t:
            k = r - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k:] if k else "")
        if len(t) != r:
            raise ValueError(f"einsum: operand subscripts {t!r} do not match a tensor of rank {r} "
                             f"in {equation!r}.")
        fixed.append(t)
    if arrow:
        if n_ell and "..." not in out:      # TF sums no '...' dims away: it refuses
            raise errors.op_error("Einsum", f"Output contains {n_ell} broadcasting dimension(s) "
                                  "but no ellipsis (...) was found in the output subscripts.")
        out = out.replace("...", ell)
    else:   # implicit mode: letters used exactly once, sorted (after the '...' ones)
        counts = {c: "".join(fixed).count(c) for c in "".join(fixed)}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return ",".join(fixed) + "->" + out


def _einsum_kernel(*arrays, equation):
    if "..." in equation:       # an operand's rank was unknown when tracing
        equation = _explicit(equation, [a.ndim for a in arrays])
    big = sum(a.size for a in arrays) > 4096 or len(arrays) > 2
    return np.asarray(np.einsum(equation, *arrays, optimize=big))


def _einsum_grad(inputs, outputs, attrs, dy, needs):
    from tapeflow.ops import array_ops
    if "..." in attrs["equation"]:
        return tuple(execute(_EINSUM_GRAD, (dy,) + tuple(inputs),
                             {"equation": attrs["equation"], "k": k}) if needs[k] else None
                     for k in range(len(inputs)))
    lhs, out = attrs["equation"].split("->")
    terms = lhs.split(",")
    grads = []
    for k, (t, xk) in enumerate(zip(terms, inputs)):
        if not needs[k]:
            grads.append(None)
            continue
        if len(set(t)) != len(t):
            raise errors.op_error("Einsum", f"the gradient of an operand with a repeated "
                                  f"subscript ({t!r}, a diagonal) is not supported")
        others = [terms[j] for j in range(len(terms)) if j != k]
        avail = set(out).union(*others) if others else set(out)
        kept = "".join(c for c in t if c in avail)
        eq = ",".join([out] + others) + "->" + kept
        g = execute(_EINSUM, (dy,) + tuple(inputs[j] for j in range(len(terms)) if j != k),
                    {"equation": eq})
        if kept != t:   # letters summed inside operand k only: broadcast back
            shape = xk.shape.as_list()
            g = array_ops.reshape(g, [d if c in avail else 1 for c, d in zip(t, shape)])
            g = array_ops.broadcast_to(g, array_ops.shape(xk))
        grads.append(g)
    return tuple(grads)


def _term_dims(t, shape):
    """{letter: size} read off one operand (subscripts `t`, which may hold '...')."""
    if shape.rank is None:
        if "..." in t:
            return {}
        shape = TensorShape([None] * len(t))
    dims = shape.as_list()
    head, _, tail = t.partition("...")
    pairs = list(zip(head, dims)) + (list(zip(tail, dims[len(dims) - len(tail):])) if tail
                                      else [])
    return dict(pairs)


def _einsum_shape(inputs, attrs):
    lhs, arrow, out = attrs["equation"].partition("->")
    if not arrow or "..." in out:   # '...' left for the kernel: dims unknown here
        return [(TensorShape(None), inputs[0].dtype)]
    sizes = {}
    for t, x in zip(lhs.split(","), inputs):
        for c, d in _term_dims(t, x.shape).items():
            if d is not None and d != 1:
                sizes[c] = d
            else:
                sizes.setdefault(c, d)
    return [(TensorShape([sizes.get(c) for c in out]), inputs[0].dtype)]


def _einsum_grad_kernel(dy, *arrays, equation, k):
    # The gradient of operand k when '...' was resolved only at run time (as _einsum_grad).
    lhs, out = _explicit(equation, [a.ndim for a in arrays]).split("->")
    terms = lhs.split(",")
    t = terms[k]
    if len(set(t)) != len(t):
        raise ValueError(f"the gradient of an operand with a repeated subscript ({t!r}, a "
                         "diagonal) is not supported")
    others = terms[:k] + terms[k + 1:]
    avail = set(out).union(*others)
    kept = "".join(c for c in t if c in avail)
    g = np.einsum(",".join([out] + others) + "->" + kept, dy, *(arrays[:k] + arrays[k + 1:]))
    if kept != t:
        g = g.reshape([d if c in avail else 1 for c, d in zip(t, arrays[k].shape)])
    return np.broadcast_to(g, arrays[k].shape).astype(dy.dtype)


def _einsum_grad_grad(inputs, outputs, attrs, h):
    # EinsumGrad(dy, x; k) is the gradient in x_k of <dy, einsum(x)>, which is linear in
    # dy and in each x_j: its product with h is <dy, einsum(x with x_k replaced by h)>.
    dy, xs, k = inputs[0], list(inputs[1:]), attrs["k"]
    swapped = tuple(xs[:k] + [h] + xs[k + 1:])
    g_dy = execute(_EINSUM, swapped, {"equation": attrs["equation"]})
    return (g_dy,) + tuple(
        None if j == k else execute(_EINSUM_GRAD, (dy,) + swapped,
                                    {"equation": attrs["equation"], "k": j})
        for j in range(len(xs)))


_EINSUM_GRAD = OpDef("EinsumGrad", _einsum_grad_kernel, _einsum_grad_grad,
                     shape_fn=lambda i, a: [(i[1 + a["k"]].shape, i[0].dtype)],
                     grad_uses_outputs=False)


_EINSUM = OpDef("Einsum", _einsum_kernel, _einsum_grad, shape_fn=_einsum_shape,
                grad_needs=True, grad_uses_outputs=False)


@tf_export("einsum", "linalg.einsum")
def einsum(equation, *inputs, **kwargs):
    """Einstein summation over `inputs` as `equation` says (e.g. 'bij,bjk->bik').

    Raises:
        InvalidArgumentError: operands of different dtypes, or sizes that disagree.
    """
    xs = tuple(as_input(t) for t in inputs)
    if not xs:
        raise ValueError("einsum: at least one tensor is required.")
    if any(x.dtype is not xs[0].dtype for x in xs):
        raise errors.op_error("Einsum", "all operands must have one dtype; got "
                              + ", ".join(x.dtype.name for x in xs))
    terms = equation.replace(" ", "").partition("->")[0].split(",")
    if len(terms) == len(xs) and any(x.shape.rank is None and "..." in t
                                     for t, x in zip(terms, xs)):
        # How many dims '...' stands for is known only at run time: the kernel finds out.
        eq = equation.replace(" ", "")
        return execute(_EINSUM, xs, {"equation": eq})
    # An operand of unknown rank without '...' has one dim per subscript.
    ranks = [len(t) if x.shape.rank is None and len(terms) == len(xs) else x.shape.rank
             for t, x in zip(terms, xs)]
    eq = _explicit(equation, ranks)
    return execute(_EINSUM, xs, {"equation": eq})
