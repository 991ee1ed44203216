"""tapeflow/framework/variables.py: names, updates, errors and printed form of tf.Variable."""
import numpy as np
import pytest

import tapeflow as tf


def test_names_follow_tensorflow():
    assert tf.Variable(3.0, name="x0").name == "x0:0"
    assert tf.Variable(3.0).name == "Variable:0"
    with tf.name_scope("outer"):
        with tf.name_scope("inner"):
            assert tf.Variable(1.0, name="w").name == "outer/inner/w:0"
    assert tf.Variable(1.0, name="w").name == "w:0"


def test_repr_matches_tensorflow(real_tf):
    for make in (lambda m: m.Variable(3.0, name="x0"),
                 lambda m: m.Variable([[1, 2], [3, 4]], name="k"),
                 lambda m: m.Variable([1.5, 2.5], dtype=m.float64, trainable=False)):
        assert repr(make(tf)) == repr(make(real_tf))


def test_constructor_options():
    v = tf.Variable([1, 2], dtype=tf.float32, trainable=False)
    assert v.dtype == tf.float32 and not v.trainable and v.shape == (2,)
    w = tf.Variable(lambda: tf.ones((2, 3)))
    assert w.shape == (2, 3) and w.trainable
    assert tf.Variable(tf.constant(2, tf.int64)).dtype == tf.int64
    with pytest.raises(ValueError, match="initial_value"):
        tf.Variable()
    with pytest.raises(ValueError, match="incompatible"):
        tf.Variable([1.0, 2.0], shape=(3,))


def test_assign_family_updates_in_place_and_returns_the_variable():
    v = tf.Variable([1.0, 2.0])
    assert v.assign([3.0, 4.0]) is v
    v.assign_add([1.0, 1.0])
    v.assign_sub(tf.constant([0.5, 0.5]))
    np.testing.assert_array_equal(v.numpy(), [3.5, 4.5])


def test_failed_assign_leaves_the_value_unchanged():
    v = tf.Variable([1.0, 2.0], name="v")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"'v:0'.*shape \(2,\).*\(3,\)"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32.*float64"):
        v.assign_add(tf.constant([1.0, 1.0], tf.float64))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_numpy_is_a_snapshot_and_tensors_from_reads_do_not_change():
    v = tf.Variable([1.0, 2.0])
    arr, t, r = v.numpy(), v + 0.0, tf.reshape(v, (2, 1))
    v.assign([9.0, 9.0])
    np.testing.assert_array_equal(arr, [1.0, 2.0])
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(r.numpy(), [[1.0], [2.0]])
    assert isinstance(tf.Variable(3.0).numpy(), np.float32)


def test_variables_take_part_in_operators_and_ops():
    v = tf.Variable([[1.0, 2.0]])
    assert ((v * 2.0) + v).numpy().tolist() == [[3.0, 6.0]]
    assert (v @ tf.transpose(v)).numpy().tolist() == [[5.0]]
    assert float(tf.reduce_sum(v)) == 3.0 and float(v[0, 1]) == 2.0
    s = tf.Variable(2.5)
    assert float(s) == 2.5 and f"{s:.1f}" == "2.5" and int(tf.Variable(3)) == 3
    with pytest.raises(TypeError, match="unhashable"):
        {s: 1}


def test_read_value_gradient_is_checked():
    from tapeflow.testing import check_gradients
    v = tf.Variable(np.array([0.5, -1.5, 2.0]))
    check_gradients(lambda v: v.read_value() * v.read_value(), [v])
