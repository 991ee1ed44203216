"""tapeflow/framework/tensor.py: the Tensor's Python protocol and printed forms, as TF's."""
import numpy as np
import pytest

import tapeflow as tf

PRINT_CASES = [
    lambda m: m.constant(6.0),
    lambda m: m.constant([1.5, -2.25]),
    lambda m: m.constant([[1, 2], [3, 4]]),
    lambda m: m.constant(True),
    lambda m: m.constant([True, False]),
    lambda m: m.constant(7, m.int64),
    lambda m: m.constant([0.1, 0.2], m.float64),
    lambda m: m.constant(0.5, m.float16),
    lambda m: m.constant(np.arange(3, dtype=np.uint8)),
    lambda m: m.zeros((2, 0)),
    lambda m: m.reshape(m.range(24, dtype=m.float32), (2, 3, 4)),
    lambda m: m.constant(4.1267757),
]


@pytest.mark.parametrize("case", range(len(PRINT_CASES)))
def test_str_and_repr_are_tensorflows(case, real_tf):
    mine, theirs = PRINT_CASES[case](tf), PRINT_CASES[case](real_tf)
    assert str(mine) == str(theirs)
    assert repr(mine) == repr(theirs)


def test_printed_forms_in_the_seed_programs():
    assert str(tf.constant(6.0)) == "tf.Tensor(6.0, shape=(), dtype=float32)"
    assert repr(tf.constant([4.1267757, -0.20443402])) == (
        "<tf.Tensor: shape=(2,), dtype=float32, numpy=array([ 4.1267757 , -0.20443402], "
        "dtype=float32)>")
    assert repr(tf.zeros((60000, 28, 28, 1)).shape) == "TensorShape([60000, 28, 28, 1])"
    assert str(tf.zeros((3, 2)).shape) == "(3, 2)"


def test_scalar_conversions_and_format():
    t = tf.constant(2.5)
    assert float(t) == 2.5 and int(t) == 2 and bool(t) is True
    assert f"{t:.3f}" == "2.500" and f"{tf.constant(7):04d}" == "0007"
    assert format(t) == str(t)
    assert [10, 20, 30][tf.constant(1)] == 20
    with pytest.raises(TypeError, match="integer"):
        [1, 2][tf.constant(1.0)]
    with pytest.raises(TypeError, match=r"size-1.*\(2,\)"):
        float(tf.constant([1.0, 2.0]))


def test_numpy_shape_dtype_and_array_protocol():
    t = tf.constant([[1.0, 2.0]])
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().dtype == np.float32
    assert t.shape == (1, 2) and t.shape == tf.TensorShape([1, 2]) and t.ndim == 2
    assert t.dtype == tf.float32 and t.dtype == np.float32 and t.dtype.name == "float32"
    np.testing.assert_array_equal(np.asarray(t), [[1.0, 2.0]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert isinstance(tf.constant(3.0).numpy(), np.float32)


def test_len_and_iteration_need_rank_one_or_more():
    with pytest.raises(TypeError, match="len"):
        len(tf.constant(1.0))
    with pytest.raises(TypeError, match="iterate"):
        iter(tf.constant(1.0))
    assert [float(v) for v in tf.constant([1.0, 2.0])] == [1.0, 2.0]


def test_tensors_are_unhashable_but_refable():
    t = tf.constant(1.0)
    with pytest.raises(TypeError, match="unhashable.*ref"):
        {t: 1}
    d = {t.ref(): "a"}
    assert d[t.ref()] == "a" and t.ref().deref() is t


def test_comparisons_and_equality_are_elementwise():
    a, b = tf.constant([1, 2, 3]), tf.constant([3, 2, 1])
    np.testing.assert_array_equal((a == b).numpy(), [False, True, False])
    np.testing.assert_array_equal((a != b).numpy(), [True, False, True])
    np.testing.assert_array_equal((a < b).numpy(), [True, False, False])
    assert (a == None) is False and (a != None) is True  # noqa: E711
    assert tf.is_tensor(a) and tf.is_tensor(tf.Variable(1.0)) and not tf.is_tensor(1.0)


def test_reflected_operators_with_python_and_numpy_operands():
    x = tf.constant([1.0, 2.0])
    np.testing.assert_array_equal((1.0 - x).numpy(), [0.0, -1.0])
    np.testing.assert_array_equal((2.0 / x).numpy(), [2.0, 1.0])
    np.testing.assert_array_equal((2.0 ** x).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal((np.float32(3.0) * x).numpy(), [3.0, 6.0])
    assert isinstance(np.float32(3.0) * x, tf.Tensor)
    np.testing.assert_array_equal(([[1.0, 1.0]] @ tf.reshape(x, (2, 1))).numpy(), [[3.0]])
    b = tf.constant([True, False])
    np.testing.assert_array_equal((b & True).numpy(), [True, False])
    np.testing.assert_array_equal((~b | b).numpy(), [True, True])


def test_eager_tensor_has_no_name_and_a_device():
    t = tf.constant(1.0)
    with pytest.raises(AttributeError, match="eager"):
        t.name
    assert t.device.endswith("CPU:0")


def test_np_array_copies_so_the_tensor_stays_immutable():
    t = tf.constant([1.0, 2.0])
    a = np.array(t)
    a[0] = 99.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    n = t.numpy()
    n[1] = 5.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])   # numpy() is a copy, as TF's
