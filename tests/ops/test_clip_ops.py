"""tapeflow/ops/clip_ops.py: norms and clipping, against TF and numeric gradients."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity


@pytest.mark.parametrize("ord_axis", [("euclidean", None), (1, None), (np.inf, 1), (2, 0),
                                      ("fro", (0, 1)), ("euclidean", 1)], ids=str)
def test_norm_matches_tensorflow_and_differentiates(ord_axis, real_tf, rng):
    o, axis = ord_axis
    x = rng.uniform(0.5, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))
    tf_parity.check(lambda m, x: m.norm(x, ord=o, axis=axis), [x.astype(np.float32)],
                    real_tf=real_tf)
    check_gradients(lambda x: tf.norm(x, ord=o, axis=axis, keepdims=True), [x])


def test_clip_by_norm_and_global_norm_match_tensorflow(real_tf, rng):
    a, b = rng.normal(size=(3,)).astype(np.float32) * 4, rng.normal(size=(2, 2)).astype(np.float32)

    def expr(m, a, b):
        clipped, n = m.clip_by_global_norm([a, b], 2.0)
        return (m.clip_by_norm(a, 1.0), m.clip_by_norm(b, 1.0, axes=[1]),
                m.clip_by_norm(m.zeros(3), 1.0), clipped, n, m.linalg.global_norm([a, b]))
    tf_parity.check(expr, [a, b], real_tf=real_tf)
    check_gradients(lambda a: tf.clip_by_norm(a, 1.0), [a.astype(np.float64)])


def test_clip_by_global_norm_keeps_none_entries_and_checks_input():
    out, n = tf.clip_by_global_norm([tf.constant([3.0, 4.0]), None], 10.0)
    assert out[1] is None and float(n) == 5.0
    np.testing.assert_array_equal(out[0].numpy(), [3.0, 4.0])
    with pytest.raises(TypeError, match="list of tensors"):
        tf.clip_by_global_norm(tf.constant([1.0]), 1.0)
    # tf.norm is the linalg norm (any positive p for vectors, as TF); p <= 0 is refused.
    np.testing.assert_allclose(float(tf.norm(tf.ones(3), ord=3)), 3 ** (1 / 3), rtol=1e-6)
    with pytest.raises(ValueError, match="ord"):
        tf.norm(tf.ones(3), ord=-1)
