"""The eager fused convolution Keras's Conv2D runs (`conv_ops.fused_conv2d`, TF's
`_FusedConv2D`) and its filter+bias gradient op: values and gradients equal the
separate ops', numerically checked (first and second order), against TensorFlow, and
the layer falls back to the separate ops wherever fusing is off."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import onednn
from tapeflow.ops import conv_ops
from tapeflow.testing import check_gradients, tf_parity

CASES = [  # (input shape, filter shape, strides, padding, dilations, activation)
    ((2, 5, 5, 2), (3, 3, 2, 3), (1, 1), "VALID", (1, 1), "Relu"),
    ((1, 6, 5, 1), (2, 3, 1, 2), (2, 1), "SAME", (1, 1), ""),
    ((1, 6, 6, 2), (2, 2, 2, 2), (1, 1), "SAME", (2, 2), "Relu"),
]


def _fused(strides, padding, dil, act):
    return lambda x, w, b: conv_ops.fused_conv2d(x, w, b, strides, padding, dil, act)


def _separate(m, strides, padding, dil, act):
    def f(x, w, b):
        y = m.nn.conv2d(x, w, strides, padding, dilations=dil) + b
        return m.nn.relu(y) if act else y
    return f


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fused_conv_gradients(case, rng):
    xs, ws, strides, padding, dil, act = case
    x, w = rng.normal(size=xs), rng.normal(size=ws)
    b = rng.normal(size=ws[3])
    check_gradients(_fused(strides, padding, dil, act), [x, w, b])


def test_filter_and_bias_gradient_op_gradients(rng):
    # The two-output backprop, differentiated itself (a conv layer's second order).
    from tapeflow.framework.op import as_input, execute
    attrs = {"strides": (1, 1), "padding": "VALID", "dilations": (1, 1)}
    w = tf.constant(np.zeros((3, 3, 2, 3)))

    def squares(x, dy):
        dw, db = execute(conv_ops._CONV_BP_FILTER_BIAS, (as_input(x), w, as_input(dy)), attrs)
        return dw * dw, db * db
    check_gradients(squares, [rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(2, 3, 3, 3))])


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fused_conv_equals_the_separate_ops_float32(case, rng):
    xs, ws, strides, padding, dil, act = case
    args = [rng.normal(size=s).astype(np.float32) for s in (xs, ws, ws[3:])]
    tensors = [tf.Variable(a) for a in args]
    outs = []
    for f in (_fused(strides, padding, dil, act), _separate(tf, strides, padding, dil, act)):
        with tf.GradientTape() as tape:
            y = f(*tensors)
            loss = tf.reduce_sum(y * y)
        outs.append([y] + tape.gradient(loss, tensors))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("case", CASES[:2], ids=str)
def test_fused_conv_matches_tensorflow(case, real_tf, rng):
    xs, ws, strides, padding, dil, act = case
    args = [rng.normal(size=s).astype(np.float32) for s in (xs, ws, ws[3:])]
    fused = _fused(strides, padding, dil, act)
    tf_parity.check(lambda m, x, w, b: fused(x, w, b) if m is tf
                    else _separate(m, strides, padding, dil, act)(x, w, b), args, real_tf=real_tf)


def test_a_nan_stays_nan_through_the_fused_relu():
    # oneDNN's ReLU post-op turns NaN into 0; the fused op applies its ReLU in NumPy.
    x = np.ones((1, 4, 4, 1), np.float32)
    x[0, 1, 1, 0] = np.nan
    y = conv_ops.fused_conv2d(x, np.ones((3, 3, 1, 2), np.float32), np.zeros(2, np.float32),
                              (1, 1), "VALID", (1, 1), "Relu")
    assert np.isnan(y.numpy()).all()


def _layer_ops(layer, x):
    with tf.GradientTape(persistent=True) as tape:
        layer(x)
    return [entry[0].name for entry in tape._entries]


def test_keras_conv2d_runs_one_op_eagerly_and_separate_ops_otherwise(monkeypatch):
    layer = tf.keras.layers.Conv2D(4, 3, activation="relu")
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype(np.float32))
    fused = layer(x).numpy()
    assert _layer_ops(layer, x) == ["_FusedConv2D"]
    assert _layer_ops(tf.keras.layers.Conv2D(4, 3, activation="tanh"), x)[0] == "Conv2D"
    assert _layer_ops(tf.keras.layers.Conv2D(4, 3, use_bias=False), x) == ["Conv2D"]
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")
    assert _layer_ops(layer, x) == ["Conv2D", "AddV2", "Relu"]
    np.testing.assert_allclose(layer(x).numpy(), fused, rtol=1e-6, atol=1e-6)
    monkeypatch.delenv("TAPEFLOW_FUSE")
    traced = tf.function(layer)(x)       # a traced call builds the separate ops (plans fuse)
    np.testing.assert_allclose(traced.numpy(), fused, rtol=1e-5, atol=1e-5)


def test_numerics_checks_see_the_separate_ops():
    tf.debugging.enable_check_numerics()
    try:
        layer = tf.keras.layers.Conv2D(2, 3, activation="relu")
        assert not conv_ops.fusing_eagerly()
        x = np.ones((1, 5, 5, 1), np.float32)
        x[0, 2, 2, 0] = np.inf
        with pytest.raises(tf.errors.InvalidArgumentError, match="Conv2D"):
            layer(x)
    finally:
        tf.debugging.disable_check_numerics()
    assert conv_ops.fusing_eagerly()


@pytest.mark.skipif(not onednn.available(), reason="oneDNN not installed")
def test_fused_conv_on_onednn_equals_numpy(rng, monkeypatch):
    x, w = rng.normal(size=(4, 9, 9, 3)).astype(np.float32), rng.normal(size=(3, 3, 3, 8))
    w, b = w.astype(np.float32), rng.normal(size=8).astype(np.float32)
    run = _fused((1, 1), "VALID", (1, 1), "Relu")
    on = run(x, w, b).numpy()
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    np.testing.assert_allclose(on, run(x, w, b).numpy(), rtol=1e-5, atol=1e-5)


def test_jacobians_and_second_order_through_the_layer_equal_the_separate_ops(monkeypatch):
    layer = tf.keras.layers.Conv2D(3, 3, activation="relu")
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 5, 2)).astype(np.float32))
    layer(x)

    def derivatives():
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = layer(x)
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                loss = tf.reduce_sum(layer(x) ** 2)
            g = inner.gradient(loss, layer.kernel)
            g_norm = tf.reduce_sum(g * g)
        return [tape.jacobian(y, layer.kernel), tape.batch_jacobian(y, x),
                outer.gradient(g_norm, x)]
    fused = derivatives()
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")
    for a, b in zip(fused, derivatives()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
