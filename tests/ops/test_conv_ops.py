"""tapeflow/ops/conv_ops.py: conv2d and pooling (NHWC) against numeric gradients and TF."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

CONV_CASES = [  # (input shape, filter shape, strides, padding, dilations)
    ((1, 5, 5, 1), (3, 3, 1, 2), 1, "VALID", 1),
    ((2, 5, 4, 2), (3, 2, 2, 3), 1, "SAME", 1),
    ((1, 6, 6, 2), (3, 3, 2, 2), 2, "SAME", 1),
    ((1, 7, 6, 1), (2, 3, 1, 2), (2, 1), "VALID", 1),
    ((1, 6, 6, 1), (2, 2, 1, 1), 1, "SAME", 2),
    ((1, 7, 7, 2), (3, 3, 2, 1), 1, "VALID", (2, 1)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_gradients(case, rng):
    xs, ws, strides, padding, dil = case
    x, w = rng.normal(size=xs), rng.normal(size=ws)
    check_gradients(lambda x, w: tf.nn.conv2d(x, w, strides, padding, dilations=dil), [x, w])


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_matches_tensorflow(case, real_tf, rng):
    xs, ws, strides, padding, dil = case
    x, w = rng.normal(size=xs).astype(np.float32), rng.normal(size=ws).astype(np.float32)
    # TF's CPU kernels cannot differentiate dilated convolutions: values only there.
    tf_parity.check(lambda m, x, w: m.nn.conv2d(x, w, strides, padding, dilations=dil), [x, w],
                    grads=dil == 1, real_tf=real_tf)


def test_conv2d_float32_gradient(rng):
    x = rng.normal(size=(2, 4, 4, 2)).astype(np.float32)
    w = rng.normal(size=(3, 3, 2, 2)).astype(np.float32)
    check_gradients(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"), [x, w], order=1)


def test_conv2d_bad_shapes_are_explained():
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"depth.*\(1, 5, 5, 3\).*\(3, 3, 2, 4\)"):
        tf.nn.conv2d(tf.ones((1, 5, 5, 3)), tf.ones((3, 3, 2, 4)), 1, "SAME")
    with pytest.raises(tf.errors.InvalidArgumentError, match="4-dimensional"):
        tf.nn.conv2d(tf.ones((5, 5, 3)), tf.ones((3, 3, 3, 4)), 1, "SAME")
    with pytest.raises(tf.errors.InvalidArgumentError, match="larger than the input"):
        tf.nn.conv2d(tf.ones((1, 2, 2, 1)), tf.ones((3, 3, 1, 1)), 1, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32.*float64"):
        tf.nn.conv2d(tf.ones((1, 3, 3, 1)), tf.ones((1, 1, 1, 1), tf.float64), 1, "VALID")
    with pytest.raises(ValueError, match="padding"):
        tf.nn.conv2d(tf.ones((1, 3, 3, 1)), tf.ones((1, 1, 1, 1)), 1, "FULL")


POOL_CASES = [((1, 4, 4, 2), 2, 2, "VALID"), ((2, 5, 5, 1), 2, 2, "SAME"),
              ((1, 5, 4, 1), (3, 2), 1, "VALID"), ((1, 6, 6, 1), 3, 2, "SAME")]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_gradients_and_parity(name, case, real_tf, rng):
    xs, k, s, p = case
    # A permutation: no ties, so max pooling's winner is unique in every window.
    x = rng.permutation(np.prod(xs)).reshape(xs) / 10.0
    check_gradients(lambda x: getattr(tf.nn, name)(x, k, s, p), [x])
    tf_parity.check(lambda m, x: getattr(m.nn, name)(x, k, s, p), [x.astype(np.float32)],
                    real_tf=real_tf)


# -- kernel paths: many channels (strided-view im2col) and patches kept for the backward pass --

def test_conv2d_gradients_with_many_channels(rng):
    x, w = rng.normal(size=(2, 5, 5, 8)), rng.normal(size=(3, 3, 8, 3))
    check_gradients(lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"), [x, w])


def test_two_layer_conv_gradients_match_tensorflow(real_tf, rng):
    # The seed CNN's shape of computation: C=1 then C>=8, relu between, under one tape.
    x = rng.normal(size=(2, 9, 9, 1)).astype(np.float32)
    w1 = rng.normal(size=(3, 3, 1, 8)).astype(np.float32)
    w2 = rng.normal(size=(3, 3, 8, 4)).astype(np.float32)
    tf_parity.check(lambda m, x, w1, w2: m.nn.conv2d(m.nn.relu(m.nn.conv2d(x, w1, 1, "VALID")),
                                                     w2, 1, "VALID"),
                    [x, w1, w2], real_tf=real_tf)


def _counting_residual_kernel(monkeypatch):
    from tapeflow.ops import conv_ops
    calls = []
    real = conv_ops._CONV.residual_kernel

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(conv_ops._CONV, "residual_kernel", counted)
    return calls


def test_recorded_conv_keeps_its_patches_as_a_residual_of_the_tape_entry(rng, monkeypatch):
    from tapeflow.backend import conv as K
    # The patches are the NumPy kernels' (oneDNN's filter backprop needs none).
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    x = tf.constant(rng.normal(size=(2, 6, 6, 8)).astype(np.float32))
    w = tf.Variable(rng.normal(size=(3, 3, 8, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(x, w, 1, "VALID")
    assert y.shape == (2, 4, 4, 2)                       # the caller sees the output only
    op, _, outputs, _ = tape._entries[-1]
    assert op.residuals == ("patches",) and outputs[0] is y
    np.testing.assert_array_equal(outputs[1].numpy(), K.im2col(x.numpy(), 3, 3, (1, 1), "VALID",
                                                               (1, 1)))
    dw = tape.gradient(y, w)
    want = K.conv2d_backprop_filter(x.numpy(), (3, 3, 8, 2), np.ones((2, 4, 4, 2), np.float32),
                                    (1, 1), "VALID", (1, 1))
    np.testing.assert_allclose(dw.numpy(), want, rtol=1e-5, atol=1e-5)


def test_conv_without_a_tape_produces_no_patches(rng, monkeypatch):
    calls = _counting_residual_kernel(monkeypatch)
    x = tf.constant(rng.normal(size=(1, 5, 5, 8)).astype(np.float32))
    w = tf.Variable(rng.normal(size=(3, 3, 8, 2)).astype(np.float32))
    tf.nn.conv2d(x, w, 1, "VALID")
    with tf.GradientTape(watch_accessed_variables=False):
        tf.nn.conv2d(x, w, 1, "VALID")                   # nothing watched: not recorded
    assert calls == []
    with tf.GradientTape():
        tf.nn.conv2d(x, w, 1, "VALID")
    assert calls == [1]


def test_patches_of_a_variable_input_are_the_values_the_conv_read(rng, monkeypatch):
    # The residual is a copy taken by the forward pass: an in-place update of the
    # Variable before the backward pass does not change the gradient (as TF).
    # The patches are the NumPy kernels' (oneDNN's filter backprop needs none).
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    x = tf.Variable(rng.normal(size=(1, 5, 5, 8)).astype(np.float32))
    w = tf.Variable(rng.normal(size=(3, 3, 8, 2)).astype(np.float32))
    x0 = x.numpy().copy()
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.nn.conv2d(x, w, 1, "VALID"))
    x.assign(np.zeros_like(x0))
    dw = tape.gradient(y, w)
    from tapeflow.backend import conv as K
    want = K.conv2d_backprop_filter(x0, (3, 3, 8, 2), np.ones((1, 3, 3, 2), np.float32),
                                    (1, 1), "VALID", (1, 1))
    np.testing.assert_allclose(dw.numpy(), want, rtol=1e-5, atol=1e-5)


def test_conv_input_gradient_is_skipped_when_unwanted(rng):
    x = tf.constant(rng.normal(size=(1, 5, 5, 1)).astype(np.float32))
    w = tf.Variable(rng.normal(size=(3, 3, 1, 2)).astype(np.float32))
    ran = []
    from tapeflow.ops import conv_ops
    kernel = conv_ops._CONV_BP_INPUT.kernel
    conv_ops._CONV_BP_INPUT.kernel = lambda *a, **k: ran.append(1) or kernel(*a, **k)
    try:
        with tf.GradientTape() as tape:
            y = tf.nn.conv2d(x, w, 1, "VALID")
        assert tape.gradient(y, w) is not None
        assert ran == []
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv2d(x, w, 1, "VALID")
        assert tape.gradient(y, x) is not None
        assert ran == [1]
    finally:
        conv_ops._CONV_BP_INPUT.kernel = kernel


def test_gradient_of_the_max_pool_gradient_gradient(rng):
    # MaxPoolGradGrad picks each window's argmax of its second operand; linear in it,
    # with MaxPoolGrad as its gradient (third derivatives of max pooling).
    from tapeflow.framework.op import execute
    from tapeflow.ops import conv_ops
    x = tf.constant(rng.permutation(32).reshape(1, 4, 4, 2) / 10.0)
    attrs = {"ksize": (2, 2), "strides": (2, 2), "padding": "VALID"}
    check_gradients(lambda ddx: execute(conv_ops._MAX_POOL_GG, (x, ddx), attrs),
                    [rng.normal(size=(1, 4, 4, 2))])
