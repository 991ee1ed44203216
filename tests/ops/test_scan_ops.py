"""tapeflow/ops/scan_ops.py: cumsum and segment sums."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumsum(axis, exclusive, reverse, rng, real_tf):
    x = rng.normal(size=(3, 4))
    check_gradients(lambda x: tf.math.cumsum(x, axis, exclusive, reverse), [x])
    tf_parity.check(lambda m, x: m.math.cumsum(x, axis, exclusive, reverse),
                    [x.astype(np.float32)], real_tf=real_tf)


def test_segment_sums(rng, real_tf):
    data = rng.normal(size=(5, 2))
    ids = np.array([0, 2, 0, -1, 1], np.int32)
    sorted_ids = np.array([0, 0, 1, 3, 3], np.int32)
    check_gradients(lambda d: tf.math.unsorted_segment_sum(d, ids, 4), [data])
    check_gradients(lambda d: tf.math.segment_sum(d, sorted_ids), [data])
    tf_parity.check(lambda m, d, i, s: (m.math.unsorted_segment_sum(d, i, 4),
                                        m.math.segment_sum(d, s)),
                    [data.astype(np.float32), ids, sorted_ids], real_tf=real_tf)


def test_segment_errors():
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_segments = 2"):
        tf.math.unsorted_segment_sum([1., 2.], [0, 2], 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="sorted"):
        tf.math.segment_sum([1., 2.], [1, 0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="axis 2"):
        tf.math.cumsum(tf.ones((2, 2)), axis=2)


def test_gradient_of_the_segment_sum_backward_op(rng):
    # SegmentGather (segment_sum's gradient) has segment_sum as its own gradient.
    from tapeflow.framework.op import execute
    from tapeflow.ops import scan_ops
    ids = tf.constant(np.array([0, 2, 0, -1, 1], np.int32))
    check_gradients(lambda g: execute(scan_ops._SEGMENT_GATHER, (g, ids)),
                    [rng.normal(size=(4, 2))])
