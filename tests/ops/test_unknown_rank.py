"""Ops traced with an input of unknown rank (`TensorSpec(None)`) or unknown dims:
transpose, squeeze, tile, gather, reverse, sort, pad, matvec, einsum. Each traced
function gives TF's values, static shapes and gradients, and the ops still work eagerly.
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

X23 = np.arange(6, dtype=np.float32).reshape(2, 3)
X123 = X23.reshape(1, 2, 3)
X234 = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 7 % 11) - 5   # unsorted, no ties

# name: (expression on module m, input, [shapes to trace with]).
CASES = {
    "transpose": (lambda m, a: m.transpose(a), X23, [None, [None, 3]]),
    "transpose_3d": (lambda m, a: m.transpose(a), X234, [None, [2, None, 4]]),
    "transpose_perm": (lambda m, a: m.transpose(a, [1, 0]), X23, [None, [None, 3]]),
    "transpose_perm3": (lambda m, a: m.transpose(a, [2, 0, 1]), X234, [None]),
    "squeeze": (lambda m, a: m.squeeze(a), X123, [None, [1, None, 3], [None, 2, 3]]),
    "squeeze_axis": (lambda m, a: m.squeeze(a, [0]), X123, [None, [None, 2, 3]]),
    "squeeze_neg_axis": (lambda m, a: m.squeeze(a, -1), X23.reshape(2, 3, 1), [None]),
    "tile": (lambda m, a: m.tile(a, [2, 1]), X23, [None, [None, 3]]),
    "tile_3d": (lambda m, a: m.tile(a, [1, 2, 3]), X234, [None, [None, 3, None]]),
    "gather": (lambda m, a: m.gather(a, [1, 0, 1]), X23, [None, [None, 3]]),
    "gather_axis1": (lambda m, a: m.gather(a, [2, 0], axis=1), X23, [None, [None, 3]]),
    "gather_axis_neg": (lambda m, a: m.gather(a, [[3, 0], [1, 1]], axis=-1), X234, [None]),
    "reverse": (lambda m, a: m.reverse(a, [0]), X23, [None, [None, 3]]),
    "reverse_neg": (lambda m, a: m.reverse(a, [-1, 0]), X234, [None]),
    "sort": (lambda m, a: m.sort(a), X234, [None, [None, 3, 4], [2, 3, None]]),
    "sort_desc": (lambda m, a: m.sort(a, direction="DESCENDING"), X234, [None]),
    "sort_axis0": (lambda m, a: m.sort(a, axis=0), X234, [None, [2, None, None]]),
    "sort_axis1": (lambda m, a: m.sort(a, axis=1), X234, [None]),
    "top_k": (lambda m, a: m.math.top_k(a, 2).values, X234, [None]),
    "pad": (lambda m, a: m.pad(a, [[1, 0], [0, 2]]), X23, [None, [None, 3]]),
    "pad_value": (lambda m, a: m.pad(a, [[0, 1], [1, 0], [2, 1]], constant_values=-1.), X234,
                  [None]),
    "pad_reflect": (lambda m, a: m.pad(a, [[1, 0], [0, 2]], mode="REFLECT"), X23, [None]),
    "pad_symmetric": (lambda m, a: m.pad(a, [[1, 1], [2, 0]], mode="SYMMETRIC"), X23,
                      [None, [None, 3]]),
    "matvec": (lambda m, a: m.linalg.matvec(a, m.constant([1., -2., 3.], a.dtype)), X23,
               [None, [None, 3]]),
    "matvec_t": (lambda m, a: m.linalg.matvec(a, m.constant([1., 2.], a.dtype),
                                              transpose_a=True), X23, [None]),
    "einsum": (lambda m, a: m.einsum("ij->ji", a), X23, [None, [None, 3]]),
    "einsum_two": (lambda m, a: m.einsum("ij,jk->ik", a, m.ones([3, 2], a.dtype)), X23, [None]),
    "einsum_implicit": (lambda m, a: m.einsum("ij", a), X23, [None]),
    "einsum_ellipsis": (lambda m, a: m.einsum("...ij->...ji", a), X234, [None]),
    "einsum_ellipsis_out": (lambda m, a: m.einsum("...ij,j->...i", a, m.ones([4], a.dtype)), X234,
                            [None]),
}
TRACED = [(name, s) for name, (_, _, specs) in CASES.items() for s in specs]


def _ids(case):
    return f"{case[0]}-{'unknown' if case[1] is None else case[1]}"


def _traced(m, expr, spec, dtype="float32"):
    return m.function(lambda a: expr(m, a), input_signature=[m.TensorSpec(spec, dtype)])


def _traced_grad(m, expr, spec, weights):
    def f(a):
        with m.GradientTape() as tape:
            tape.watch(a)
            y = m.reduce_sum(expr(m, a) * weights)
        return m.convert_to_tensor(tape.gradient(y, a))   # TF's gather: IndexedSlices
    return m.function(f, input_signature=[m.TensorSpec(spec, m.float32)])


@pytest.mark.parametrize("case", TRACED, ids=_ids)
def test_traced_values_and_shapes_match_tensorflow(case, real_tf):
    name, spec = case
    expr, x, _ = CASES[name]
    got = _traced(tf, expr, spec)
    want = _traced(real_tf, expr, spec)
    # The static shape of the traced result is the one TF infers.
    assert _dims(got.get_concrete_function().structured_outputs.shape) == \
        _dims(want.get_concrete_function().structured_outputs.shape)
    np.testing.assert_array_equal(got(tf.constant(x)).numpy(), want(real_tf.constant(x)).numpy())


def _dims(shape):
    return None if shape.rank is None else shape.as_list()


@pytest.mark.parametrize("case", TRACED, ids=_ids)
def test_traced_gradients_match_tensorflow(case, real_tf):
    name, spec = case
    expr, x, _ = CASES[name]
    out_shape = expr(tf, tf.constant(x)).shape.as_list()
    weights = (np.arange(np.prod(out_shape), dtype=np.float32).reshape(out_shape) % 5) - 2
    got = _traced_grad(tf, expr, spec, tf.constant(weights))(tf.constant(x))
    want = _traced_grad(real_tf, expr, spec, real_tf.constant(weights))(real_tf.constant(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_eager_gradients(name):
    expr, x, _ = CASES[name]
    check_gradients(lambda a: expr(tf, a), [x.astype(np.float64)])


@pytest.mark.parametrize("name", ["transpose", "transpose_perm", "squeeze", "squeeze_axis",
                                  "tile", "gather", "gather_axis_neg", "reverse", "sort",
                                  "sort_axis1", "sort_desc", "pad", "pad_reflect", "matvec",
                                  "einsum_two", "einsum_ellipsis", "einsum_ellipsis_out"])
def test_second_order_through_an_unknown_rank_function(name):
    expr, x, _ = CASES[name]
    f = _traced(tf, expr, None, "float64")
    check_gradients(f, [x.astype(np.float64)], order=2)


def test_known_values():
    spec = tf.TensorSpec(None, tf.float32)

    def run(f, x):
        return tf.function(f, input_signature=[spec])(tf.constant(x)).numpy().tolist()

    assert run(tf.transpose, X23) == [[0, 3], [1, 4], [2, 5]]
    assert run(tf.squeeze, X123) == [[0, 1, 2], [3, 4, 5]]
    assert run(lambda a: tf.tile(a, [2, 1]), X23) == [[0, 1, 2], [3, 4, 5], [0, 1, 2], [3, 4, 5]]
    assert run(lambda a: tf.gather(a, [1, 0]), X23) == [[3, 4, 5], [0, 1, 2]]
    assert run(lambda a: tf.reverse(a, [0]), X23) == [[3, 4, 5], [0, 1, 2]]
    assert run(lambda a: tf.sort(a, direction="DESCENDING"), X23) == [[2, 1, 0], [5, 4, 3]]
    assert run(lambda a: tf.pad(a, [[1, 0], [0, 1]]), X23) == [[0, 0, 0, 0], [0, 1, 2, 0],
                                                               [3, 4, 5, 0]]
    assert run(lambda a: tf.linalg.matvec(a, tf.ones([3])), X23) == [3, 12]
    assert run(lambda a: tf.einsum("ij->ji", a), X23) == [[0, 3], [1, 4], [2, 5]]
    # One trace serves inputs of other ranks.
    f = tf.function(tf.transpose, input_signature=[spec])
    assert f(tf.constant(X234)).shape == (4, 3, 2)
    assert f(tf.constant([1., 2.])).numpy().tolist() == [1, 2]
    g = tf.function(tf.squeeze, input_signature=[spec])
    assert g(tf.ones([1, 3, 1, 2])).shape == (3, 2)


def test_tile_gradient_with_an_unknown_dim():
    def tile_grad(a):
        with tf.GradientTape() as t:
            t.watch(a)
            y = tf.reduce_sum(tf.tile(a, [2, 1]) ** 2)
        return t.gradient(y, a)
    for spec in ([None, 3], [None, None], None):
        f = tf.function(tile_grad, input_signature=[tf.TensorSpec(spec, tf.float32)])
        assert f(tf.constant(X23)).numpy().tolist() == [[0, 4, 8], [12, 16, 20]]
        assert f(tf.ones([4, 3])).numpy().tolist() == [[4, 4, 4]] * 4


@pytest.mark.parametrize("expr", [
    lambda a: tf.tile(a, [2, 1, 1]),
    lambda a: tf.pad(a, [[1, 0]]),
    lambda a: tf.transpose(a, [1, 2, 0]),
    lambda a: tf.reverse(a, [2]),
    lambda a: tf.reverse(a, [0, -2]),
    lambda a: tf.gather(a, [0], axis=-3),
    lambda a: tf.squeeze(a, [0]),
    lambda a: tf.pad(a, [[0, 0], [3, 0]], mode="REFLECT"),
], ids=["tile", "pad", "transpose", "reverse", "reverse_repeated", "gather", "squeeze",
        "pad_reflect"])
def test_a_rank_mismatch_found_at_run_time_is_an_error(expr, real_tf):
    # TF checks these when the function runs; so does tapeflow.
    x = X23
    with pytest.raises(real_tf.errors.InvalidArgumentError):
        real_tf.function(lambda a: _as(real_tf, expr)(a),
                         input_signature=[real_tf.TensorSpec(None, real_tf.float32)])(x)
    f = tf.function(expr, input_signature=[tf.TensorSpec(None, tf.float32)])
    with pytest.raises(tf.errors.InvalidArgumentError):
        f(tf.constant(x))


def _as(m, expr):
    """expr (written against tapeflow) run against module m: the same code, m's ops."""
    import types
    code = expr.__code__
    return types.FunctionType(code, {**expr.__globals__, "tf": m})


def test_known_shapes_are_unchanged():
    x = tf.constant(X234)
    assert tf.transpose(x).shape == (4, 3, 2)
    assert tf.squeeze(tf.constant(X123)).shape == (2, 3)
    assert tf.tile(x, [1, 2, 1]).shape == (2, 6, 4)
    assert tf.gather(x, [0, 0], axis=-1).shape == (2, 3, 2)
    assert tf.reverse(x, [-1]).numpy().tolist() == X234[..., ::-1].tolist()
    assert tf.sort(x, axis=0).numpy().tolist() == np.sort(X234, axis=0).tolist()
    assert tf.pad(x, [[0, 0], [1, 1], [0, 0]]).shape == (2, 5, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="vector of length 3"):
        tf.tile(x, [1, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="squeeze dim"):
        tf.squeeze(x, [0])


@pytest.mark.parametrize("equation", ["...ij,...jk->...ik", "...ij,j->...", "i...,i->..."])
def test_einsum_of_two_operands_of_unknown_rank(equation, rng, real_tf):
    a = rng.normal(size=(2, 3, 4))
    b = rng.normal(size=(2, 4, 5) if equation.startswith("...ij,...") else
                   (4,) if "j->" in equation else (2,))

    def grads(m, dtype):
        spec = m.TensorSpec(None, dtype)

        def f(x, y):
            with m.GradientTape() as tape:
                tape.watch([x, y])
                z = m.einsum(equation, x, y)
                s = m.reduce_sum(z * m.sin(z))
            return (z,) + tuple(tape.gradient(s, [x, y]))
        return m.function(f, input_signature=[spec, spec])

    got = grads(tf, tf.float64)(tf.constant(a), tf.constant(b))
    want = grads(real_tf, real_tf.float64)(real_tf.constant(a), real_tf.constant(b))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-10)
    spec = tf.TensorSpec(None, tf.float64)
    f = tf.function(lambda x, y: tf.einsum(equation, x, y), input_signature=[spec, spec])
    check_gradients(f, [a, b], order=2)


@pytest.mark.parametrize("name", ["transpose", "squeeze", "tile", "gather_axis_neg", "reverse_neg",
                                  "sort", "sort_desc", "top_k", "pad_reflect", "einsum",
                                  "einsum_ellipsis_out"])
def test_saved_with_an_unknown_rank_and_loaded_by_tensorflow(name, tmp_path, real_tf):
    expr, x, _ = CASES[name]
    module = tf.Module()
    module.f = tf.function((lambda a: expr(tf, a)),
                           input_signature=[tf.TensorSpec(None, tf.float32)])
    tf.saved_model.save(module, str(tmp_path))
    loaded = real_tf.saved_model.load(str(tmp_path))
    want = _traced(real_tf, expr, None)(real_tf.constant(x)).numpy()
    np.testing.assert_array_equal(loaded.f(real_tf.constant(x)).numpy(), want)
    # Another rank through the same saved function.
    if name in ("transpose", "sort", "reverse_neg"):
        y = X234[0]
        np.testing.assert_array_equal(loaded.f(real_tf.constant(y)).numpy(),
                                      _traced(real_tf, expr, None)(real_tf.constant(y)).numpy())


def test_eager_gradients_of_the_ops_used_only_for_an_unknown_rank(rng):
    # What a trace of unknown rank records, run eagerly: reversal by axes as given,
    # a swap with the last axis, an einsum whose '...' the kernel resolves.
    from tapeflow.framework.op import execute
    from tapeflow.ops import einsum_ops, indexing_ops, sort_ops
    x = rng.normal(size=(2, 3, 4))
    check_gradients(lambda a: execute(indexing_ops._REVERSE, (a,), {"axis": (-1, 0)}), [x])
    check_gradients(lambda a: execute(sort_ops._SWAP_LAST, (a,), {"axis": 0}), [x])
    assert execute(sort_ops._SWAP_LAST, (tf.constant(x),), {"axis": 0}).shape == (4, 3, 2)
    y = rng.normal(size=(4, 5))
    check_gradients(lambda a, b: execute(einsum_ops._EINSUM, (a, b),
                                         {"equation": "...ij,jk->...ik"}), [x, y])
    check_gradients(lambda a: execute(einsum_ops._EINSUM, (a,), {"equation": "i...->..."}), [x])
