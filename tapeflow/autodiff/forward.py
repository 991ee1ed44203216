"""`tf.autodiff.ForwardAccumulator`: Jacobian-vector products (forward-mode results).

tapeflow builds forward mode on its reverse mode. Inside the accumulator's
`with` block an internal persistent tape, watching the primals only, records
the ops that run. `jvp(y)` then takes, for a dummy cotangent `u` shaped like
`y`, the vector-Jacobian product `g = u^T dy/dx` from that tape, and
differentiates `sum(g * tangents)` with respect to `u` (a "double VJP"): the
result is `dy/dx . tangents`. The computation runs through ordinary
differentiable ops, so a GradientTape (or another accumulator) around the
accumulator can differentiate a JVP again (Hessian-vector products).

    >>> import tapeflow as tf
    >>> x = tf.constant([1.0, 2.0])
    >>> with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
    ...     y = x ** 3
    >>> acc.jvp(y).numpy()
    array([3., 0.], dtype=float32)

Which JVPs are defined follows TensorFlow: a tensor computed before the block
was entered or after it exited has none (None, or zeros with
`unconnected_gradients='zero'`), nor does an integer tensor; a primal's JVP is
its tangent. The JVP computations an accumulator makes are recorded by the
tapes that were recording when it was entered (an enclosing GradientTape or
accumulator) even when `jvp` is called after those exited, as TF computes them
while the ops run; the accumulator itself does not watch its own JVPs.
"""
from __future__ import annotations

from tapeflow.autodiff.tape import GradientTape, UnconnectedGradients
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.context import state
from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import TensorBase
from tapeflow.utils import nest


def _differentiable(t) -> bool:
    return t.dtype.is_floating or t.dtype.is_complex


def _check_tangent(primal, tangent):
    """The tangent of `primal` as a tensor of its dtype and shape (ValueError otherwise)."""
    if not isinstance(primal, TensorBase):
        raise TypeError("ForwardAccumulator: primals must be tensors or Variables (or a nested "
                        f"structure of them); received {primal!r} of type "
                        f"{type(primal).__name__}.")
    tangent = convert_to_tensor(tangent, dtype=primal.dtype)
    if not tangent.shape.is_compatible_with(primal.shape):
        raise ValueError(f"ForwardAccumulator: a tangent has shape {tangent.shape} but its "
                         f"primal has shape {primal.shape}; each tangent must have its "
                         "primal's shape.")
    return tangent


@tf_export("autodiff.ForwardAccumulator")
class ForwardAccumulator:
    """Computes Jacobian-vector products of the ops run inside its `with` block.

    Args:
        primals: a tensor or Variable, or a nested structure of them, to differentiate
            with respect to.
        tangents: the direction, with the structure, shapes and dtypes of `primals`.
    """

    def __init__(self, primals, tangents):
        flat_primals = nest.flatten(primals)
        seen = set()
        for p in flat_primals:
            if id(p) in seen:
                raise ValueError(f"Tensor {p!r} was specified as a primal multiple times. This "
                                 "may indicate an error. If it was intended, please sum the "
                                 "corresponding tangents.")
            seen.add(id(p))
        nest.assert_same_structure(primals, tangents)
        flat_tangents = [_check_tangent(p, t)
                         for p, t in zip(flat_primals, nest.flatten(tangents))]
        self._primals = flat_primals
        self._tangents = flat_tangents
        self._tangent_of = {id(p): t for p, t in zip(flat_primals, flat_tangents)}
        self._tape = None            # the internal tape, made on the first entry
        self._enclosing = []         # tapes recording when the block was entered
        self._recording = False

    def __enter__(self):
        if self._recording:
            raise ValueError("Accumulator is already recording.")
        enclosing = [t for t in state.tapes if not any(t is e for e in self._enclosing)]
        self._enclosing = self._enclosing + enclosing
        if self._tape is None:
            self._tape = GradientTape(persistent=True, watch_accessed_variables=False)
            self._tape._push()
            self._tape.watch([p for p in self._primals if _differentiable(p)])
        else:
            self._tape._push()       # entered again: records on, alongside what it has
        self._recording = True
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._recording:
            self._tape._pop()
            self._recording = False

    def jvp(self, primals, unconnected_gradients=UnconnectedGradients.NONE):
        """The JVP of each tensor in `primals` (a tensor or nested structure of them):
        the derivative along the tangents, with the tensor's shape, or None where the
        tensor does not depend on the accumulator's primals (zeros with
        `unconnected_gradients='zero'`)."""
        zeros = UnconnectedGradients(unconnected_gradients) is UnconnectedGradients.ZERO
        flat = nest.flatten(primals)
        for t in flat:
            if not isinstance(t, TensorBase):
                raise TypeError("ForwardAccumulator.jvp expects a tensor or a nested structure "
                                f"of tensors; received {t!r} of type {type(t).__name__}.")
        results = [self._tangent_of.get(id(t)) for t in flat]
        todo = [i for i, t in enumerate(flat)
                if results[i] is None and self._tape is not None and _differentiable(t)]
        if todo:
            for i, j in zip(todo, self._double_vjp([flat[i] for i in todo])):
                results[i] = j
        if zeros:
            from tapeflow.ops import array_ops
            results = [array_ops.zeros_like(t) if r is None else r
                       for t, r in zip(flat, results)]
        return nest.pack_sequence_as(primals, results)

    def _double_vjp(self, targets):
        """JVPs of `targets` (float tensors), None for those the primals do not reach."""
        from tapeflow.ops import array_ops, math_ops, reduce_ops
        own = self._tape
        was_recording = own._recording
        if was_recording:
            own._pop()            # the accumulator does not watch its own JVPs
        saved = state.tapes
        # The tapes that recorded around the block record the JVP computation, as if it
        # had run beside the ops (see the module docstring).
        revived = [t for t in self._enclosing if not any(t is s for s in saved)]
        state.tapes = saved + revived
        try:
            cotangents = [array_ops.zeros_like(t) for t in targets]
            with GradientTape(watch_accessed_variables=False) as dual:
                dual.watch(cotangents)
                vjps = own.gradient(targets, self._primals, output_gradients=cotangents)
                total = None
                for g, tangent in zip(vjps, self._tangents):
                    if g is None:
                        continue
                    term = reduce_ops.reduce_sum(math_ops.multiply(g, tangent))
                    total = term if total is None else math_ops.add(total, term)
            if total is None:
                return [None] * len(targets)
            return dual.gradient(total, cotangents)
        finally:
            state.tapes = saved
            if was_recording:
                own._push()

