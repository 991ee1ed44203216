"""Plan-time fusion: a `tf.function` plan's steps rewritten into fewer, larger ones.

Run by `Plan` between scheduling (steps in program order) and slot lifetimes
(`plan.py`, stage 2b). What may fuse is declared on the op definitions
(`OpDef(fuse={...})`, roles listed there), never by op name:

* forward, `bias_act`: a producer (Conv2D, MatMul) whose only consumer is a
  `bias` op adding a vector along the last axis (AddV2, as the Keras layers
  and `tf.nn.bias_add` build it), optionally followed by the bias result's only
  consumer, an `activation` ('relu'). The three steps become one call of the
  producer's `bias_act` kernel: on oneDNN the bias and ReLU run inside the
  convolution; on NumPy they are applied in place on the product's fresh
  buffer (no intermediate arrays);
* backward, `with_bias_grad`: a filter gradient (Conv2DBackpropFilter) and a
  `bias_grad` sum over all axes but the last of the same dy become one call
  returning both (one oneDNN pass);
* backward, `relu_grad`: a producer (MatMul, Conv2DBackpropInput) whose output
  (directly, or through one `reshape` step that nothing else reads) is only read as the
  first input of a `mask` step (ReluGrad: dy * (y > 0)) becomes one call that
  multiplies each block of the product by the mask on the thread that made it,
  while the block is in cache: the ReLU gradient is no longer a separate,
  single-threaded pass over memory;
* `in_place`: an elementwise step (ReluGrad, Relu, AddV2) whose first input is
  an intermediate that dies at that step, has no other reader, was made by a
  step declared `fresh` (a new array, never a view) and has the result's shape
  and dtype writes its result into that input's buffer.

Then `overlap` (below) lets large optimizer updates run on the pool beside the
backward pass.

Fusion only regroups kernel calls: the fused step runs where the last of its
steps ran, and a pattern is skipped when an intermediate is read elsewhere
(or returned), when a stateful step lies between the fused steps, or when a
shape is not fully known. Results equal the unfused plan's to float32 rounding
(bit for bit on the NumPy kernels); on oneDNN a NaN reaching a fused ReLU may
come out 0 where the separate Relu gives NaN.

On by default: on the seed CNN's tf.function step it saves ~2 CPU-ms per step at batch
32 and ~6 at batch 128 (docs/performance.md). (It once measured slower at batch 32: the
fused plan's oneDNN primitives were created after numba had changed the thread's OpenMP
count, a backend bug fixed in `dnnl_lib.Lib.set_threads`.) `TAPEFLOW_FUSE=0` (read when
a plan is built) or `Plan(..., fuse=False)` turns it off; `tf.debugging.
enable_check_numerics`, which checks each op's own output, keeps it off.
"""
from __future__ import annotations

from tapeflow.backend import fused


def overlap_enabled() -> bool:
    """Whether a fusing plan also overlaps large updates (TAPEFLOW_OVERLAP, default on)."""
    return fused.switched_on("TAPEFLOW_OVERLAP")


def enabled(option=None) -> bool:
    """Whether a plan built now fuses: `option` when given, else TAPEFLOW_FUSE (default on)."""
    if option is not None:
        return bool(option)
    return fused.enabled()


class _Graph:
    """What the pass knows of the steps: consumers and tensor of each slot."""

    def __init__(self, steps, out_slots, tensor):
        self.steps = steps
        self.readers = {}                     # slot -> step indexes reading it (repeats kept)
        self.tensor = tensor                  # slot -> the traced tensor it holds
        self.maker = {}                       # slot -> index of the step producing it
        for k, step in enumerate(steps):
            for kind, v in step.inputs:
                if kind == "slot":
                    self.readers.setdefault(v, []).append(k)
            for o in step.outputs:
                self.maker[o] = k
        self.out_slots = set(out_slots)

    def sole_reader(self, slot):
        """The one step reading `slot` (once), or None (several, none, or returned)."""
        r = self.readers.get(slot, ())
        if len(r) != 1 or slot in self.out_slots:
            return None
        return r[0]

    def quiet_between(self, a, b):
        """No step with side effects strictly between steps a and b."""
        return not any(s.node.op.stateful and not s.node.op.pure_read
                       for s in self.steps[a + 1:b] if s is not None)

    def shape(self, slot):
        """The slot's static shape, or None when any size is unknown."""
        t = self.tensor[slot]
        return tuple(t.shape.as_list()) if t.shape.is_fully_defined() else None

    def dims(self, slot):
        """The slot's static sizes (None where unknown), or None when the rank is unknown."""
        t = self.tensor[slot]
        return None if t.shape.rank is None else tuple(t.shape.as_list())


def fuse(steps, out_slots, make_step):
    """The plan's steps with the fusable patterns replaced (see the module docstring).

    Args:
        steps: the plan's `Step`s in program order.
        out_slots: slots the plan returns (never fused away or overwritten).
        make_step: `make_step(node, kernel, attrs, inputs, outputs, fused)` -> a Step.
    """
    steps = list(steps)
    tensor = {o: step.node.outputs[i] for step in steps for i, o in enumerate(step.outputs)}
    for role, rewrite in (("bias_act", _fuse_bias_act), ("with_bias_grad", _fuse_bias_grad),
                          ("relu_grad", _fuse_relu_grad)):
        g = _Graph(steps, out_slots, tensor)
        for k in range(len(steps)):
            if steps[k] is not None and not steps[k].fused and role in steps[k].node.op.fuse:
                rewrite(g, k, make_step)
        steps = [s for s in steps if s is not None]
    g = _Graph(steps, out_slots, tensor)
    for k in range(len(steps)):
        if "in_place" in steps[k].node.op.fuse and not steps[k].fused:
            _in_place(g, k, make_step)
    return steps


def _bias_step(g, slot):
    """(index, bias input ref) of the step adding a vector to `slot`'s last axis, or None.
    The batch and spatial sizes may be unknown; the rank and the last size must be known."""
    j = g.sole_reader(slot)
    dims = g.dims(slot)
    if j is None or dims is None or len(dims) < 2 or dims[-1] is None:
        return None
    step = g.steps[j]
    if "bias" not in step.node.op.fuse or len(step.inputs) != 2 \
            or step.inputs[0] != ("slot", slot):
        return None
    x, b = step.node.inputs
    out = step.node.outputs[0]
    if (b.shape.rank != 1 or b.shape.as_list() != [dims[-1]] or b.dtype is not x.dtype
            or out.dtype is not x.dtype or not x.dtype.is_floating
            or out.shape.rank != len(dims)):
        return None
    return j, step.inputs[1]


def _fuse_bias_act(g, k, make_step):
    producer = g.steps[k]
    y = producer.outputs[0]
    found = _bias_step(g, y)
    if found is None:
        return
    j, bias = found
    last, relu = j, False
    z = g.steps[j].outputs[0]
    r = g.sole_reader(z)
    if r is not None and g.steps[r].node.op.fuse.get("activation") == "relu" \
            and g.steps[r].inputs == [("slot", z)]:
        last, relu = r, True
    extra = producer.outputs[1:]
    if any(i <= last for s in extra for i in g.readers.get(s, ())) \
            or not g.quiet_between(k, last):
        return
    op = producer.node.op
    residuals = producer.kernel is op.residual_kernel and op.residual_kernel is not None
    attrs = dict(producer.attrs, relu=relu, residuals=residuals)
    fused_nodes = (producer.node, g.steps[j].node) + ((g.steps[r].node,) if relu else ())
    outputs = [g.steps[last].outputs[0]] + list(extra)
    g.steps[last] = make_step(producer.node, op.fuse["bias_act"], attrs,
                              list(producer.inputs) + [bias], outputs, fused_nodes)
    g.steps[k] = None
    if relu:
        g.steps[j] = None


def _fuse_bias_grad(g, k, make_step):
    bp = g.steps[k]
    if len(bp.inputs) < 3 or bp.inputs[2][0] != "slot":
        return
    dz = bp.inputs[2][1]
    dims = g.dims(dz)
    if dims is None:
        return
    axes = tuple(range(len(dims) - 1))
    for j in g.readers.get(dz, ()):
        step = g.steps[j]
        op = step.node.op
        if (j == k or not op.fuse.get("bias_grad") or dict(step.attrs) != {
                "axis": axes, "keepdims": False}
                or step.node.outputs[0].dtype is not g.tensor[dz].dtype):
            continue
        first, last = min(j, k), max(j, k)
        early = g.steps[first]
        if any(i <= last for s in early.outputs for i in g.readers.get(s, ())) \
                or not g.quiet_between(first, last):
            continue
        g.steps[last] = make_step(bp.node, bp.node.op.fuse["with_bias_grad"], bp.attrs,
                                  list(bp.inputs), [bp.outputs[0], step.outputs[0]],
                                  (bp.node, step.node))
        g.steps[first] = None
        return


def _fuse_relu_grad(g, k, make_step):
    producer = g.steps[k]
    if len(producer.outputs) != 1:
        return
    chain = [k]
    slot = producer.outputs[0]
    j = g.sole_reader(slot)
    # Only a `reshape` (same elements, same order) may sit between: not a transpose or slice.
    if j is not None and g.steps[j].node.op.fuse.get("reshape") and len(g.steps[j].outputs) == 1 \
            and g.steps[j].inputs[:1] == [("slot", slot)] and not g.steps[j].fused:
        chain.append(j)
        slot = g.steps[j].outputs[0]
        j = g.sole_reader(slot)
    if j is None or not g.steps[j].node.op.fuse.get("mask") or g.steps[j].fused:
        return
    mask = g.steps[j]
    if len(mask.inputs) != 2 or mask.inputs[0] != ("slot", slot) \
            or mask.inputs[1] == ("slot", slot):
        return
    out = mask.node.outputs[0]
    y = mask.node.inputs[1]
    made = producer.node.outputs[0]
    if (not out.shape.is_fully_defined() or not made.shape.is_fully_defined()
            or y.shape.as_list() != out.shape.as_list()
            or made.shape.num_elements() != out.shape.num_elements()
            or not out.dtype.is_floating or made.dtype is not out.dtype
            or not g.quiet_between(k, j)):
        return
    attrs = dict(producer.attrs, out_shape=tuple(out.shape.as_list()))
    nodes = tuple(g.steps[i].node for i in chain) + (mask.node,)
    g.steps[j] = make_step(producer.node, producer.node.op.fuse["relu_grad"], attrs,
                           list(producer.inputs) + [mask.inputs[1]], list(mask.outputs), nodes)
    for i in chain:
        g.steps[i] = None


def _fresh(g, slot):
    """Whether `slot`'s buffer is its own: made by a `fresh` op or a fused step, or a view
    (reshape) of such a buffer that nothing else reads."""
    k = g.maker.get(slot)
    if k is None:
        return False                       # a plan input: the caller's array
    maker = g.steps[k]
    op = maker.node.op
    if maker.fused or op.fuse.get("fresh"):
        return True
    if op.aliases and maker.inputs and maker.inputs[0][0] == "slot":
        src = maker.inputs[0][1]
        return g.sole_reader(src) == k and _fresh(g, src)
    return False


def _in_place(g, k, make_step):
    step = g.steps[k]
    if not step.inputs or step.inputs[0][0] != "slot" or len(step.outputs) != 1 or step.attrs:
        return
    s = step.inputs[0][1]
    if g.sole_reader(s) != k or s not in g.maker:
        return
    if not _fresh(g, s):
        return
    out = step.node.outputs[0]
    src = g.tensor[s]
    shape = g.shape(s)
    # Rank 0 excluded: kernels may return NumPy scalars there, which have no buffer to write.
    if (not shape or not out.shape.is_fully_defined() or not src.dtype.is_floating
            or tuple(out.shape.as_list()) != shape or out.dtype is not src.dtype):
        return
    g.steps[k] = make_step(step.node, step.node.op.fuse["in_place"], {}, list(step.inputs),
                           list(step.outputs), ("in_place",))


# -- overlap: large optimizer updates beside the backward pass ------------------------------

def overlap(steps, out_slots, min_size):
    """Marks large `update` steps to run on the pool beside the steps that follow them.

    An op declared `fuse={"update": True}` (the Keras optimizers' in-place updates)
    writes its first input (the Variable it updates) and its Variable inputs that no
    other update step of the plan reads (its slots); Variables several update steps
    read (the learning rate, the iteration count) it only reads. An update step of a
    Variable of at least `min_size` elements whose outputs nothing reads is moved up
    to just after the last step it must follow (the makers of its inputs, and any step
    that touches what it writes or writes what it reads: a stateful step other than an
    update stops the move) and marked `launch`: it starts there on a pool worker
    (`blas.submit`) and is waited for (`joins` of the first later step that conflicts
    with it, or the end of the plan). A memory-bound update (Adam over the seed CNN's
    4.7M-parameter dense kernel) then runs beside compute-bound convolution gradients
    instead of after them. As in TensorFlow's executor, an update whose inputs are
    ready may have run when a later, independent step fails. `TAPEFLOW_OVERLAP=0`
    (read when a plan is built) turns this off alone.

    Returns the steps in their new order.
    """
    steps = list(steps)
    updates = [s for s in steps if s.node.op.fuse.get("update")]
    seen, shared = set(), set()
    for s in updates:
        for v in {id(v) for kind, v in s.inputs[1:] if kind == "var"}:
            (shared if v in seen else seen).add(v)
    info = {id(s): _touch(s, shared) for s in steps}
    out_slots = set(out_slots)
    read = {v for s in steps for kind, v in s.inputs if kind == "slot"}
    for s in [s for s in updates if _large(s, min_size) and not
              any(o in read or o in out_slots for o in s.outputs)]:
        k = steps.index(s)
        needs = {v for kind, v in s.inputs if kind == "slot"}
        p = k
        while p > 0 and _commute(steps[p - 1], s, info) \
                and not needs.intersection(steps[p - 1].outputs):
            p -= 1
        steps.insert(p, steps.pop(k))
        s.launch = True
    for p, s in enumerate(steps):
        if s.launch:
            q = next((q for q in range(p + 1, len(steps)) if not _commute(steps[q], s, info)),
                     None)
            if q is not None:
                steps[q].joins += (s,)
    return steps


def _touch(step, shared):
    """(Variables the step reads or writes, Variables it writes), by id."""
    touched = {id(v) for kind, v in step.inputs if kind == "var"}
    op = step.node.op
    if op.fuse.get("update"):
        first = step.inputs[0]
        writes = {id(first[1])} if first[0] == "var" else set()
        return touched, writes | (touched - shared)
    if op.stateful and not op.pure_read:
        return touched, None                    # None: anything (a barrier)
    return touched, set()


def _commute(other, s, info):
    """Whether step `other` and the update step `s` may run in either order."""
    t_other, w_other = info[id(other)]
    t_s, w_s = info[id(s)]
    if w_other is None:
        return False
    return not (w_other & t_s or w_s & t_other)


def _large(step, min_size):
    kind, var = step.inputs[0] if step.inputs else (None, None)
    if kind != "var" or not var.shape.is_fully_defined():
        return False
    return var.shape.num_elements() >= min_size
