"""tf.cond and tf.while_loop, eager and traced, with gradients."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients


def _piecewise(x):
    return tf.cond(tf.reduce_sum(x) > 0, lambda: tf.sin(x) * x, lambda: tf.exp(x) - x * x)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_eager_and_traced_agree(sign):
    x = tf.constant([0.3, 0.7]) * sign
    np.testing.assert_allclose(tf.function(_piecewise)(x).numpy(), _piecewise(x).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_gradients_eager(rng, sign):
    x = np.abs(rng.normal(size=(3,))) * sign
    check_gradients(_piecewise, [x], order=2)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_gradients_traced(rng, sign):
    x = np.abs(rng.normal(size=(3,))) * sign
    check_gradients(tf.function(_piecewise), [x], order=2)


def test_cond_gradient_with_tape_inside_function():
    w = tf.Variable([1.0, 2.0])

    @tf.function
    def grads(x):
        with tf.GradientTape() as tape:
            y = tf.cond(x > 0, lambda: tf.reduce_sum(w * w) * x, lambda: tf.reduce_sum(w))
        return tape.gradient(y, w)

    np.testing.assert_allclose(grads(tf.constant(3.0)).numpy(), [6.0, 12.0])
    np.testing.assert_allclose(grads(tf.constant(-3.0)).numpy(), [1.0, 1.0])


def test_cond_runs_only_the_taken_branch_side_effects():
    v = tf.Variable(0.0)

    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: v.assign_add(1.0).read_value(),
                       lambda: v.assign_sub(1.0).read_value())

    f(tf.constant(1.0))
    f(tf.constant(1.0))
    f(tf.constant(-1.0))
    assert float(v) == 1.0


def test_cond_prints_only_in_the_taken_branch(capsys):
    @tf.function
    def f(x):
        tf.cond(x > 0, lambda: tf.print("pos"), lambda: tf.print("neg"))
        return x

    f(tf.constant(1.0))
    f(tf.constant(-1.0))
    assert capsys.readouterr().err == "pos\nneg\n"


def test_cond_with_nested_structures_and_python_bool_predicate():
    out = tf.cond(True, lambda: {"a": tf.constant(1), "b": (tf.constant(2.0),)},
                  lambda: {"a": tf.constant(3), "b": (tf.constant(4.0),)})
    assert int(out["a"]) == 1

    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: {"a": x, "b": (x * 2,)}, lambda: {"a": -x, "b": (x,)})

    out = f(tf.constant(2.0))
    assert float(out["a"]) == 2.0 and float(out["b"][0]) == 4.0


def test_cond_branches_must_match():
    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: tf.constant(1.0), lambda: tf.constant(1))

    with pytest.raises(TypeError, match="same number, type, and overall structure.*float32"):
        f(tf.constant(1.0))

    @tf.function
    def g(x):
        return tf.cond(x > 0, lambda: (x, x), lambda: x)

    with pytest.raises(TypeError, match="same number, type, and overall structure"):
        g(tf.constant(1.0))


def test_nested_cond_captures_through_levels():
    @tf.function
    def f(x, y):
        return tf.cond(x > 0, lambda: tf.cond(y > 0, lambda: x + y, lambda: x - y),
                       lambda: x * y)

    assert float(f(tf.constant(2.0), tf.constant(3.0))) == 5.0
    assert float(f(tf.constant(2.0), tf.constant(-3.0))) == 5.0
    assert float(f(tf.constant(-2.0), tf.constant(3.0))) == -6.0


def test_while_loop_eager():
    i, s = tf.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (0, 0))
    assert (int(i), int(s)) == (5, 10)
    (n,) = tf.while_loop(lambda i: i < 10, lambda i: i + 1, [0])
    assert int(n) == 10


def test_while_loop_traced_matches_eager():
    def collatz_steps(n):
        def body(n, steps):
            n = tf.where(n % 2 == 0, n // 2, 3 * n + 1)
            return n, steps + 1
        return tf.while_loop(lambda n, steps: n > 1, body, (n, tf.constant(0)))[1]

    f = tf.function(collatz_steps)
    for start in (6, 7, 27):
        assert int(f(tf.constant(start))) == int(collatz_steps(tf.constant(start)))
    assert f.experimental_get_tracing_count() == 1


def test_while_loop_maximum_iterations():
    @tf.function
    def f(x):
        return tf.while_loop(lambda x: x < 100.0, lambda x: x * 2.0, [x], maximum_iterations=3)

    assert float(f(tf.constant(1.0))[0]) == 8.0
    out = tf.while_loop(lambda x: x < 100.0, lambda x: x * 2.0, [tf.constant(1.0)],
                        maximum_iterations=3)
    assert float(out[0]) == 8.0


def test_while_loop_shape_must_be_invariant():
    @tf.function
    def f(x):
        return tf.while_loop(lambda x: tf.size(x) < 8, lambda x: tf.concat([x, x], 0), [x])

    with pytest.raises(ValueError, match=r"enters the loop with shape \(1,\), but has shape "
                                         r"\(2,\) after one iteration.*shape_invariants"):
        f(tf.constant([1.0]))

    @tf.function
    def g(x):
        return tf.while_loop(lambda x: tf.size(x) < 8, lambda x: tf.concat([x, x], 0), [x],
                             shape_invariants=[tf.TensorShape([None])])

    assert g(tf.constant([1.0]))[0].shape == (8,)


def test_while_loop_gradient_eager(rng):
    def f(x):
        return tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, tf.sin(y) * x),
                             (0, x))[1]

    check_gradients(f, [rng.normal(size=(2,))], order=2)


def test_while_loop_gradient_traced(rng):
    w = tf.Variable(rng.normal(size=(2,)))

    def f(x):
        def body(i, y):
            return i + 1, tf.sin(y) * x + w
        return tf.while_loop(lambda i, y: i < 3, body, (0, x))[1]

    x = rng.normal(size=(2,))
    check_gradients(tf.function(f), [x], order=1)

    @tf.function
    def traced_grads(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(f(x))
        return tape.gradient(y, [x, w])

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.reduce_sum(f(xt))
    expected = tape.gradient(y, [xt, w])
    for got, want in zip(traced_grads(xt), expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10)


def test_while_loop_gradient_with_zero_iterations():
    @tf.function
    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.while_loop(lambda y: y > 10.0, lambda y: y * y, [x])[0]
        return tape.gradient(y, x)

    assert float(f(tf.constant(2.0))) == 1.0


def test_cond_gradient_does_not_repeat_branch_side_effects(capsys):
    v = tf.Variable(0.0)

    @tf.function
    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            def true_fn():
                tf.print("taken")
                v.assign_add(1.0)
                return x * x
            y = tf.cond(x > 0, true_fn, lambda: x)
        return tape.gradient(y, x)

    assert float(f(tf.constant(3.0))) == 6.0
    assert float(v) == 1.0
    assert capsys.readouterr().err == "taken\n"


def test_cond_gradient_through_a_random_draw_is_a_clear_error():
    @tf.function
    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cond(x > 0, lambda: x * tf.random.uniform([]), lambda: x)
        return tape.gradient(y, x)

    with pytest.raises(tf.errors.UnimplementedError, match="RandomUniform"):
        f(tf.constant(1.0))
