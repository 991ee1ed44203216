"""tf.linalg least squares, norms and pinv: values and gradients against TensorFlow."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity


@pytest.mark.parametrize("shape,l2", [((5, 3), 0.0), ((5, 3), 0.5), ((2, 4), 0.1)], ids=str)
def test_lstsq_matches_tf(real_tf, rng, shape, l2):
    a, b = rng.normal(size=shape), rng.normal(size=(shape[0], 2))
    tf_parity.check(lambda m, a, b: m.linalg.lstsq(a, b, l2_regularizer=l2), [a, b],
                    real_tf=real_tf)


def test_lstsq_robust_path_matches_tf_values(real_tf, rng):
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    tf_parity.check(lambda m, a, b: m.linalg.lstsq(a, b, fast=False), [a, b], grads=False,
                    real_tf=real_tf)


@pytest.mark.parametrize("ord_,axis", [("euclidean", None), (1, None), (np.inf, -1), (3, 0),
                                       (0.5, None), ("fro", (0, 1)), (1, (0, 1)),
                                       (np.inf, (1, 2)), (2, (1, 2)), (2, (2, 0)),
                                       ("euclidean", (0, 2))], ids=str)
def test_norms_match_tf(real_tf, rng, ord_, axis):
    x = rng.normal(size=(2, 3, 4))
    for keep in (False, True):
        tf_parity.check(lambda m, x, keep=keep: m.linalg.norm(x, ord=ord_, axis=axis,
                                                              keepdims=keep),
                        [x], real_tf=real_tf)


def test_lstsq_norm_and_pinv_gradients(rng):
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    check_gradients(lambda a, b: tf.linalg.lstsq(a, b, l2_regularizer=0.1), [a, b])
    check_gradients(lambda a, b: tf.linalg.lstsq(a, b), [a.T, b[:3]])
    check_gradients(lambda a: tf.linalg.norm(a, ord=2, axis=[0, 1]), [a])
    check_gradients(lambda a: tf.linalg.norm(a, ord=3, axis=0), [a])
    check_gradients(tf.linalg.pinv, [a])


def test_bad_norm_arguments_raise_tf_value_errors(real_tf):
    for kwargs in [{"ord": "fro"}, {"ord": 3, "axis": [0, 1]}, {"ord": -1}, {"axis": [0, 0]}]:
        with pytest.raises(ValueError) as ours:
            tf.linalg.norm(tf.ones([2, 2]), **kwargs)
        with pytest.raises(ValueError) as theirs:
            real_tf.linalg.norm(real_tf.ones([2, 2]), **kwargs)
        assert str(ours.value) == str(theirs.value)


def test_robust_lstsq_has_no_gradient_as_tf():
    a = tf.constant(np.eye(3, 2))
    with tf.GradientTape() as tape:
        tape.watch(a)
        x = tf.linalg.lstsq(a, tf.ones([3, 1], tf.float64), fast=False)
    with pytest.raises(ValueError, match="Gradient not defined for fast=False"):
        tape.gradient(x, a)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)], ids=str)
def test_traced_with_unknown_dims_matches_eager(rng, shape):
    a, b = rng.normal(size=shape), rng.normal(size=(shape[0], 2))
    spec = tf.TensorSpec([None, None], tf.float64)
    traced = tf.function(lambda a, b: (tf.linalg.lstsq(a, b, l2_regularizer=0.1),
                                       tf.linalg.pinv(a)), input_signature=[spec, spec])
    for got, want in zip(traced(a, b), (tf.linalg.lstsq(a, b, l2_regularizer=0.1),
                                        tf.linalg.pinv(a))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10)
