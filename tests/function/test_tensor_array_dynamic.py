"""TensorArrays inside tf.function whose size (and element shape) are known only at run
time: written in AutoGraph loops, read back, gathered, concatenated, unstacked and
differentiated; against known values and TF."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

X = np.arange(6, dtype=np.float32).reshape(2, 3)


def _row_sums(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0])
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, tf.reduce_sum(a[i]))
        return arr.stack()
    return f


def _read_back(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0])
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, a[i] * 2.0)
        return arr.stack(), arr.size(), arr.read(1), arr.gather([1, 0]), arr.concat()
    return f


def _dynamic(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0] - 1, dynamic_size=True)
        for i in tf.range(tf.shape(a)[0] + 1):
            arr = arr.write(i, a[i % 2, :2])
        return arr.stack(), arr.size()
    return f


def _element_shape_given(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0], element_shape=[3])
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, tf.reverse(a[i], [0]))
        return arr.stack()
    return f


def _read_in_loop(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0], clear_after_read=False)
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, a[i] + 1.0)
        total = tf.zeros([3])
        for i in tf.range(arr.size()):
            total += arr.read(i) * tf.cast(i + 1, tf.float32)
        return total
    return f


def _unstacked(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0]).unstack(a)
        out = tf.TensorArray(tf.float32, size=arr.size())
        for i in tf.range(arr.size()):
            out = out.write(i, tf.reduce_max(arr.read(i)))
        grown = tf.TensorArray(tf.float32, size=0, dynamic_size=True).unstack(a)
        return out.stack(), arr.stack(), arr.read(0), grown.gather([1]), grown.concat()
    return f


def _scattered(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0])
        return arr.scatter(tf.range(tf.shape(a)[0])[::-1], a).stack()
    return f


def _in_cond(tf):
    def f(a):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0])
        for i in tf.range(tf.shape(a)[0]):
            if i > 0:
                arr = arr.write(i, a[i])
            else:
                arr = arr.write(i, -a[i])
        return arr.stack()
    return f


def _outside_loop(tf):
    def f(a):
        return tf.TensorArray(tf.float32, size=tf.shape(a)[0]).write(0, a[0]).stack()
    return f


CASES = {
    "row_sums": (_row_sums, [[3.0, 12.0]]),
    "read_back": (_read_back, [[[0, 2, 4], [6, 8, 10]], 2, [6, 8, 10], [[6, 8, 10], [0, 2, 4]],
                               [0, 2, 4, 6, 8, 10]]),
    "dynamic": (_dynamic, [[[0, 1], [3, 4], [0, 1]], 3]),
    "element_shape_given": (_element_shape_given, [[[2, 1, 0], [5, 4, 3]]]),
    "read_in_loop": (_read_in_loop, [[9, 12, 15]]),
    "unstacked": (_unstacked, [[2, 5], X, [0, 1, 2], [[3, 4, 5]], [0, 1, 2, 3, 4, 5]]),
    "scattered": (_scattered, [X[::-1]]),
    "in_cond": (_in_cond, [[[0, -1, -2], [3, 4, 5]]]),
    "outside_loop": (_outside_loop, [[[0, 1, 2], [0, 0, 0]]]),
}
SPEC = [tf.TensorSpec([None, 3], tf.float32)]


def _outputs(r):
    return [np.asarray(v) for v in (r if isinstance(r, (tuple, list)) else [r])]


@pytest.mark.parametrize("name", sorted(CASES))
def test_known_values(name):
    make, want = CASES[name]
    got = _outputs(tf.function(make(tf), input_signature=SPEC)(tf.constant(X)))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, np.asarray(w, np.float32 if g.dtype.kind == "f"
                                                    else g.dtype))


@pytest.mark.parametrize("rows", [0, 2, 5])
@pytest.mark.parametrize("name", sorted(set(CASES) - {"read_back", "outside_loop", "unstacked",
                                                      "dynamic"}))
def test_equal_tfs(name, rows, real_tf):
    x = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)
    make = CASES[name][0]
    ours = tf.function(make(tf), input_signature=SPEC)(tf.constant(x))
    theirs = real_tf.function(make(real_tf), input_signature=[
        real_tf.TensorSpec([None, 3], real_tf.float32)])(real_tf.constant(x))
    for a, b in zip(_outputs(ours), _outputs(theirs)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("name", ["read_back", "outside_loop", "unstacked", "dynamic"])
def test_equal_tfs_with_rows(name, real_tf):
    # (these read rows 0 and 1 by number: they need at least two)
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    make = CASES[name][0]
    ours = tf.function(make(tf), input_signature=SPEC)(tf.constant(x))
    theirs = real_tf.function(make(real_tf), input_signature=[
        real_tf.TensorSpec([None, 3], real_tf.float32)])(real_tf.constant(x))
    for a, b in zip(_outputs(ours), _outputs(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _partial(tf):
    def f(a, n):
        arr = tf.TensorArray(tf.float32, size=tf.shape(a)[0])
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, a[i, :n])
        return arr.stack()
    return f


def test_element_shape_known_only_at_run_time(real_tf):
    f = tf.function(_partial(tf), input_signature=SPEC + [tf.TensorSpec([], tf.int32)])
    np.testing.assert_array_equal(f(tf.constant(X), tf.constant(2)).numpy(), [[0, 1], [3, 4]])
    g = real_tf.function(_partial(real_tf), input_signature=[
        real_tf.TensorSpec([None, 3]), real_tf.TensorSpec([], real_tf.int32)])
    for n in (0, 1, 3):
        np.testing.assert_array_equal(f(tf.constant(X), tf.constant(n)).numpy(),
                                      g(real_tf.constant(X), real_tf.constant(n)).numpy())


def test_static_size_with_partly_known_element_shape():
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def f(a):
        arr = tf.TensorArray(tf.float32, size=2)
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, a[i])
        return arr.stack()

    np.testing.assert_array_equal(f(tf.constant(X)).numpy(), X)


def test_stacking_with_no_element_shape_and_no_write_is_an_error():
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def f(a):
        return tf.TensorArray(tf.float32, size=tf.shape(a)[0]).stack()

    with pytest.raises(tf.errors.InvalidArgumentError, match="no element shape"):
        f(tf.constant(X))


def _loss(tf, dynamic):
    def f(a):
        with tf.GradientTape() as tape:
            tape.watch(a)
            size = 0 if dynamic else tf.shape(a)[0]
            arr = tf.TensorArray(a.dtype, size=size, dynamic_size=dynamic)
            for i in tf.range(tf.shape(a)[0]):
                arr = arr.write(i, tf.sin(a[i]) * a[i])
            y = tf.reduce_sum(arr.stack() ** 2)
        return y, tape.gradient(y, a)
    return f


@pytest.mark.parametrize("dynamic", [False, True])
def test_gradients_equal_tfs(dynamic, real_tf):
    x = np.arange(6, dtype=np.float64).reshape(2, 3) / 5.0
    ours = tf.function(_loss(tf, dynamic), input_signature=[
        tf.TensorSpec([None, 3], tf.float64)])(tf.constant(x))
    theirs = real_tf.function(_loss(real_tf, dynamic), input_signature=[
        real_tf.TensorSpec([None, 3], real_tf.float64)])(real_tf.constant(x))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dynamic", [False, True])
def test_gradients_first_and_second_order(dynamic):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float64)])
    def f(a):
        arr = tf.TensorArray(tf.float64, size=0 if dynamic else tf.shape(a)[0],
                             dynamic_size=dynamic)
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, tf.sin(a[i]) * a[i])
        return arr.stack()

    check_gradients(f, [np.arange(6, dtype=np.float64).reshape(2, 3) / 5.0], order=2)


def test_gradients_through_a_run_time_element_shape():
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float64)])
    def f(a):
        arr = tf.TensorArray(tf.float64, size=tf.shape(a)[0])
        for i in tf.range(tf.shape(a)[0]):
            arr = arr.write(i, tf.sin(a[i]) * a[i])
        return arr.stack()

    check_gradients(f, [np.arange(6, dtype=np.float64).reshape(2, 3) / 5.0], order=2)


def test_fit_and_match_rules_eagerly(rng):
    # The two helper ops of a run-time element shape, differentiated directly: where the
    # buffer already has the value's shape, Fit passes it through and its gradient (Match)
    # passes dy through; Match's own rule is Match again (second order).
    from tapeflow.framework.op import as_input, execute
    from tapeflow.function import tensor_array as ta
    value = tf.constant(np.zeros(3))

    def f(buf):
        out = execute(ta._FIT, (as_input(buf), value))
        return out * out
    check_gradients(f, [rng.normal(size=(2, 3))], order=2)
    dy = tf.constant(np.ones((2, 4)))
    np.testing.assert_array_equal(execute(ta._MATCH, (dy, tf.constant(np.zeros((2, 0))))).numpy(),
                                  np.zeros((2, 0)))
