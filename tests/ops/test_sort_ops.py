"""tapeflow/ops/sort_ops.py: top_k, sort, argsort, in_top_k."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity


def test_values_and_indices_match_tensorflow(real_tf):
    def expr(m):
        x = m.constant([[3., 1., 2., 3.], [0., -1., 5., 5.]])
        i = m.constant([3, 1, 2, 1])
        tk = m.math.top_k(x, 3)
        return (tk.values, tk.indices, m.sort(x), m.sort(x, direction="DESCENDING"),
                m.argsort(x), m.argsort(x, direction="DESCENDING"), m.sort(i),
                m.argsort(i), m.math.top_k(i, 2).indices,
                m.math.in_top_k([0, 2], x[:, :3], 1), m.math.in_top_k([3, 2], x, 1))
    tf_parity.check(expr, [], real_tf=real_tf)


def test_gradients_first_and_second_order(rng, real_tf):
    x = rng.permutation(12).reshape(3, 4) / 3.0
    check_gradients(lambda x: tf.math.top_k(x, 2).values, [x])
    check_gradients(lambda x: tf.sort(x) * tf.range(4, dtype=tf.float64), [x])
    check_gradients(lambda x: tf.sort(x, direction="DESCENDING") ** 2, [x])
    tf_parity.check(lambda m, x: (m.math.top_k(x, 3).values, m.sort(x)),
                    [x.astype(np.float32)], real_tf=real_tf)


def test_bad_arguments_are_explained():
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least k=5"):
        tf.math.top_k(tf.ones((2, 3)), 5)
    with pytest.raises(ValueError, match="direction"):
        tf.sort([1, 2], direction="UP")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"range \[-2, 2\), but got 2"):
        tf.sort(tf.ones((2, 3)), axis=2)



def test_gradient_of_the_top_k_backward_ops(rng):
    # GatherLast and TopKGrad are each other's gradients (the second order of top_k).
    from tapeflow.framework.op import execute
    from tapeflow.ops import sort_ops
    idx = tf.constant(np.array([[3, 0], [1, 2]], np.int32))
    check_gradients(lambda v: execute(sort_ops._GATHER_LAST, (v, idx)), [rng.normal(size=(2, 4))])
    x = tf.constant(np.zeros((2, 4)))
    check_gradients(lambda dy: execute(sort_ops._TOPK_GRAD, (x, idx, dy)),
                    [rng.normal(size=(2, 2))])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
def test_sort_and_argsort_at_the_integer_limits_match_tensorflow(dtype, direction, real_tf):
    # -x overflows at the most negative integer; the order keys must not.
    info = np.iinfo(dtype)
    x = np.array([3, info.min, info.max, 0, info.min, 3, info.max - 1], dtype)
    np.testing.assert_array_equal(tf.sort(x, direction=direction).numpy(),
                                  real_tf.sort(x, direction=direction).numpy())
    np.testing.assert_array_equal(tf.argsort(x, direction=direction, stable=True).numpy(),
                                  real_tf.argsort(x, direction=direction, stable=True).numpy())
    np.testing.assert_array_equal(tf.math.top_k(x, k=3).indices.numpy(),
                                  real_tf.math.top_k(x, k=3).indices.numpy())
