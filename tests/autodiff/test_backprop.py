"""tapeflow/autodiff/backprop.py: jacobians, batch jacobians and the reverse walk."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import tf_parity


def test_jacobians_of_any_rank_match_tensorflow(real_tf, rng):
    x = rng.normal(size=(2, 3)).astype(np.float32)
    w = rng.normal(size=(3, 4)).astype(np.float32)

    def expr(m, x, w):
        with m.GradientTape(persistent=True) as tape:
            tape.watch([x, w])
            y = m.tanh(m.matmul(x, w))
            s = m.reduce_sum(y * y)
            z = m.reshape(y, [2, 2, 2]) * m.sin(x[:, :1, None])
        # pfor=False: TensorFlow's vectorised jacobian spends seconds tracing.
        kw = {"experimental_use_pfor": False}
        return (tape.jacobian(y, x, **kw), tape.jacobian(y, [w, x], **kw),
                tape.jacobian(s, x, **kw), tape.jacobian(z, w, **kw),
                tape.jacobian(x * 2.0, x, **kw))
    tf_parity.check(expr, [x, w], grads=False, real_tf=real_tf)


def test_batch_jacobian_matches_tensorflow(real_tf, rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    w = rng.normal(size=(3, 2)).astype(np.float32)

    def expr(m, x, w):
        with m.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = m.nn.softmax(m.matmul(x, w))                        # [4, 2]
            y3 = m.reshape(m.concat([y, y * y], 1), [4, 2, 2])      # [4, 2, 2]
        kw = {"experimental_use_pfor": False}
        return tape.batch_jacobian(y, x, **kw), tape.batch_jacobian(y3, x, **kw)
    tf_parity.check(expr, [x, w], grads=False, real_tf=real_tf)


def test_jacobian_unconnected_and_non_persistent():
    x, u = tf.constant([1.0, 2.0]), tf.constant([3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = x * x
    assert tape.jacobian(y, u) is None
    z = tape.jacobian(y, u, unconnected_gradients="zero")
    assert z.shape == (2, 1) and not np.any(z.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * 3.0
    np.testing.assert_array_equal(tape.jacobian(y, x).numpy(), 3 * np.eye(2))
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.jacobian(y, x)


def test_jacobian_of_a_variable_and_second_order_through_jacobian():
    v = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = v ** 3
        j = inner.jacobian(y, v)        # diag(3 v^2)
        s = tf.reduce_sum(j)
    np.testing.assert_allclose(j.numpy(), np.diag([3., 12., 27.]))
    np.testing.assert_allclose(outer.gradient(s, v).numpy(), [6., 12., 18.])


def test_batch_jacobian_needs_a_batch_dimension():
    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[batch, \.\.\.\]"):
        tape.batch_jacobian(y, x)
    v = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(v)
        w = tf.reshape(v, (2, 1)) * v
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"source.*rank >= 2.*\(2,\)"):
        tape.batch_jacobian(w, v)


def test_shared_subexpressions_accumulate_once():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        a = tf.sin(x)
        y = a * a + a          # a used three times
    np.testing.assert_allclose(tape.gradient(y, x).numpy(),
                               (2 * np.sin([1., 2.]) + 1) * np.cos([1., 2.]), rtol=1e-6)


def test_missing_gradient_rule_names_the_op():
    from tapeflow.framework.op import OpDef, execute
    op = OpDef("MyOp", lambda x: x * 2, register=False)
    x = tf.constant([1.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = execute(op, (x,))
    with pytest.raises(LookupError, match="No gradient defined for operation 'MyOp'.*float32"):
        tape.gradient(y, x)


def test_gradient_dtype_matches_source_and_broadcasting_is_undone():
    x = tf.constant(np.ones((3, 1), np.float64))
    b = tf.Variable(np.zeros((4,), np.float16))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * tf.ones((2, 3, 4), tf.float64)
        z = tf.cast(y, tf.float16) + b
    gx, gb = tape.gradient(z, [x, b])
    assert gx.dtype == tf.float64 and gx.shape == (3, 1)
    np.testing.assert_array_equal(gx.numpy(), np.full((3, 1), 8.0))
    assert gb.dtype == tf.float16 and gb.shape == (4,)
    np.testing.assert_array_equal(gb.numpy(), np.full(4, 6.0))


def test_rules_skip_gradients_nobody_asked_for(monkeypatch):
    from tapeflow.ops import math_ops
    calls = []
    kernel = math_ops._MATMUL.kernel
    monkeypatch.setattr(math_ops._MATMUL, "kernel",
                        lambda *a, **k: calls.append(1) or kernel(*a, **k))
    x = tf.ones((4, 3))                   # data: not watched
    w = tf.Variable(tf.ones((3, 2)))
    with tf.GradientTape() as tape:
        y = tf.matmul(x, w)
    calls.clear()
    g = tape.gradient(y, w)
    assert len(calls) == 1                # only x^T dy; never dy w^T for the data
    np.testing.assert_array_equal(g.numpy(), np.full((3, 2), 4.0))


SECOND_ORDER = {
    "tanh": lambda m, x: m.tanh(x) * x,
    "sigmoid": lambda m, x: m.sigmoid(x * x),
    "softplus": lambda m, x: m.nn.softplus(x) * m.sin(x),
    "sqrt_rsqrt": lambda m, x: m.sqrt(x * x + 1.0) + m.math.rsqrt(x * x + 2.0),
    # Fixed labels: TF's fused op does not differentiate its labels' gradient again
    # (tapeflow composes the loss from ops and does; check_gradients confirms it).
    "softmax_xent": lambda m, x: m.nn.softmax_cross_entropy_with_logits(
        m.constant([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]), x * x),
    "sparse_xent": lambda m, x: m.nn.sparse_softmax_cross_entropy_with_logits(
        m.constant([2, 0]), m.sin(x)),
    "logsumexp": lambda m, x: m.reduce_logsumexp(x * x, axis=1),
    "matmul": lambda m, x: m.matmul(x, m.transpose(x)) ** 2,
    "elu_selu": lambda m, x: m.nn.elu(x) * m.nn.selu(x),
    "softmax": lambda m, x: m.nn.softmax(x * 2.0, axis=0) * m.nn.softmax(x) * x,
    "mean_sum": lambda m, x: m.reduce_mean(x * x, axis=1, keepdims=True) * m.reduce_sum(x),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_first_and_second_derivatives_match_tensorflow(name, real_tf, rng):
    x = (rng.uniform(0.3, 1.5, (2, 3)) * rng.choice([-1, 1], (2, 3))).astype(np.float32)
    f = SECOND_ORDER[name]

    def first_derivative(m, x):
        with m.GradientTape() as t:
            t.watch(x)
            y = f(m, x)
        return t.gradient(y, x)
    # The value compared is the first derivative; the gradient compared, the second.
    tf_parity.check(first_derivative, [x], real_tf=real_tf, rtol=2e-4, atol=2e-5)


def _jacobians_of_elementwise_and_matmul_graph(x, w, b, v):
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, w, b])
        h = tf.tanh(tf.matmul(x, w) + b)                   # b broadcasts over rows
        y = tf.sigmoid(h) * tf.maximum(h, 0.1) / (2.0 + tf.exp(v)) + v * 3.0
        z = tf.where(y > 0.3, tf.sin(y), y * y) ** 2.0 + tf.nn.log_softmax(tf.nn.softmax(y))
        z = tf.transpose(tf.reshape(z, [2, 3]))[1:, ::-1] * tf.reduce_mean(x, axis=0)[:2]
        z = tf.expand_dims(z, 0) + tf.reduce_sum(tf.squeeze(tf.expand_dims(x, 1), 1) * 2.0)
    return (tape.jacobian(z, [x, w, b, v]), tape.jacobian(h, b),
            tape.jacobian(z, v, unconnected_gradients="zero"))


def test_batched_jacobian_equals_row_by_row(rng, monkeypatch):
    from tapeflow.autodiff import backprop
    x = tf.constant(rng.normal(size=(3, 4)))
    w = tf.Variable(rng.normal(size=(4, 2)))
    b = tf.constant(rng.normal(size=(2,)))
    v = tf.Variable(rng.normal(size=(3, 1)))
    calls = []
    real = backprop.backward
    monkeypatch.setattr(backprop, "backward", lambda *a, **k: calls.append(k) or real(*a, **k))
    fast = _jacobians_of_elementwise_and_matmul_graph(x, w, b, v)
    assert calls and all(k.get("batch") for k in calls)       # took the batched walk
    monkeypatch.setattr(backprop, "_batchable", lambda entry: False)
    calls.clear()
    slow = _jacobians_of_elementwise_and_matmul_graph(x, w, b, v)
    assert calls and not any(k.get("batch") for k in calls)   # and this time row by row
    for f, s in zip(tf.nest.flatten(fast), tf.nest.flatten(slow)):
        assert f.shape == s.shape
        np.testing.assert_allclose(f.numpy(), s.numpy(), rtol=1e-10, atol=1e-12)


def test_batched_batch_jacobian_equals_column_by_column(rng, monkeypatch):
    from tapeflow.autodiff import backprop
    x = tf.constant(rng.normal(size=(4, 3)))
    w = tf.constant(rng.normal(size=(3, 2)))

    def batch_jacobians():
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = tf.tanh(tf.matmul(x, w)) * 2.0
            z = y * y + 1.0
        return tape.batch_jacobian(y, x), tape.batch_jacobian(z, x)
    calls = []
    real = backprop.backward
    monkeypatch.setattr(backprop, "backward", lambda *a, **k: calls.append(k) or real(*a, **k))
    fast = batch_jacobians()
    assert len(calls) == 2 and all(k.get("batch") == 2 for k in calls)   # one walk each
    monkeypatch.setattr(backprop, "_batchable", lambda entry: False)
    slow = batch_jacobians()
    for f, s in zip(fast, slow):
        assert f.shape == (4, 2, 3) == s.shape
        np.testing.assert_allclose(f.numpy(), s.numpy(), rtol=1e-10, atol=1e-12)


def test_hessian_as_jacobian_of_a_gradient_matches_tensorflow(real_tf, rng, monkeypatch):
    from tapeflow.autodiff import backprop
    calls = []
    real = backprop.backward
    monkeypatch.setattr(backprop, "backward", lambda *a, **k: calls.append(k) or real(*a, **k))
    x = rng.normal(size=(4,)).astype(np.float32)
    w = rng.normal(size=(4, 3)).astype(np.float32)

    def hessian(m, x, w):
        with m.GradientTape(persistent=True) as outer:   # TF needs it without pfor
            outer.watch(x)
            with m.GradientTape() as inner:
                inner.watch(x)
                h = m.nn.relu(m.matmul(x[None], w) + 0.1) + m.tanh(m.matmul(x[None], w))
                loss = m.reduce_mean(m.nn.softmax(h) * m.sin(h)) + m.reduce_sum(m.sigmoid(x))
            g = inner.gradient(loss, x)
        return outer.jacobian(g, x, experimental_use_pfor=False)
    tf_parity.check(hessian, [x, w], grads=False, real_tf=real_tf, rtol=1e-4, atol=1e-5)
    assert any(k.get("batch") == 4 for k in calls)    # the Hessian took one batched walk
