"""tf.autodiff.ForwardAccumulator: JVPs against TensorFlow and known derivatives."""
import numpy as np
import pytest

import tapeflow as tf


def _np(x):
    return None if x is None else np.asarray(x)


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
        else:
            assert a is not None and a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_namespace():
    assert tf.autodiff.GradientTape is tf.GradientTape
    assert isinstance(tf.autodiff.ForwardAccumulator, type)
    assert [n for n in dir(tf.autodiff) if not n.startswith("_")] == [
        "ForwardAccumulator", "GradientTape"]


def test_jvp_matches_known_derivative():
    x = tf.constant([0.5, 1.5, -2.0])
    v = tf.constant([1.0, -2.0, 0.5])
    with tf.autodiff.ForwardAccumulator(x, v) as acc:
        y = tf.sin(x) * x
        s = tf.reduce_sum(y ** 2)
    xn, vn = x.numpy(), v.numpy()
    dy = (np.cos(xn) * xn + np.sin(xn)) * vn
    np.testing.assert_allclose(acc.jvp(y).numpy(), dy, rtol=1e-6)
    yn = np.sin(xn) * xn
    np.testing.assert_allclose(acc.jvp(s).numpy(), np.sum(2 * yn * dy), rtol=1e-5)


def test_matmul_jvp_and_f64():
    a = np.array([[1.0, 2.0], [3.0, -1.0]])
    w = tf.constant(a)
    dw = np.array([[0.5, 0.0], [1.0, 2.0]])
    x = tf.constant([[1.0], [2.0]], tf.float64)
    with tf.autodiff.ForwardAccumulator(w, tf.constant(dw)) as acc:
        y = tf.matmul(w, x)
    j = acc.jvp(y)
    assert j.dtype == tf.float64
    np.testing.assert_allclose(j.numpy(), dw @ x.numpy())


@pytest.mark.parametrize("case", ["outside", "int_outputs", "after_exit", "before_enter",
                                  "variable", "structure", "jvp_inside", "stop_gradient"])
def test_matches_tensorflow(real_tf, case):
    def outside(m):
        x = m.constant([1.0, 2.0])
        y0 = x * 2
        with m.autodiff.ForwardAccumulator(x, m.constant([1.0, 0.0])) as acc:
            y = x * 3
            z = y0 + 1
        return [acc.jvp(y), acc.jvp(z), acc.jvp(z, unconnected_gradients="zero"),
                acc.jvp(y0), acc.jvp(x), acc.jvp(y, m.UnconnectedGradients.ZERO)]

    def int_outputs(m):
        x = m.constant([1.0, 2.0])
        with m.autodiff.ForwardAccumulator(x, m.constant([1.0, 0.0])) as acc:
            i = m.cast(x * 3, m.int32)
            s = m.shape(x)
        i2 = m.constant([1, 2])
        with m.autodiff.ForwardAccumulator(i2, m.constant([1, 1])) as acc2:
            z = m.cast(i2, m.float32) * 2
        return [acc.jvp(i), acc.jvp(s), acc.jvp(i, unconnected_gradients="zero"),
                acc.jvp(s, unconnected_gradients="zero"), acc2.jvp(z), acc2.jvp(i2)]

    def after_exit(m):
        x = m.constant([1.0, 2.0])
        with m.autodiff.ForwardAccumulator(x, m.constant([1.0, 0.0])) as acc:
            pass
        return [acc.jvp(x * 3), acc.jvp(x)]

    def before_enter(m):
        x = m.constant([1.0, 2.0])
        acc = m.autodiff.ForwardAccumulator(x, m.constant([1.0, 0.0]))
        first = acc.jvp(x)
        y = x * 3
        with acc:
            z = x * 3
        with acc:               # entered again: records again
            w = x * 4
        return [first, acc.jvp(y), acc.jvp(z), acc.jvp(w)]

    def variable(m):
        v = m.Variable([1.0, 2.0])
        u = m.Variable(2.0)
        with m.autodiff.ForwardAccumulator(v, m.constant([1.0, 3.0])) as acc:
            y = v * v
            r = v.read_value()
            q = u * 3.0
        return [acc.jvp(y), acc.jvp(v), acc.jvp(r), acc.jvp(q), acc.jvp(u)]

    def structure(m):
        a, b = m.constant(2.0), m.constant([1.0, 2.0])
        with m.autodiff.ForwardAccumulator(
                {"a": a, "b": [b]}, {"a": m.constant(1.0), "b": [m.constant([0.0, 1.0])]}) as acc:
            y = a * b
        out = acc.jvp({"y": y, "l": [y, a]})
        return [out["y"], out["l"][0], out["l"][1]]

    def jvp_inside(m):
        x = m.constant([1.0, 2.0])
        with m.autodiff.ForwardAccumulator(x, m.constant([1.0, 0.0])) as acc:
            y = x * 3
            j = acc.jvp(y)
            k = j * 2 + y
        return [j, acc.jvp(j), acc.jvp(k)]

    def stop_gradient(m):
        x = m.constant([1.0, 2.0])
        with m.autodiff.ForwardAccumulator(x, m.constant([1.0, 1.0])) as acc:
            y = m.stop_gradient(x) * 2
            z = m.stop_gradient(x) * x
        return [acc.jvp(y), acc.jvp(z)]

    fn = locals()[case]
    _assert_same([_np(o) for o in fn(tf)], [_np(o) for o in fn(real_tf)])


def test_hessian_vector_product_forward_over_backward_from_tf_docs():
    # TF's ForwardAccumulator docstring: the tape runs inside the accumulator.
    v = tf.Variable([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(v, tf.constant([1.0, 0.0])) as acc:
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(v ** 3.0)
        backward = tape.gradient(y, v)
    np.testing.assert_allclose(backward.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(acc.jvp(backward).numpy(), [6.0, 0.0])


def test_hessian_vector_product_backward_over_forward():
    x = tf.constant([1.0, 2.0, -1.0])
    v = tf.constant([1.0, 0.5, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        with tf.autodiff.ForwardAccumulator(x, v) as acc:
            y = tf.reduce_sum(x ** 3) + x[0] * x[1]
        inside = acc.jvp(y)
    outside = acc.jvp(y)       # called after the tape exited: TF's tape still sees it
    # H = diag(6x) + [[0,1,0],[1,0,0],[0,0,0]]
    h = np.diag(6 * x.numpy()) + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    for j in (inside, outside):
        np.testing.assert_allclose(tape.gradient(j, x).numpy(), h @ v.numpy(), rtol=1e-6)
    assert tape.watched_variables() == ()


def test_nested_accumulators_from_tf_docs(real_tf):
    def run(m):
        primal = m.constant(1.1)
        with m.autodiff.ForwardAccumulator(primal, m.constant(1.0)) as outer:
            with m.autodiff.ForwardAccumulator(primal, m.constant(1.0)) as inner:
                primal_out = primal ** m.constant(3.5)
            in_outer = inner.jvp(primal_out) * 2
        inner_jvp = inner.jvp(primal_out)
        return [inner_jvp, outer.jvp(inner_jvp), outer.jvp(in_outer)]
    ours = [_np(o) for o in run(tf)]
    np.testing.assert_allclose(ours[0], 3.5 * 1.1 ** 2.5, rtol=1e-6)
    np.testing.assert_allclose(ours[1], 3.5 * 2.5 * 1.1 ** 1.5, rtol=1e-6)
    _assert_same(ours, [_np(o) for o in run(real_tf)])


def test_an_accumulator_does_not_see_the_jvps_of_one_entered_before_it(real_tf):
    def run(m):
        p = m.constant(1.1)
        a = m.autodiff.ForwardAccumulator(p, m.constant(1.0))
        b = m.autodiff.ForwardAccumulator(p, m.constant(1.0))
        with a:
            with b:
                y = p ** 3.0
        return [a.jvp(b.jvp(y)), b.jvp(a.jvp(y))]
    ours = [_np(o) for o in run(tf)]
    np.testing.assert_allclose(ours[0], 6 * 1.1, rtol=1e-6)
    _assert_same(ours, [_np(o) for o in run(real_tf)])


def test_keras_dense_jvp():
    x = tf.constant([[2.0, 3.0], [1.0, 4.0]])
    targets = tf.constant([[1.0], [-1.0]])
    dense = tf.keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")
    dense.build([None, 2])
    with tf.autodiff.ForwardAccumulator(primals=dense.kernel,
                                        tangents=tf.constant([[1.0], [0.0]])) as acc:
        out = dense(x)
        loss = tf.reduce_sum((out - targets) ** 2.0)
    # out = x @ 1 = [5, 5]; d out = x[:, :1]; d loss = sum 2 (out - t) d out
    np.testing.assert_allclose(acc.jvp(out).numpy(), [[2.0], [1.0]])
    np.testing.assert_allclose(acc.jvp(loss).numpy(), 2 * 4 * 2 + 2 * 6 * 1)
    assert dense.kernel.trainable and acc.jvp(dense.bias) is None


def test_inside_tf_function():
    @tf.function
    def f(x):
        with tf.autodiff.ForwardAccumulator(x, tf.ones_like(x)) as acc:
            y = tf.sin(x)
        return acc.jvp(y)
    np.testing.assert_allclose(f(tf.constant([1.0, 2.0])).numpy(), np.cos([1.0, 2.0]),
                               rtol=1e-6)


@pytest.mark.parametrize("primals, tangents, error", [
    (lambda m: m.constant([1.0, 2.0]), lambda m: m.constant([1.0, 2.0], m.float64), ValueError),
    (lambda m: m.constant([1.0, 2.0]), lambda m: m.constant([1, 2]), ValueError),
    (lambda m: m.constant([1.0, 2.0]), lambda m: [1.0, 1.0], ValueError),
])
def test_bad_tangents_match_tensorflow(real_tf, primals, tangents, error):
    for m in (tf, real_tf):
        with pytest.raises(error):
            m.autodiff.ForwardAccumulator(primals(m), tangents(m))


def test_errors():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="shape"):
        tf.autodiff.ForwardAccumulator(x, tf.constant(1.0))
    with pytest.raises(ValueError, match="multiple times"):
        tf.autodiff.ForwardAccumulator([x, x], [x, x])
    with pytest.raises(TypeError, match="primals must be tensors"):
        tf.autodiff.ForwardAccumulator(1.0, 1.0)
    acc = tf.autodiff.ForwardAccumulator(x, x)
    with acc:
        with pytest.raises(ValueError, match="already recording"):
            acc.__enter__()
        y = x * 2
    with pytest.raises(ValueError, match="not a valid UnconnectedGradients"):
        acc.jvp(y, unconnected_gradients="bad")
    with pytest.raises(TypeError, match="expects a tensor"):
        acc.jvp(3.0)
    np.testing.assert_allclose(acc.jvp(y).numpy(), [2.0, 4.0])
