"""tf.TensorArray eagerly, in traced loops, with gradients, beside TensorFlow."""
import numpy as np
import pytest

import tapeflow as tf
from tests.function.autograph_parity import check, real_tf


def test_eager_writes_change_the_array_in_place():
    ta = tf.TensorArray(tf.float32, size=3)
    ta.write(0, 1.0)
    ta.write(2, 5.0)
    np.testing.assert_array_equal(ta.stack().numpy(), [1.0, 0.0, 5.0])
    assert int(ta.size()) == 3
    assert float(ta.read(2)) == 5.0


def test_unstack_gather_concat():
    ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
    ta = ta.unstack([[1, 2], [3, 4], [5, 6]])
    assert int(ta.size()) == 3
    np.testing.assert_array_equal(ta.gather([2, 0]).numpy(), [[5, 6], [1, 2]])
    np.testing.assert_array_equal(ta.concat().numpy(), [1, 2, 3, 4, 5, 6])


def test_scatter_writes_rows_at_indices():
    ta = tf.TensorArray(tf.float32, size=4).scatter([3, 1], tf.constant([[1.0], [2.0]]))
    np.testing.assert_array_equal(ta.stack().numpy(), [[0.0], [2.0], [0.0], [1.0]])


def test_write_past_the_end_of_a_fixed_array_is_an_error():
    ta = tf.TensorArray(tf.float32, size=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="index 2.*size is 2"):
        ta.write(2, 1.0)


def test_write_of_the_wrong_dtype_is_an_error():
    ta = tf.TensorArray(tf.float32, size=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32.*int32"):
        ta.write(0, tf.constant(1))


def test_dynamic_array_in_a_tensor_loop():
    def make(tf):
        @tf.function
        def triangular(n):
            ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
            total = tf.constant(0)
            for i in tf.range(n):
                total += i
                ta = ta.write(i, total)
            return ta.stack()
        return triangular

    values, _, traces = check(make, [(5,), (3,)])
    np.testing.assert_array_equal(values[0], [0, 1, 3, 6, 10])
    assert traces == 1


def test_gradient_through_a_fixed_size_array_in_a_loop():
    def make(tf):
        @tf.function
        def running_products(x):
            n = tf.shape(x)[0]
            ta = tf.TensorArray(tf.float32, size=n, element_shape=[])
            acc = tf.constant(1.0)
            for i in tf.range(n):
                acc = acc * x[i]
                ta = ta.write(i, acc)
            return ta.stack()
        return running_products

    _, grads, _ = check(make, [([1.0, 2.0, 3.0],), ([0.5, -2.0, 4.0],)], grad=True)
    np.testing.assert_allclose(grads[0], [9.0, 4.0, 2.0])


def test_gradient_through_a_dynamic_array_in_a_loop():
    def make(tf):
        @tf.function
        def scaled(x, n):
            ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
            for i in tf.range(n):
                ta = ta.write(i, x * tf.cast(i + 1, tf.float32))
            return tf.reduce_sum(ta.stack() ** 2)
        return scaled

    check(make, [(2.0, 3), (-1.0, 4)], grad=True, rtol=1e-5)


def test_eager_gradient_through_writes_and_reads():
    def make(tf):
        def f(x):
            ta = tf.TensorArray(tf.float32, size=2)
            ta = ta.write(0, x * x)
            ta = ta.write(1, ta.read(0) * 3.0)
            return tf.reduce_sum(ta.stack())
        return f

    outs = []
    for fw in [tf] + ([real_tf] if real_tf else []):
        x = fw.constant(1.5)
        with fw.GradientTape() as tape:
            tape.watch(x)
            y = make(fw)(x)
        outs.append((float(y), float(tape.gradient(y, x))))
    assert outs[0] == pytest.approx((6.75, 9.0))     # the read cleared element 0, as in TF
    assert len(set(outs)) == 1


def test_array_as_a_python_loop_accumulator_in_a_function():
    def make(tf):
        @tf.function
        def f(x):
            ta = tf.TensorArray(tf.float32, size=3)
            for k in range(3):
                ta = ta.write(k, x + float(k))
            return ta.stack()
        return f

    check(make, [([1.0, 2.0],)], grad=True)


def test_array_written_in_a_tensor_if():
    def make(tf):
        @tf.function
        def f(x):
            ta = tf.TensorArray(tf.float32, size=2, element_shape=[])
            if x > 0:
                ta = ta.write(0, x * x)
            else:
                ta = ta.write(1, -x)
            return ta.stack()
        return f

    values, _, _ = check(make, [(2.0,), (-3.0,)], grad=True)
    np.testing.assert_array_equal(values[1], [0.0, 3.0])


def test_reading_one_array_while_writing_another_in_a_loop():
    def make(tf):
        @tf.function
        def doubled(x):
            src = tf.TensorArray(tf.float32, size=0, dynamic_size=True).unstack(x)
            out = tf.TensorArray(tf.float32, size=src.size())
            for i in tf.range(src.size()):
                out = out.write(i, src.read(i) * 2.0)
            return out.stack()
        return doubled

    check(make, [([1.0, 2.0, 3.0],)], grad=True)
