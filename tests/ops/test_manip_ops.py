"""tapeflow/ops/manip_ops.py: roll, repeat, meshgrid, sequence_mask, scatters, unique."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

EXPRS = {
    "roll": lambda m, x: m.roll(x, shift=[1, -2], axis=[0, 1]),
    "repeat_scalar": lambda m, x: m.repeat(x, 2, axis=1),
    "repeat_counts": lambda m, x: m.repeat(x, [1, 0, 3], axis=0),
    "repeat_flat": lambda m, x: m.repeat(x, 2),
    "meshgrid_xy": lambda m, x: m.meshgrid(x[0], x[1, :2]),
    "meshgrid_ij": lambda m, x: m.meshgrid(x[0], x[1, :2], indexing="ij"),
    "scatter_nd": lambda m, x: m.scatter_nd([[0, 1], [2, 3], [0, 1]], x[0, :3], [3, 4]),
    "tensor_scatter_update": lambda m, x: m.tensor_scatter_nd_update(
        x, [[0, 1], [2, 2]], x[1, :2] * 3.0),
    "tensor_scatter_add": lambda m, x: m.tensor_scatter_nd_add(x, [[1], [1]], x[:2] * 2.0),
}


@pytest.mark.parametrize("name", sorted(EXPRS))
def test_values_gradients_and_parity(name, rng, real_tf):
    x = rng.normal(size=(3, 4))
    check_gradients(lambda x: EXPRS[name](tf, x), [x])
    tf_parity.check(EXPRS[name], [x.astype(np.float32)], real_tf=real_tf)


def test_masks_unique_and_ensure_shape(real_tf):
    def expr(m):
        y, idx = m.unique(m.constant([3, 1, 3, 2, 1]))
        return (m.sequence_mask([1, 3], 4), m.sequence_mask([2, 0]),
                m.sequence_mask([1, 2], 3, dtype=m.float32), y, idx,
                m.ensure_shape(m.ones((2, 3)), [None, 3]))
    tf_parity.check(expr, [], real_tf=real_tf)


def test_bad_arguments_are_explained():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = \[5\]"):
        tf.scatter_nd([[0], [5]], [1., 2.], [3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="not compatible"):
        tf.ensure_shape(tf.ones((2, 3)), [2, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="same size"):
        tf.roll(tf.ones(3), [1, 2], [0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="one count per element"):
        tf.repeat(tf.ones(3), [1, 2])
