"""tapeflow/ops/array_ops.py: shape ops, indexing, gather; gradients and TF parity."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

SHAPE_EXPRS = {
    "reshape": lambda m, x: m.reshape(x, [3, -1]),
    "transpose": lambda m, x: m.transpose(x, [2, 0, 1]),
    "transpose_default": lambda m, x: m.transpose(x),
    "expand_dims": lambda m, x: m.expand_dims(x, -1),
    "squeeze": lambda m, x: m.squeeze(m.reshape(x, [1, 2, 1, 12]), axis=[0, 2]),
    "concat": lambda m, x: m.concat([x, m.sin(x)], axis=1),
    "concat_neg": lambda m, x: m.concat([x, x * 2.0, x], axis=-1),
    "stack": lambda m, x: m.stack([x, m.cos(x)], axis=1),
    "unstack": lambda m, x: m.unstack(x, axis=1),
    "split_num": lambda m, x: m.split(x, 2, axis=2),
    "split_sizes": lambda m, x: m.split(x, [1, 2], axis=1),
    "tile": lambda m, x: m.tile(x, [2, 1, 3]),
    "pad": lambda m, x: m.pad(x, [[1, 0], [0, 2], [1, 1]], constant_values=0.5),
    "pad_reflect": lambda m, x: m.pad(x, [[1, 1], [2, 1], [1, 0]], mode="REFLECT"),
    "pad_symmetric": lambda m, x: m.pad(x, [[1, 1], [0, 3], [1, 0]], mode="SYMMETRIC"),
    "broadcast_to": lambda m, x: m.broadcast_to(x[:, :1], [4, 2, 3, 4]),
    "identity": lambda m, x: m.identity(x) * 2.0,
}


@pytest.mark.parametrize("name", sorted(SHAPE_EXPRS))
def test_shape_op_gradients(name, rng):
    x = rng.normal(size=(2, 3, 4))
    check_gradients(lambda x: SHAPE_EXPRS[name](tf, x), [x])


@pytest.mark.parametrize("name", sorted(SHAPE_EXPRS))
def test_shape_op_matches_tensorflow(name, real_tf, rng):
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    tf_parity.check(SHAPE_EXPRS[name], [x], real_tf=real_tf)


def test_creation_ops_match_tensorflow(real_tf):
    def expr(m):
        return (m.zeros([2, 3]), m.ones((2,), m.int32), m.zeros(3, dtype=m.float64),
                m.fill([2, 2], 7), m.fill([2], 1.5), m.range(5), m.range(1, 7, 2),
                m.range(0.0, 1.0, 0.25), m.range(3, dtype=m.float32), m.eye(3),
                m.eye(2, 3, dtype=m.float64), m.zeros_like(m.constant([[1, 2]])),
                m.ones_like(m.constant([1.5])), m.linspace(0.0, 1.0, 5),
                m.one_hot([0, 2, -1], 3), m.one_hot([1, 0], 2, on_value=5.0, off_value=-1.0),
                m.one_hot([[0, 1]], 3, axis=0, dtype=m.int32),
                m.shape(m.zeros([2, 3])), m.rank(m.zeros([2, 3])), m.size(m.zeros([2, 3])),
                m.constant(1.0, shape=[2, 2]), m.constant([1, 2, 3, 4], shape=[2, 2]))
    tf_parity.check(expr, [], real_tf=real_tf)


def test_constant_follows_tensorflow_dtype_rules():
    assert tf.constant(1.0).dtype == tf.float32
    assert tf.constant(1).dtype == tf.int32
    assert tf.constant(2**40).dtype == tf.int64
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant(np.float64(1.0)).dtype == tf.float64
    assert tf.constant(np.arange(3, dtype=np.uint8)).dtype == tf.uint8
    assert tf.constant([1, 2], dtype=tf.float16).dtype == tf.float16
    assert tf.constant([[1, 2.5]]).dtype == tf.float32
    with pytest.raises(TypeError, match="Cannot convert"):
        tf.constant([1.5], dtype=tf.int32)
    with pytest.raises(TypeError, match="expected"):
        tf.constant(["a", "b"], dtype=tf.float32)


def test_stack_concat_errors_name_shapes_and_dtypes():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[2,3\]|\(2, 3\)|2, 3"):
        tf.concat([tf.ones((2, 3)), tf.ones((3, 2))], axis=0)
    with pytest.raises((TypeError, tf.errors.InvalidArgumentError),
                       match="float32.*int32|int32.*float32"):
        tf.stack([tf.ones(2), tf.constant([1, 2])])
    with pytest.raises(ValueError, match="reshape|Reshape"):
        tf.reshape(tf.ones(6), [4, -1])


def test_split_unstack_squeeze_errors():
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="split|Split"):
        tf.split(tf.ones((5, 2)), 2)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="1|squeeze|Squeeze"):
        tf.squeeze(tf.ones((2, 3)), axis=0)


def test_iteration_and_len_unstack_the_first_dimension():
    x = tf.constant([[1., 2.], [3., 4.], [5., 6.]])
    rows = list(x)
    assert len(x) == 3 and len(rows) == 3
    np.testing.assert_array_equal(rows[2].numpy(), [5., 6.])
    with tf.GradientTape() as t:
        t.watch(x)
        y = sum(r[0] * r[1] for r in x)
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), [[2., 1.], [4., 3.], [6., 5.]])


def test_stop_gradient_blocks_and_identity_passes():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        a = tf.stop_gradient(x * x) * x
        b = tf.identity(x) * x
    assert float(t.gradient(a, x)) == 9.0
    assert float(t.gradient(b, x)) == 6.0


def test_more_bad_arguments_are_explained():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"perm \[0, 2\].*\(2, 3\)"):
        tf.transpose(tf.ones((2, 3)), [0, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"axis = 3 not in \[-2, 2\)"):
        tf.unstack(tf.ones((2, 3)), axis=3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num = 3 does not match"):
        tf.unstack(tf.ones((2, 3)), num=3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="delta != 0"):
        tf.range(0, 10, 0)
    with pytest.raises(ValueError, match="non-rectangular"):
        tf.constant([[1, 2], [3]])


def test_gradients_of_fill_and_expand_dims_ops(rng):
    # Both are reached eagerly only with shapes unknown until run time (traced code).
    from tapeflow.framework.op import execute
    from tapeflow.ops import array_ops
    check_gradients(lambda v: tf.fill([2, 3], v), [np.array(1.5)])
    check_gradients(lambda x: execute(array_ops._EXPAND, (x,), {"axis": 1}),
                    [rng.normal(size=(2, 3))])
