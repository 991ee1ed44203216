"""Converted `while` and `for` statements.

A loop whose condition is a Python value (or an eager tensor outside a trace)
runs in Python: unrolled into the traced graph. A `while` whose condition is
symbolic, or a `for` over a tensor (`tf.range(n)` included) inside a traced
function, becomes one `tf.while_loop` over the variables the body assigns; a
`for` over a `tf.data.Dataset` becomes one `ForDataset` op that reads the
dataset each time the function runs.

The loop variables must keep their dtype and shape from one iteration to the
next (unknown dimensions via `tf.autograph.experimental.set_loop_options`),
as in TF; a variable first assigned inside the loop and read after it starts
from zeros of the dtype and shape one trial trace of the body gives it.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.framework.context import init_scope, state
from tapeflow.framework.op import OpDef, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.function.autograph import operators as ops
from tapeflow.utils import nest

_INDEX = "<iteration index>"
_RETURN_IN_LOOP = (
    "a return statement cannot be placed inside this TensorFlow loop; this may happen if a "
    "return statement depends on a static Python condition such as a hyperparameter")


def set_loop_options(parallel_iterations=None, swap_memory=None, maximum_iterations=None,
                     shape_invariants=None):
    """`tf.autograph.experimental.set_loop_options`: read by the converter, no-op when run."""
    del parallel_iterations, swap_memory, maximum_iterations, shape_invariants


def _is_dataset(x) -> bool:
    from tapeflow.data.dataset import Dataset
    return isinstance(x, Dataset)


# -- loop variables ---------------------------------------------------------------------------

class LoopVars:
    """Which variables a traced loop carries, and their flat tensors.

    Carried: tensors, numbers and nests/TensorArrays of them. Kept: other
    Python values (and Variables), which must not change in the loop, and
    variables undefined before the loop that nothing reads after it.
    """

    def __init__(self, names, values, live, opts):
        self.names = list(names)
        self.kind = []                # per variable: 'carry' or 'keep'
        self.init = list(values)
        invariants = {id(v): TensorShape(s) if not isinstance(s, TensorShape) else s
                      for v, s in ((opts or {}).get("shape_invariants") or [])}
        self.flat, self.shapes, self.slices = [], [], []
        self.observed = None        # a list: record body shapes instead of checking them
        for n, v in zip(names, values):
            if n == ops.RETVAL and ops.is_undefined(v):
                raise ops.user_error(NotImplementedError, _RETURN_IN_LOOP)
            if ops.is_undefined(v) or getattr(v, "_is_variable", False) or \
                    not ops._convertible(v) or _needs_shape(v):
                self.kind.append("keep")
                self.slices.append(None)
                continue
            self.kind.append("carry")
            leaves = [self._leaf(n, x) for x in ops.flatten(v)]
            start = len(self.flat)
            self.flat += leaves
            self.slices.append((start, len(self.flat)))
            ta_shapes = v._ag_invariants() if hasattr(v, "_ag_invariants") else None
            for i, t in enumerate(leaves):
                inv = invariants.get(id(v)) if len(leaves) == 1 else None
                self.shapes.append(inv if inv is not None else
                                   ta_shapes[i] if ta_shapes is not None else t.shape)

    @staticmethod
    def _leaf(name, x):
        if getattr(x, "_is_variable", False):
            return x.read_value()
        return ops._to_tensor(name, x)

    def rebuild(self, flat):
        out = []
        for k, v in enumerate(self.init):
            if self.kind[k] == "keep":
                out.append(v)
            else:
                a, b = self.slices[k]
                out.append(ops.unflatten(v, flat[a:b]) if nest.is_nested(v) or
                           hasattr(v, "_ag_flatten") else flat[a])
        return tuple(out)

    def check(self, new):
        """The flat tensors of the body's results, checked against the loop's entry."""
        out = []
        for k, (n, v, w) in enumerate(zip(self.names, self.init, new)):
            if self.kind[k] == "keep":
                if w is not v and not ops.is_undefined(v):
                    raise ops.user_error(
                        TypeError, f"'{n}' is {v!r} before the loop and {w!r} after one "
                        "iteration: a loop that depends on a tensor can only change tensors "
                        "(and values convertible to them).")
                continue
            if ops.is_undefined(w) or w is None:
                raise ops.user_error(ValueError, f"'{n}' must be defined at the end of each "
                                     f"iteration of the loop; it is {w!r}")
            a, b = self.slices[k]
            leaves = ops.flatten(w)
            if len(leaves) != b - a:
                raise ops.user_error(
                    ValueError, f"'{n}' has the structure {v!r} before the loop, but "
                    f"{w!r} after one iteration")
            for i, x in enumerate(leaves):
                entry, shape = self.flat[a + i], self.shapes[a + i]
                if not isinstance(x, Tensor) and not getattr(x, "_is_variable", False):
                    x = convert_to_tensor(x, entry.dtype) if isinstance(x, (int, float)) \
                        else self._leaf(n, x)
                elif getattr(x, "_is_variable", False):
                    x = x.read_value()
                if self.observed is not None:
                    _check_leaf(n, entry, x.shape, x)       # dtype only
                    self.observed.append(x.shape)
                else:
                    _check_leaf(n, entry, shape, x)
                out.append(x)
        return out


def _check_leaf(name, entry, shape, x):
    if x.dtype is not entry.dtype:
        raise ops.user_error(TypeError, f"'{name}' has dtype {entry.dtype.name} before the "
                             f"loop, but dtype {x.dtype.name} after one iteration")
    got = x.shape
    narrower = shape.rank is not None and got.rank is not None and any(
        s is not None and g is None for s, g in zip(shape.as_list(), got.as_list()))
    if not shape.is_compatible_with(got) or narrower or (shape.rank is not None
                                                         and got.rank is None):
        raise ops.user_error(
            ValueError, f"'{name}' has shape {shape} before the loop, but shape {got} after "
            "one iteration. Use tf.autograph.experimental.set_loop_options to set shape "
            "invariants.")


def _needs_shape(v) -> bool:
    return hasattr(v, "_ag_needs_shape") and v._ag_needs_shape()


def _fill_undefined(body_fn, names, values, live):
    """Zeros for variables first assigned in the loop and read after it, and element
    shapes for empty TensorArrays, from one trial trace of the body."""
    todo = [k for k, (n, v) in enumerate(zip(names, values))
            if (ops.is_undefined(v) and n in live and n != ops.RETVAL) or _needs_shape(v)]
    if not todo:
        return values
    from tapeflow.function.control_flow import Branch
    from tapeflow.ops import array_ops
    trial_vars = LoopVars(names, values, (), None)
    trial = Branch(lambda *flat: body_fn(trial_vars.rebuild(flat)), trial_vars.flat, "trial",
                   trial_vars.shapes, raw=True)
    values = list(values)
    for k in todo:
        got = trial.structure[k]
        if _needs_shape(values[k]):
            if hasattr(got, "_ag_flatten") and got.element_shape.rank is not None:
                values[k] = values[k]._new(items=values[k]._items,
                                           element_shape=got.element_shape)
            continue
        if ops.is_undefined(got) or not ops._convertible(got):
            continue
        t = got if isinstance(got, Tensor) else convert_to_tensor(got)
        if not t.shape.is_fully_defined():
            raise ops.user_error(ValueError, f"'{names[k]}' must be defined before the loop: "
                                 f"its shape {t.shape} is not fully known after one iteration")
        values[k] = array_ops.zeros(t.shape.as_list(), t.dtype)
    return tuple(values)


def _tf_loop(test_fn, body_fn, values, names, live, opts):
    """One tf.while_loop over the variables (`test_fn`/`body_fn` take the value tuple)."""
    from tapeflow.function.control_flow import while_loop
    values = _fill_undefined(body_fn, names, values, live)
    lv = LoopVars(names, values, live, opts)
    dummy = not lv.flat
    if dummy:                  # a loop of side effects only: carry a counter
        lv.flat, lv.shapes = [convert_to_tensor(0)], [TensorShape([])]

    def cond(*flat):
        c = test_fn(lv.rebuild(flat))
        if not ops.is_symbolic(c):
            c = convert_to_tensor(ops.truthy(c))
        return ops.as_bool_tensor(c, "The condition of a loop")

    def body(*flat):
        new = lv.check(tuple(body_fn(lv.rebuild(flat))))
        return [flat[0] + 1] if dummy else new

    out = while_loop(cond, body, list(lv.flat), shape_invariants=list(lv.shapes),
                     maximum_iterations=(opts or {}).get("maximum_iterations"))
    out = list(out) if isinstance(out, (list, tuple)) else [out]
    return lv.rebuild(out) if not dummy else tuple(values)


# -- while -----------------------------------------------------------------------------------

def while_stmt(test, body, values, names, live, opts=None):
    """A converted `while`: Python while the condition is not symbolic, else tf.while_loop."""
    values = tuple(values)
    while True:
        c = test(*values)
        if ops.is_symbolic(c):
            return _tf_loop(lambda v: test(*v), lambda v: body(*v), values, names, live, opts)
        if not ops.truthy(c):
            return values
        values = tuple(body(*values))


# -- for -------------------------------------------------------------------------------------

def for_stmt(iterable, extra_test, body, values, names, live, opts=None):
    """A converted `for`: over a tensor or dataset in a trace as one loop op, else in Python.

    Args:
        iterable: what the loop iterates.
        extra_test: None, or a function of the variables that is false once the loop
            has to stop (a `break` ran).
        body: `body(item, *values)` -> new values.
        values, names, live: as for `while_stmt`.
        opts: `set_loop_options` arguments.
    """
    values = tuple(values)
    if state.graph is not None:
        if _is_dataset(iterable):
            return _dataset_for(iterable, extra_test, body, values, names, live)
        if isinstance(iterable, Tensor) or getattr(iterable, "_is_variable", False):
            return _tensor_for(iterable, extra_test, body, values, names, live, opts)
        if hasattr(iterable, "_ag_for_tensor"):         # a TensorArray: over its elements
            return _tensor_for(iterable._ag_for_tensor(), extra_test, body, values, names,
                               live, opts)
    for item in iterable:
        if extra_test is not None:
            go = extra_test(*values)
            if ops.is_symbolic(go):
                raise ops.user_error(
                    NotImplementedError, "break and return statements which depend on a TF "
                    "condition are not supported in Python for loops. Did you intend to make "
                    "it a TF loop? (iterate over tf.range(...) or a tensor instead)")
            if not ops.truthy(go):
                break
        values = tuple(body(item, *values))
    return values


def _tensor_for(iterable, extra_test, body, values, names, live, opts):
    from tapeflow.ops import array_ops
    x = iterable.read_value() if getattr(iterable, "_is_variable", False) else iterable
    if x.shape.rank == 0:
        raise ops.user_error(TypeError, "Cannot iterate over a scalar tensor.")
    n = x.shape[0] if x.shape.rank is not None and x.shape[0] is not None \
        else array_ops.shape(x)[0]

    def test_fn(v):
        c = v[0] < n
        if extra_test is None:
            return c
        return ops.and_(lambda: c, lambda: extra_test(*v[1:]))

    def body_fn(v):
        item = array_ops.gather(x, v[0])
        return (v[0] + 1,) + tuple(body(item, *v[1:]))

    index = convert_to_tensor(0, dtypes.int32)
    out = _tf_loop(test_fn, body_fn, (index,) + values, (_INDEX,) + tuple(names), live, opts)
    return out[1:]


# -- for over a dataset ----------------------------------------------------------------------

def _dataset_for(dataset, extra_test, body, values, names, live):
    """One stateful op iterating `dataset` when the function runs, the body traced once."""
    from tapeflow.function import control_flow as cf
    specs = nest.flatten(dataset.element_spec)
    elems = [convert_to_tensor(0, s.dtype) for s in specs]
    elem_shapes = [s.shape for s in specs]

    def body_fn(v):
        return tuple(body(v[0], *v[1:]))

    def packed_body(flat_elem, v):
        item = nest.pack_sequence_as(dataset.element_spec, list(flat_elem))
        return body_fn((item,) + tuple(v))

    lv = LoopVars(names, values, live, None)
    n_e, n_v = len(elems), len(lv.flat)
    # As tf.data's reduce: a loop variable whose shape changes is relaxed to the shape
    # both fit (the body is traced again with it).
    for _ in range(3):
        lv.observed = []
        bb = cf.Branch(lambda *a: lv.check(packed_body(a[:n_e], lv.rebuild(a[n_e:]))),
                       elems + lv.flat, "for_dataset_body", elem_shapes + lv.shapes)
        relaxed = [s.most_specific_compatible_shape(o) for s, o in zip(lv.shapes,
                                                                       lv.observed)]
        lv.observed = None
        if relaxed == lv.shapes:
            break
        lv.shapes = relaxed
    branches = [bb]
    tb = None
    if extra_test is not None:
        tb = cf.Branch(lambda *a: _bool_out(extra_test(*lv.rebuild(a))), lv.flat,
                       "for_dataset_test", lv.shapes)
        branches.append(tb)
    captures = cf._union_captures(*branches)
    variables = [v for b in branches for v in b.variables()]
    inner = [bb.graph.capture(c) for c in captures]
    from tapeflow.function.plan import Plan
    b_plan = Plan(bb.graph, bb.params + inner, bb.outputs, bb.graph.name)
    t_plan = None
    if tb is not None:
        t_inner = [tb.graph.capture(c) for c in captures]
        t_plan = Plan(tb.graph, tb.params + t_inner, tb.outputs, tb.graph.name)

    def kernel(*args):
        vals, caps = tuple(args[:n_v]), args[n_v:n_v + len(captures)]
        it = dataset._iter_flat()
        while True:
            if t_plan is not None and not t_plan.run(*vals, *caps)[0]:
                break
            with init_scope():
                elem = next(it, None)
            if elem is None:
                break
            vals = tuple(b_plan.run(*elem, *vals, *caps))
        return vals[0] if n_v == 1 else vals

    if not n_v:                       # side effects only: return a dummy count
        return _dataset_side_effects(dataset, bb, b_plan, captures, variables)
    specs_out = [(s, t.dtype) for s, t in zip(lv.shapes, lv.flat)]
    # Made per traced loop (register=False); no gradient rule: differentiating through a
    # dataset loop raises the missing-rule error naming ForDataset.
    op = OpDef("ForDataset", kernel, None, num_outputs=n_v,
               shape_fn=lambda i, a: specs_out, stateful=True, register=False)
    outs = execute(op, (*lv.flat, *captures, *variables))
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    return lv.rebuild(outs)


def _bool_out(c):
    if not ops.is_symbolic(c):
        c = convert_to_tensor(ops.truthy(c))
    return ops.as_bool_tensor(c, "The condition of a loop")


def _dataset_side_effects(dataset, bb, b_plan, captures, variables):
    """A dataset loop that carries no variables: runs the body per element, returns a count."""
    def kernel(*args):
        caps = args[:len(captures)]          # (the Variables follow, for tapes only)
        count, it = 0, dataset._iter_flat()
        while True:
            with init_scope():
                elem = next(it, None)
            if elem is None:
                return np.int32(count)
            b_plan.run(*elem, *caps)
            count += 1

    op = OpDef("ForDataset", kernel, None, shape_fn=lambda i, a: [(TensorShape([]),
                                                                  dtypes.int32)],
               stateful=True, register=False)
    execute(op, (*captures, *variables))
    return ()


# -- next(iterator) over a dataset -----------------------------------------------------------

def iterator_next(iterator, default=None):
    """`next(it)` on a dataset iterator inside a trace: an op taking the next element
    each time the function runs (TF's IteratorGetNext), not once while tracing."""
    from tapeflow.framework import errors
    specs = nest.flatten(iterator.element_spec)

    def kernel():
        with init_scope():
            flat = next(iterator._it, None)
        if flat is None:
            raise errors.OutOfRangeError(None, None, "End of sequence")
        return flat[0] if len(flat) == 1 else tuple(flat)

    op = OpDef("IteratorGetNext", kernel, None, num_outputs=len(specs),
               shape_fn=lambda i, a: [(s.shape, s.dtype) for s in specs], stateful=True,
               register=False)
    outs = execute(op, ())
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    return nest.pack_sequence_as(iterator.element_spec, outs)
