"""`tf.map_fn` and `tf.vectorized_map`: a function applied to each row of tensors.

Eagerly the rows are mapped in a Python loop and the results stacked (a tape
records every op). Inside `tf.function` the map is one `tf.while_loop` that
writes each result into a `TensorArray`; the function is traced once on the
first row's placeholders to learn the results' structure. `vectorized_map`
gives the same values as `map_fn` (it does not rewrite `fn` into batch ops).

    >>> import tapeflow as tf
    >>> tf.map_fn(lambda row: tf.reduce_sum(row), tf.constant([[1, 2], [3, 4]])).numpy()
    array([3, 7], dtype=int32)
"""
from __future__ import annotations

from tapeflow.framework import errors
from tapeflow.framework.context import state
from tapeflow.framework.op import as_input, convert_to_tensor
from tapeflow.utils import nest


def _rows_count(flat):
    from tapeflow.ops import array_ops
    first = flat[0]
    if first.shape.rank == 0:
        raise errors.InvalidArgumentError(
            f"tf.map_fn: elems must be tensors of rank >= 1; got a scalar {first!r}.")
    static = [x.shape[0] for x in flat if x.shape.rank and x.shape[0] is not None]
    if len(set(static)) > 1:
        raise errors.InvalidArgumentError(
            "tf.map_fn: all elems must have the same first dimension; got "
            f"{[x.shape for x in flat]}.")
    if static:
        return static[0]
    return array_ops.shape(first)[0]


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True,
           swap_memory=False, infer_shape=True, name=None, fn_output_signature=None):
    """`tf.map_fn`: `fn` on each row of `elems` (a tensor or a nest of them), stacked.

    Args:
        fn: takes one row (in `elems`' structure), returns a nest of tensors.
        elems: tensors sharing their first dimension.
        dtype, fn_output_signature: the results' dtypes, when they differ from elems'.
        parallel_iterations, back_prop, swap_memory, infer_shape, name: accepted for
            compatibility.
    """
    flat = [as_input(x) for x in nest.flatten(elems)]
    flat = [x.read_value() if getattr(x, "_is_variable", False) else x for x in flat]
    if not flat:
        raise ValueError("tf.map_fn: elems must hold at least one tensor.")
    n = _rows_count(flat)
    signature = fn_output_signature if fn_output_signature is not None else dtype

    def row(i):
        from tapeflow.ops import indexing_ops
        return nest.pack_sequence_as(elems, [indexing_ops.gather(x, i) for x in flat])

    if state.graph is None:
        results = [fn(nest.pack_sequence_as(elems, [x[i] for x in flat])) for i in range(n)]
        return _stack_results(results, flat, signature)
    from tapeflow.function.autograph import convert
    return _traced_map(convert(fn), elems, flat, n, row, signature)


def _cast_to(x, dtype):
    from tapeflow.framework import dtypes
    t = as_input(x) if dtype is None else convert_to_tensor(x, dtypes.as_dtype(dtype)) \
        if not hasattr(x, "dtype") else as_input(x)
    if dtype is not None and t.dtype is not dtypes.as_dtype(dtype):
        raise TypeError(f"tf.map_fn: fn returned a {t.dtype.name} tensor where the output "
                        f"signature says {dtypes.as_dtype(dtype).name}.")
    return t


def _signature_dtypes(signature, structure):
    if signature is None:
        return [None] * len(nest.flatten(structure))
    leaves = nest.flatten(signature)
    return [getattr(s, "dtype", s) for s in leaves]


def _stack_results(results, flat, signature):
    from tapeflow.ops import array_ops
    if not results:
        if signature is None:
            return array_ops.zeros([0] + flat[0].shape.as_list()[1:], flat[0].dtype)
        raise errors.InvalidArgumentError("tf.map_fn over zero rows cannot infer the result "
                                          "shape.")
    structure = results[0]
    dts = _signature_dtypes(signature, structure)
    columns = list(zip(*[nest.flatten(r) for r in results]))
    stacked = [array_ops.stack([_cast_to(x, d) for x in col]) for col, d in zip(columns, dts)]
    return nest.pack_sequence_as(structure, stacked) if nest.is_nested(structure) \
        else stacked[0]


def _traced_map(fn, elems, flat, n, row, signature):
    from tapeflow.function.control_flow import Branch, while_loop
    from tapeflow.function.tensor_array import TensorArray
    # 1. the results' structure, dtypes and shapes, from one trace on the first row
    probe = Branch(lambda *xs: fn(nest.pack_sequence_as(elems, list(xs))),
                   [convert_to_tensor(0, x.dtype) for x in flat], "map_fn_probe",
                   [x.shape[1:] for x in flat], raw=True)
    structure = probe.structure
    dts = _signature_dtypes(signature, structure)
    leaves = [_cast_to(x, d) for x, d in zip(nest.flatten(structure), dts)]
    for x in leaves:
        if not x.shape.is_fully_defined():
            raise errors.InvalidArgumentError(
                f"tf.map_fn inside tf.function needs results of a fully known shape; fn "
                f"returned {x!r}.")
    # 2. one while loop writing each row's results into TensorArrays
    tas = [TensorArray(x.dtype, size=n, element_shape=x.shape) for x in leaves]
    bufs = [ta._ag_flatten()[0] for ta in tas]

    def body(i, *bs):
        outs = [_cast_to(x, d) for x, d in zip(nest.flatten(fn(row(i))), dts)]
        return [i + 1] + [ta._ag_pack([b]).write(i, o)._ag_flatten()[0]
                          for ta, b, o in zip(tas, bs, outs)]

    result = while_loop(lambda i, *bs: i < n, body, [convert_to_tensor(0)] + bufs)
    stacked = list(result[1:])
    return nest.pack_sequence_as(structure, stacked) if nest.is_nested(structure) \
        else stacked[0]


def vectorized_map(fn, elems, fallback_to_while_loop=True, warn=True):
    """`tf.vectorized_map`: the values of `map_fn(fn, elems)`."""
    return map_fn(fn, elems)
