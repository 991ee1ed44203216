"""tapeflow/ops/manip_ops.py: tensor_scatter_nd_sub/min/max, beside TensorFlow."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

# Index lists that hit one entry twice, so accumulation order and repeats are exercised.
ROWS = [[2], [0], [2]]
CELLS = [[1, 3], [0, 0], [1, 3]]

EXPRS = {
    "sub_rows": lambda m, x, u: m.tensor_scatter_nd_sub(x, ROWS, u),
    "sub_cells": lambda m, x, u: m.tensor_scatter_nd_sub(x, CELLS, u[:, 0]),
    "min_rows": lambda m, x, u: m.tensor_scatter_nd_min(x, ROWS, u),
    "min_cells": lambda m, x, u: m.tensor_scatter_nd_min(x, CELLS, u[:, 1]),
    "max_rows": lambda m, x, u: m.tensor_scatter_nd_max(x, ROWS, u),
    "max_cells": lambda m, x, u: m.tensor_scatter_nd_max(x, CELLS, u[:, 2]),
}


@pytest.mark.parametrize("name", sorted(EXPRS))
def test_values_gradients_and_parity(name, rng, real_tf):
    # Distinct values (no ties), where min and max are differentiable.
    vals = rng.permutation(24).astype(np.float64) * 0.37 - 4.0
    x, u = vals[:12].reshape(3, 4), vals[12:].reshape(3, 4)
    check_gradients(lambda x, u: EXPRS[name](tf, x, u), [x, u])
    tf_parity.check(EXPRS[name], [x.astype(np.float32), u.astype(np.float32)],
                    real_tf=real_tf)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_ties_share_the_gradient_as_tensorflow_does(mode, real_tf):
    x = np.array([[4.0, -1.0], [2.5, 0.0]], np.float32)
    u = np.array([4.0, 4.0, -3.0], np.float32)   # two updates equal the old entry at [0, 0]

    def expr(m, x, u):
        y = getattr(m, f"tensor_scatter_nd_{mode}")(x, [[0, 0], [0, 0], [1, 1]], u)
        return y * m.constant([[1.0, 2.0], [3.0, 5.0]])

    tf_parity.check(expr, [x, u], real_tf=real_tf)


@pytest.mark.parametrize("mode", ["sub", "min", "max"])
def test_integer_values_match_tensorflow(mode, real_tf):
    t = [[5, -2, 7], [0, 3, -9]]
    idx, upd = [[0, 1], [1, 2], [0, 1]], [4, -6, 1]
    got = getattr(tf, f"tensor_scatter_nd_{mode}")(t, idx, upd)
    want = getattr(real_tf, f"tensor_scatter_nd_{mode}")(t, idx, upd)
    assert got.dtype.name == want.dtype.name
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_index_out_of_range_names_the_index():
    with pytest.raises(ValueError, match=r"indices\[1\] = \[3\] does not index"):
        tf.tensor_scatter_nd_max([1.0, 2.0, 3.0], [[0], [3]], [5.0, 6.0])
