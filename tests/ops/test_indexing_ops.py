"""tapeflow/ops/indexing_ops.py: t[...], slice, gather, gather_nd, boolean_mask, reverse."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

INDEX_EXPRS = {
    "reverse": lambda m, x: m.reverse(x, axis=[0, 2]),
    "slice": lambda m, x: m.slice(x, [0, 1, 1], [2, 2, -1]),
    "getitem_basic": lambda m, x: x[1],
    "getitem_slices": lambda m, x: x[:, 1:, ::-2],
    "getitem_newaxis_ellipsis": lambda m, x: x[m.newaxis, ..., 1],
    "getitem_negative": lambda m, x: x[-1, -2:, :-1],
    "gather": lambda m, x: m.gather(x, [2, 0, 2], axis=1),
    "gather_axis0": lambda m, x: m.gather(x, [[1, 0], [1, 1]]),
    "gather_batch_dims": lambda m, x: m.gather(x, [[0, 2], [1, 1]], axis=1, batch_dims=1),
    "gather_nd": lambda m, x: m.gather_nd(x, [[0, 1], [1, 2], [0, 1]]),
    "boolean_mask": lambda m, x: m.boolean_mask(x, [True, False]),
}


@pytest.mark.parametrize("name", sorted(INDEX_EXPRS))
def test_indexing_gradients(name, rng):
    x = rng.normal(size=(2, 3, 4))
    check_gradients(lambda x: INDEX_EXPRS[name](tf, x), [x])


@pytest.mark.parametrize("name", sorted(INDEX_EXPRS))
def test_indexing_matches_tensorflow(name, real_tf, rng):
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    tf_parity.check(INDEX_EXPRS[name], [x], real_tf=real_tf)


def test_getitem_with_tensor_index_and_errors():
    x = tf.reshape(tf.range(12), [3, 4])
    assert int(x[tf.constant(1), 2]) == 6
    np.testing.assert_array_equal(x[1:, tf.constant(-1)].numpy(), [7, 11])
    with pytest.raises(tf.errors.InvalidArgumentError, match="out of bounds|outside|index"):
        x[3]


def test_gather_out_of_range_index_is_an_error():
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"indices\[1\] = 5 is not in \[0, 3\)"):
        tf.gather(tf.ones((3, 2)), [0, 5])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1,0\] = -1 is not in"):
        tf.gather(tf.ones((3, 2)), [[0], [-1]])


def test_one_hot_needs_integer_indices():
    with pytest.raises(TypeError, match="one_hot: indices must be.*float32"):
        tf.one_hot([1.5], 3)
