"""The second half of the reader's op table (import_ops_more.py), against TF's loaded
functions: linear algebra, TF's gradient ops in a saved gradient computation, strings,
scatters and the shapes of random draws."""
import numpy as np
import pytest

import tapeflow as tf


@pytest.fixture(scope="module")
def both(real_tf, tmp_path_factory):
    t = real_tf
    module = t.Module()
    module.linalg = t.function(lambda a, b: {
        "cholesky": t.linalg.cholesky(a), "det": t.linalg.det(a),
        "slogdet": t.stack(t.linalg.slogdet(a)), "band": t.linalg.band_part(a, 1, 0),
        "diag_part": t.linalg.diag_part(a), "diag": t.linalg.diag(b[:, 0]),
        "set_diag": t.linalg.set_diag(a, b[:, 1]), "inv": t.linalg.inv(a),
        "solve": t.linalg.solve(a, b), "tri": t.linalg.triangular_solve(a, b, lower=True),
        "qr_r": t.abs(t.linalg.qr(a)[1]), "eig": t.linalg.eigh(a)[0],
        "sv": t.linalg.svd(a, compute_uv=False)},
        input_signature=[t.TensorSpec([3, 3]), t.TensorSpec([3, 2])])

    def gradient_ops(x):
        with t.GradientTape() as tape:
            tape.watch(x)
            y = (t.reduce_sum(t.nn.max_pool2d(t.nn.relu(x), 2, 2, "VALID"))
                 + t.reduce_sum(t.nn.avg_pool2d(t.tanh(x), 2, 1, "SAME"))
                 + t.reduce_sum(t.sigmoid(x)) + t.reduce_sum(t.sqrt(t.abs(x) + 1.0))
                 + t.reduce_sum(t.math.rsqrt(t.abs(x) + 1.0)) + t.reduce_sum(t.nn.softplus(x))
                 + t.reduce_sum(x[:, 1:3] ** 2))
        return tape.gradient(y, x)
    module.gradient_ops = t.function(gradient_ops,
                                     input_signature=[t.TensorSpec([1, 4, 4, 2])])
    module.strings = t.function(lambda s, n: {
        "join": t.strings.join([s, s], separator="-"), "length": t.strings.length(s),
        "lower": t.strings.lower(s), "upper": t.strings.upper(s), "strip": t.strings.strip(s),
        "number": t.strings.to_number(t.strings.as_string(n)),
        "match": t.strings.regex_full_match(s, "a.*"),
        "replace": t.strings.regex_replace(s, "b", "B"),
        "reduce": t.strings.reduce_join(s, separator="+"),
        "format": t.strings.format("n = {}", [n])},
        input_signature=[t.TensorSpec([2], t.string), t.TensorSpec([2])])
    module.scatter = t.function(lambda u: {
        "scatter_nd": t.scatter_nd([[1], [3]], u, [5]),
        "update": t.tensor_scatter_nd_update(t.zeros([4]), [[0], [2]], u),
        "add": t.tensor_scatter_nd_add(t.ones([4]), [[0], [0]], u),
        "segments": t.math.unsorted_segment_sum(u, [1, 1], 3),
        "sub": t.tensor_scatter_nd_sub(t.ones([4]), [[1], [3]], u),
        "max": t.tensor_scatter_nd_max(t.ones([4]), [[1], [3]], u),
        "min": t.tensor_scatter_nd_min(t.ones([4]), [[1], [3]], u),
        "roll": t.roll(t.concat([u, u * 2.0], 0), 1, 0),
        "unique": t.unique(t.concat([u, u], 0))[1],
        "in_top_k": t.math.in_top_k([1, 0], t.stack([u, -u]), 1)},
        input_signature=[t.TensorSpec([2])])
    module.random = t.function(lambda: (
        t.random.uniform([2, 3], 1.0, 2.0), t.random.normal([4]),
        t.random.truncated_normal([3, 1]), t.random.uniform([5], 0, 7, dtype=t.int32)),
        input_signature=[])
    module.stateless = t.function(lambda seed: {
        "uniform": t.random.stateless_uniform([2, 3], seed),
        "normal": t.random.stateless_normal([4], seed, dtype=t.float64),
        "truncated": t.random.stateless_truncated_normal([3], seed),
        "ints": t.random.stateless_uniform([5], seed, 0, 9, dtype=t.int32),
        "categorical": t.random.stateless_categorical([[0.1, 1.0, 2.0]], 4, seed)},
        input_signature=[t.TensorSpec([2], t.int32)])
    module.generator = t.random.Generator.from_seed(7)
    module.draw = t.function(lambda: module.generator.normal([3]), input_signature=[])
    path = str(tmp_path_factory.mktemp("sm") / "more_ops")
    t.saved_model.save(module, path)
    return tf.saved_model.load(path), real_tf.saved_model.load(path)


def _compare(got, expected, tol=1e-5):
    assert sorted(got) == sorted(expected)
    for key in got:
        g, e = np.asarray(got[key].numpy()), np.asarray(expected[key].numpy())
        assert got[key].dtype.name == expected[key].dtype.name, key
        if expected[key].dtype.name == "string":
            assert g.tolist() == e.tolist(), key
        else:
            np.testing.assert_allclose(g, e, rtol=tol, atol=tol, err_msg=key)


def test_linear_algebra_ops_match_tensorflow(both):
    mine, theirs = both
    m = np.array([[2.0, 0.5, 0.1], [0.5, 3.0, 0.2], [0.1, 0.2, 1.5]], np.float32)
    b = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]], np.float32)
    _compare(mine.linalg(m, b), theirs.linalg(m, b), tol=1e-4)


def test_tensorflow_gradient_ops_in_a_saved_gradient_match(both):
    mine, theirs = both
    x = np.random.RandomState(7).randn(1, 4, 4, 2).astype(np.float32)
    np.testing.assert_allclose(mine.gradient_ops(x).numpy(), theirs.gradient_ops(x).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_string_ops_match_tensorflow(both):
    mine, theirs = both
    s, n = np.array([b" abc ", b"Bab"], object), np.array([1.5, -2.0], np.float32)
    _compare(mine.strings(s, n), theirs.strings(s, n))


def test_scatter_and_segment_ops_match_tensorflow(both):
    mine, theirs = both
    u = np.array([4.0, -1.5], np.float32)
    _compare(mine.scatter(u), theirs.scatter(u))


def test_random_draws_have_tensorflows_shapes_dtypes_and_ranges(both):
    mine, theirs = both
    got, expected = mine.random(), theirs.random()
    for g, e in zip(got, expected):
        assert (g.shape, g.dtype.name) == (tuple(e.shape), e.dtype.name)
    assert np.all((got[0].numpy() >= 1.0) & (got[0].numpy() < 2.0))
    assert np.all(np.abs(got[2].numpy()) <= 2.0)
    assert np.all((got[3].numpy() >= 0) & (got[3].numpy() < 7))


def test_stateless_draws_are_tensorflows_numbers(both):
    mine, theirs = both
    seed = np.array([1, 2], np.int32)
    _compare(mine.stateless(seed), theirs.stateless(seed), tol=0)


def test_generator_draws_continue_tensorflows_stream(both):
    mine, theirs = both
    for _ in range(2):
        np.testing.assert_array_equal(mine.draw().numpy(), theirs.draw().numpy())
    np.testing.assert_array_equal(mine.generator._state_var.numpy(),
                                  theirs.generator._state_var.numpy())


def test_split_pad_one_hot_einsum_and_friends_match_tensorflow(real_tf, tmp_path):
    t = real_tf
    module = t.Module()
    module.f = t.function(lambda x, ids: {
        "split": t.split(x, 2, axis=1)[1], "split_v": t.split(x, [1, 3], axis=1)[1],
        "one_hot": t.one_hot(ids, 4, on_value=2.0, off_value=-1.0),
        "einsum": t.einsum("ij,kj->ik", x, x), "cumsum": t.math.cumsum(x, axis=1, reverse=True),
        "pad": t.pad(x, [[1, 0], [0, 2]], constant_values=3.0),
        "reflect": t.pad(x, [[1, 1], [2, 0]], mode="REFLECT"),
        "broadcast": t.broadcast_to(x[:1], [3, 4]), "rank": t.rank(x), "size": t.size(x),
        "leaky": t.nn.leaky_relu(x, 0.3), "clip": t.clip_by_value(x, -0.5, 0.5),
        "ensure": t.ensure_shape(x, [2, 4]), "checked": t.debugging.check_numerics(x, "x"),
        "stop": t.stop_gradient(x) + x},
        input_signature=[t.TensorSpec([2, 4]), t.TensorSpec([3], t.int32)])
    path = str(tmp_path / "friends")
    t.saved_model.save(module, path)
    mine, theirs = tf.saved_model.load(path), t.saved_model.load(path)
    x = np.array([[0.3, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, -2.0]], np.float32)
    ids = np.array([0, 3, 1], np.int32)
    got, expected = mine.f(x, ids), theirs.f(x, ids)
    assert sorted(got) == sorted(expected)
    for key in got:
        assert got[key].dtype.name == expected[key].dtype.name, key
        np.testing.assert_allclose(got[key].numpy(), expected[key].numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=key)


def test_print_and_assert_behave_as_in_tensorflow(real_tf, tmp_path):
    t = real_tf
    target = tmp_path / "printed.txt"

    def show(x):
        t.debugging.Assert(t.reduce_all(x < 10.0), [x])
        t.print("x is", x, {"double": x * 2}, output_stream=f"file://{target}")
        return x + 1.0
    module = t.Module()
    module.show = t.function(show, input_signature=[t.TensorSpec([3])])
    path = str(tmp_path / "printer")
    t.saved_model.save(module, path)
    x = np.array([1.0, 2.0, 3.0], np.float32)
    theirs = t.saved_model.load(path)
    theirs.show(x)
    by_tensorflow = target.read_text()
    target.unlink()
    mine = tf.saved_model.load(path)
    np.testing.assert_array_equal(mine.show(x).numpy(), x + 1.0)
    assert target.read_text() == by_tensorflow
    bad = np.array([1.0, 20.0, 3.0], np.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="assertion failed"):
        mine.show(bad)
    with pytest.raises(tf.errors.InvalidArgumentError):      # decided when the trace runs
        tf.function(mine.show)(bad)


# -- seeded stateful random nodes: each node's stream keyed by its (seed, seed2) --------------

def _seeded_module(t, everything=True):
    """A module with seeded draws (global seed 3, some op seeds); `everything=False` leaves
    out what tapeflow's writer does not write (shuffle, categorical, nested functions)."""
    module = t.Module()
    inner = t.function(lambda: t.random.uniform([2], seed=11), input_signature=[])
    module.draw = t.function(lambda: {
        "normal": t.random.normal([2, 3], seed=5),
        "uniform": t.random.uniform([4], 1.0, 2.0),
        "ints": t.random.uniform([5], 0, 9, dtype=t.int32, seed=7),
        "truncated": t.random.truncated_normal([3], seed=9, dtype=t.float64),
        **({"shuffled": t.random.shuffle(t.range(6), seed=2),
            "categorical": t.random.categorical(t.math.log([[0.2, 0.3, 0.5]]), 6, seed=4),
            "inner_a": inner(), "inner_b": inner()} if everything else {})},
        input_signature=[])
    return module


@pytest.fixture
def seeded(real_tf, tmp_path):
    """(tapeflow's, TensorFlow's) loads of a SavedModel TensorFlow wrote with seeded draws."""
    real_tf.random.set_seed(3)
    try:
        path = str(tmp_path / "seeded")
        real_tf.saved_model.save(_seeded_module(real_tf), path)
    finally:
        real_tf.random.set_seed(None)
    return tf.saved_model.load(path), real_tf.saved_model.load(path)


def _assert_same_draws(got, expected):
    assert sorted(got) == sorted(expected)
    for key in got:
        assert got[key].dtype.name == expected[key].dtype.name, key
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)


def test_seeded_random_nodes_draw_tensorflows_numbers_call_after_call(seeded):
    mine, theirs = seeded
    for _ in range(3):                  # each node's stream continues, as TF's kernel's
        _assert_same_draws(mine.draw(), theirs.draw())


def test_a_nested_function_called_twice_has_a_stream_per_call(seeded):
    mine, _ = seeded
    first = mine.draw()                 # TF inlines the calls: two kernels, same seeds
    np.testing.assert_array_equal(first["inner_a"].numpy(), first["inner_b"].numpy())
    second = mine.draw()
    assert not np.array_equal(first["inner_a"].numpy(), second["inner_a"].numpy())


def test_a_loaded_function_traced_into_another_has_streams_of_its_own(real_tf, seeded):
    mine, theirs = seeded
    mine.draw(), theirs.draw()
    mine_outer, theirs_outer = tf.function(mine.draw), real_tf.function(theirs.draw)
    for _ in range(2):
        _assert_same_draws(mine_outer(), theirs_outer())
    _assert_same_draws(mine.draw(), theirs.draw())      # the eager streams went on alone


def test_set_seed_restarts_a_loaded_functions_streams_as_in_tensorflow(real_tf, seeded):
    mine, theirs = seeded
    mine.draw(), theirs.draw()
    tf.random.set_seed(123)
    real_tf.random.set_seed(123)
    try:
        _assert_same_draws(mine.draw(), theirs.draw())
        _assert_same_draws(mine.draw(), theirs.draw())
    finally:
        real_tf.random.set_seed(None)
        tf.random.set_seed(None)


def test_unseeded_random_nodes_draw_fresh_numbers(real_tf, tmp_path):
    real_tf.random.set_seed(None)
    module = real_tf.Module()
    module.draw = real_tf.function(lambda: real_tf.random.normal([8]), input_signature=[])
    path = str(tmp_path / "unseeded")
    real_tf.saved_model.save(module, path)
    first, second = tf.saved_model.load(path), tf.saved_model.load(path)
    a, b = first.draw().numpy(), second.draw().numpy()
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, first.draw().numpy())


def test_tapeflow_written_seeded_draws_load_with_tapeflows_numbers(tmp_path):
    tf.random.set_seed(3)
    try:
        module = _seeded_module(tf, everything=False)
        expected = [module.draw(), module.draw()]     # the traced streams' first two runs
        tf.saved_model.save(module, str(tmp_path / "tapeflow_seeded"))
        loaded = tf.saved_model.load(str(tmp_path / "tapeflow_seeded"))
        for want in expected:
            _assert_same_draws(loaded.draw(), want)
    finally:
        tf.random.set_seed(None)


def test_seeded_draws_in_cond_branches_are_tensorflows(real_tf, tmp_path):
    t = real_tf
    t.random.set_seed(4)
    try:
        module = t.Module()
        module.draw = t.function(lambda x: t.cond(
            x > 0, lambda: t.random.uniform([3], seed=1), lambda: t.random.normal([3], seed=1)),
            input_signature=[t.TensorSpec([])])
        path = str(tmp_path / "branches")
        t.saved_model.save(module, path)
    finally:
        t.random.set_seed(None)
    mine, theirs = tf.saved_model.load(path), t.saved_model.load(path)
    for x in (1.0, -1.0, 1.0, -1.0):
        np.testing.assert_array_equal(mine.draw(x).numpy(), theirs.draw(x).numpy())
