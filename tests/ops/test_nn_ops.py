"""tapeflow/ops/nn_ops.py: activations, softmax, cross-entropies, bias_add, dropout."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

ACTIVATIONS = ["relu", "relu6", "elu", "selu", "leaky_relu", "gelu", "softplus", "sigmoid",
               "tanh", "silu"]


def _away_from_kinks(rng, shape):
    # relu/relu6/leaky_relu/elu have kinks at 0 and 6: sample away from them.
    x = rng.uniform(0.2, 1.5, shape) * rng.choice([-1, 1], shape) * 4
    return np.where(np.abs(x - 6) < 0.3, 5.0, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradients(name, dtype, rng):
    check_gradients(getattr(tf.nn, name), [_away_from_kinks(rng, (3, 4)).astype(dtype)])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_tensorflow(name, real_tf, rng):
    x = _away_from_kinks(rng, (3, 4)).astype(np.float32)
    tf_parity.check(lambda m, x: getattr(m.nn, name)(x), [x], real_tf=real_tf)


def test_gelu_approximate_and_leaky_alpha_match_tensorflow(real_tf, rng):
    x = _away_from_kinks(rng, (2, 5)).astype(np.float32)
    tf_parity.check(lambda m, x: (m.nn.gelu(x, approximate=True), m.nn.leaky_relu(x, alpha=0.1)),
                    [x], real_tf=real_tf)
    check_gradients(lambda x: tf.nn.gelu(x, approximate=True), [x])


def test_relu_gradient_at_zero_is_zero_as_tensorflow(real_tf):
    x = np.array([-1., 0., 2.], np.float32)
    out = tf_parity.check(lambda m, x: m.nn.relu(x) * 3.0, [x], real_tf=real_tf)
    assert out.grads[0][1] == 0


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_gradients_and_parity(name, axis, real_tf, rng):
    x = rng.normal(size=(3, 4)).astype(np.float64)
    check_gradients(lambda x: getattr(tf.nn, name)(x, axis=axis), [x])
    tf_parity.check(lambda m, x: getattr(m.nn, name)(x, axis=axis), [x.astype(np.float32)],
                    real_tf=real_tf)


def test_softmax_is_stable_for_huge_logits(real_tf):
    x = np.array([[1e4, 0., -1e4], [3e38, 3e38, 0.]], np.float32)
    tf_parity.check(lambda m, x: (m.nn.softmax(x), m.nn.log_softmax(x)), [x], real_tf=real_tf)


def test_sparse_softmax_cross_entropy(real_tf, rng):
    logits = rng.normal(size=(4, 5))
    labels = np.array([0, 4, 2, 2])
    check_gradients(lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z), [logits])
    tf_parity.check(lambda m, y, z: m.nn.sparse_softmax_cross_entropy_with_logits(y, z),
                    [labels.astype(np.int32), logits.astype(np.float32)], real_tf=real_tf)


def test_sparse_softmax_cross_entropy_rejects_bad_labels():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of 5.*\[0, 5\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits([1, 5], tf.zeros((2, 5)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels shape"):
        tf.nn.sparse_softmax_cross_entropy_with_logits([[1, 2]], tf.zeros((2, 5)))
    with pytest.raises(TypeError, match="int32 or int64"):
        tf.nn.sparse_softmax_cross_entropy_with_logits([1., 2.], tf.zeros((2, 5)))


def test_dense_cross_entropies(real_tf, rng):
    logits = rng.normal(size=(3, 4))
    labels = rng.dirichlet(np.ones(4), size=3)
    check_gradients(lambda y, z: tf.nn.softmax_cross_entropy_with_logits(y, z), [labels, logits])
    check_gradients(lambda y, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z),
                    [labels, logits])
    tf_parity.check(lambda m, y, z: (m.nn.softmax_cross_entropy_with_logits(y, z),
                                     m.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)),
                    [labels.astype(np.float32), logits.astype(np.float32)], real_tf=real_tf)


def test_bias_add(real_tf, rng):
    x, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4,))
    check_gradients(tf.nn.bias_add, [x, b])
    tf_parity.check(lambda m, x, b: m.nn.bias_add(x, b),
                    [x.astype(np.float32), b.astype(np.float32)],
                    real_tf=real_tf)
    with pytest.raises(tf.errors.InvalidArgumentError, match="as many biases"):
        tf.nn.bias_add(tf.ones((2, 3)), tf.ones((4,)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Biases must be 1D"):
        tf.nn.bias_add(tf.ones((2, 3)), tf.ones((1, 3)))


def test_normalisation_helpers(real_tf, rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)

    def expr(m, x):
        mean, var = m.nn.moments(x, axes=[0])
        return (mean, var, m.nn.l2_normalize(x, axis=1), m.nn.l2_loss(x),
                m.nn.batch_normalization(x, mean, var, offset=0.5, scale=2.0,
                                         variance_epsilon=1e-3))
    tf_parity.check(expr, [x], real_tf=real_tf)
    check_gradients(lambda x: tf.nn.l2_normalize(x, axis=1), [x.astype(np.float64)])


def test_dropout_scales_kept_values_and_masks_the_gradient():
    tf.random.set_seed(3)
    x = tf.ones((200, 50))
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.nn.dropout(x, rate=0.25)
    vals = np.unique(y.numpy())
    np.testing.assert_allclose(vals, [0., 1 / 0.75], rtol=1e-6)
    assert abs(np.mean(y.numpy() == 0) - 0.25) < 0.02
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), y.numpy())
    assert tf.nn.dropout(x, rate=0.0) is x


def test_dropout_rejects_a_rate_outside_zero_one():
    with pytest.raises(ValueError, match=r"range \[0, 1\)"):
        tf.nn.dropout(tf.ones(3), rate=1.0)
    with pytest.raises(TypeError, match="floating"):
        tf.nn.dropout(tf.constant([1, 2]), rate=0.5)
