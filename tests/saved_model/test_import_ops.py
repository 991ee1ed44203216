"""Each TensorFlow op of the reader's table, in functions TensorFlow 2.21 saved, run by
tapeflow and compared with TensorFlow's own loaded functions (values and gradients)."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.saved_model import import_ops


class _Ops:
    """The saved functions, written once against either framework's module `t`."""

    @staticmethod
    def elementwise(t, x, y):
        p = t.abs(x) + 0.5
        return {
            "add": x + y, "sub": x - y, "mul": x * y, "div": x / p, "neg": -x,
            "square": t.square(x), "sqrt": t.sqrt(p), "rsqrt": t.math.rsqrt(p),
            "exp": t.exp(x), "log": t.math.log(p), "pow": t.pow(p, y),
            "max": t.maximum(x, y), "min": t.minimum(x, y), "abs": t.abs(x),
            "tanh": t.tanh(x), "sigmoid": t.sigmoid(x), "relu": t.nn.relu(x),
            "relu6": t.nn.relu6(x * 4), "elu": t.nn.elu(x), "selu": t.nn.selu(x),
            "softplus": t.nn.softplus(x), "softmax": t.nn.softmax(x),
            "log_softmax": t.nn.log_softmax(x), "where": t.where(x > y, x, y),
            "logic": t.cast(t.logical_or(t.logical_and(x >= y, x <= 1.0),
                                         t.logical_not(t.not_equal(x, y))), t.float32)
            + t.cast(x < y, t.float32) + t.cast(t.equal(x, 0.25), t.float32),
        }

    @staticmethod
    def more_math(t, x):
        inside = x / 3.0        # in (-1, 1) for asin, acos, atanh
        return {
            "atan2": t.math.atan2(x, x + 2.0), "ceil": t.math.ceil(x), "rint": t.math.rint(x),
            "tan": t.math.tan(inside), "asin": t.math.asin(inside),
            "acos": t.math.acos(inside), "atan": t.math.atan(x), "sinh": t.math.sinh(x),
            "cosh": t.math.cosh(x), "asinh": t.math.asinh(x),
            "acosh": t.math.acosh(t.abs(x) + 1.0), "atanh": t.math.atanh(inside),
            "finite": t.math.is_finite(x / x), "inf": t.math.is_inf(1.0 / x),
            "nan": t.math.is_nan(x / x), "floor": t.floor(x), "sign": t.sign(x),
            "reciprocal": t.math.reciprocal(x + 3.0), "erf": t.math.erf(x),
            "log1p": t.math.log1p(t.abs(x)), "expm1": t.math.expm1(x), "sin": t.sin(x),
            "cos": t.cos(x), "round": t.round(x), "sqdiff": t.math.squared_difference(x, 1.0),
            "floordiv": t.math.floordiv(x, 0.7), "floormod": t.math.floormod(x, 0.7),
            "add_n": t.add_n([x, x, x]),
        }

    @staticmethod
    def shapes(t, x):
        b = t.shape(x)[0]
        r = t.reshape(x, [b, 2, 2])
        return {
            "reshape": r, "transpose": t.transpose(r, [0, 2, 1]),
            "concat": t.concat([x, x], axis=1), "stack": t.stack([x, x], axis=1),
            "unstack": t.unstack(r, axis=1)[1], "squeeze": t.squeeze(t.expand_dims(x, 1), [1]),
            "strided": x[:, 1:3], "reverse_stride": x[::-1, ::2], "last_row": x[-1],
            "ellipsis_new_axis": r[..., t.newaxis, 1], "negative_bounds": x[-2:, -3:-1],
            "slice": t.slice(x, [0, 1], [-1, 2]),
            "gather": t.gather(x, [3, 0], axis=1), "fill": t.fill([b, 2], 7.0),
            "zeros": t.zeros_like(x), "ones": t.ones_like(x), "cast": t.cast(x * 3, t.int32),
            "sum": t.reduce_sum(x, 1), "mean": t.reduce_mean(x, 0, keepdims=True),
            "max": t.reduce_max(x), "min": t.reduce_min(x, 1), "prod": t.reduce_prod(x, 1),
            "argmax": t.argmax(x, 1), "argmin": t.argmin(x, 0), "range": t.range(b),
            "tile": t.tile(x, [1, 2]), "batch_matmul": t.matmul(r, r),
            "matmul": t.matmul(x, x, transpose_b=True),
        }

    @staticmethod
    def conv(t, x):
        k = t.reshape(t.range(36, dtype=t.float32) / 36.0, [3, 3, 2, 2])
        c = t.nn.conv2d(x, k, strides=1, padding="SAME")
        return {"conv": c, "conv_strided": t.nn.conv2d(x, k, strides=2, padding="VALID"),
                "bias": t.nn.bias_add(c, [1.0, 2.0]), "max_pool": t.nn.max_pool2d(c, 2, 2, "VALID"),
                "avg_pool": t.nn.avg_pool2d(c, 3, 1, "SAME")}


@pytest.fixture(scope="module")
def ops_dir(real_tf, tmp_path_factory):
    t = real_tf
    module = t.Module()
    module.elementwise = t.function(lambda x, y: _Ops.elementwise(t, x, y), input_signature=[
        t.TensorSpec([2, 3], t.float32), t.TensorSpec([2, 3], t.float32)])
    module.more_math = t.function(lambda x: _Ops.more_math(t, x), input_signature=[
        t.TensorSpec([2, 3], t.float32)])
    module.shapes = t.function(lambda x: _Ops.shapes(t, x),
                               input_signature=[t.TensorSpec([None, 4], t.float32)])
    module.conv = t.function(lambda x: _Ops.conv(t, x),
                             input_signature=[t.TensorSpec([None, 6, 6, 2], t.float32)])

    def batch_norm(x):
        y, _, _ = t.compat.v1.nn.fused_batch_norm(
            x, t.constant([1.0, 2.0]), t.constant([0.1, 0.2]), t.constant([0.5, -0.5]),
            t.constant([2.0, 3.0]), is_training=False)
        return y
    module.batch_norm = t.function(batch_norm, input_signature=[
        t.TensorSpec([None, 3, 3, 2], t.float32)])
    module.batch_norm_training = t.function(lambda x: t.compat.v1.nn.fused_batch_norm(
        x, t.constant([1.0, 2.0]), t.constant([0.1, 0.2]), is_training=True),
        input_signature=[t.TensorSpec([None, 3, 3, 2], t.float32)])
    module.select = t.function(lambda x: t.raw_ops.Select(
        condition=t.reduce_sum(x, 1) > 0, x=x, y=-x), input_signature=[
        t.TensorSpec([None, 4], t.float32)])

    def control(x, n):
        y = t.cond(x > 0, lambda: x * 2.0, lambda: -x)
        acc = t.constant(0.0)
        for i in t.range(n):
            acc += t.cast(i, t.float32) * y
        return y, acc
    module.control = t.function(control, input_signature=[
        t.TensorSpec([], t.float32), t.TensorSpec([], t.int32)])
    def running_sum(x, n):
        acc = t.zeros_like(x[0])
        for i in t.range(n):
            acc += x[i] * t.cast(i + 1, t.float32)
        return acc
    module.running_sum = t.function(running_sum, input_signature=[
        t.TensorSpec([None, 3], t.float32), t.TensorSpec([], t.int32)])
    module.consts = t.function(lambda: (
        t.constant([1.5, -2.0], t.float16), t.constant([[1, 2], [3, 4]], t.int8),
        t.constant([200, 3], t.uint8), t.constant([True, False]), t.constant([2**40], t.int64),
        t.constant(3.25, t.float64), t.constant([b"ab", b"c"]),
        t.constant(np.arange(6, dtype=np.float32).reshape(2, 3)), t.constant([1 + 2j], t.complex64),
        t.constant([7, 8], t.uint16), t.constant([5], t.int16), t.zeros([2, 2], t.int32)),
        input_signature=[])
    module.table = t.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
    module.misc = t.function(lambda ids, x: {
        "embedding": t.nn.embedding_lookup(module.table, ids),
        "div_no_nan": t.math.divide_no_nan(x, x - 1.0), "where": t.where(x > 1.0),
        "reverse": t.reverse(x, [0]), "softsign": t.nn.softsign(x),
        "bilinear": t.image.resize(t.reshape(x, [1, 2, 2, 1]), [3, 3]),
        "nearest": t.image.resize(t.reshape(x, [1, 2, 2, 1]), [4, 4], method="nearest")},
        input_signature=[t.TensorSpec([3], t.int32), t.TensorSpec([4], t.float32)])
    module.more_nn = t.function(lambda x, labels: {
        "gather_nd": t.gather_nd(x, [[0, 1], [1, 2]]),
        "top_k": t.math.top_k(x, 2), "as_string": t.strings.as_string(labels),
        "xent": t.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x),
        "conv_transpose": t.nn.conv2d_transpose(
            t.reshape(x, [1, 2, 2, 2]), t.ones([2, 2, 3, 2]), [1, 4, 4, 3], 2),
        "filter_grad": t.compat.v1.nn.conv2d_backprop_filter(
            t.reshape(x, [1, 2, 2, 2]), [2, 2, 2, 1],
            t.ones([1, 1, 1, 1]), [1, 1, 1, 1], "VALID")},
        input_signature=[t.TensorSpec([2, 4], t.float32), t.TensorSpec([2], t.int32)])
    path = str(tmp_path_factory.mktemp("sm") / "ops")
    t.saved_model.save(module, path)
    return path


@pytest.fixture(scope="module")
def both(real_tf, ops_dir):
    return tf.saved_model.load(ops_dir), real_tf.saved_model.load(ops_dir)


def _flat_pair(value, expected):
    # top_k returns a namedtuple of two tensors: compare its values.
    if isinstance(value, tuple):
        return tf.stack([tf.cast(v, tf.float32) for v in value]), \
            np.stack([np.asarray(e, np.float32) for e in expected])
    return value, expected.numpy()


def _compare(got, expected, tol=1e-5):
    assert sorted(got) == sorted(expected) if isinstance(got, dict) else True
    items = got.items() if isinstance(got, dict) else enumerate(got)
    for key, value in items:
        value, e = _flat_pair(value, expected[key])
        assert isinstance(expected[key], tuple) or \
            value.dtype.name == expected[key].dtype.name, key
        if e.dtype == object:
            assert value.numpy().tolist() == e.tolist(), key
        else:
            np.testing.assert_allclose(value.numpy(), e, rtol=tol, atol=tol, err_msg=str(key))


def _same(both, name, *args, tol=1e-5):
    """Runs the saved function `name` in both frameworks and compares the results."""
    mine, theirs = both
    got, expected = getattr(mine, name)(*args), getattr(theirs, name)(*args)
    if not isinstance(got, (dict, list, tuple)):
        got, expected = [got], [expected]
    _compare(got, expected, tol=tol)


_X = np.array([[0.3, -1.2, 2.0], [0.25, 0.0, -0.7]], np.float32)
_Y = np.array([[0.3, 0.5, -1.0], [1.5, 0.0, 0.2]], np.float32)


def test_elementwise_ops_match_tensorflow(both):
    _same(both, "elementwise", _X, _Y)


def test_more_math_ops_match_tensorflow(both):
    _same(both, "more_math", _X)


def test_shape_and_reduction_ops_match_tensorflow(both):
    _same(both, "shapes", np.arange(12, dtype=np.float32).reshape(3, 4) / 5 - 1)


def test_convolution_and_pooling_ops_match_tensorflow(both):
    _same(both, "conv", np.random.RandomState(3).rand(2, 6, 6, 2).astype(np.float32), tol=1e-4)


def test_fused_batch_norm_inference_matches_tensorflow(both):
    x = np.random.RandomState(4).rand(2, 3, 3, 2).astype(np.float32)
    _same(both, "batch_norm", x, tol=1e-4)


def test_fused_batch_norm_training_reports_batch_moments_as_tensorflow(both):
    x = np.random.RandomState(5).rand(2, 3, 3, 2).astype(np.float32)
    _same(both, "batch_norm_training", x, tol=1e-4)


def test_select_with_a_vector_condition_picks_rows(both):
    _same(both, "select", np.array([[1.0, 2.0, 3.0, 4.0], [-5.0, 1.0, 1.0, 1.0]], np.float32))


@pytest.mark.parametrize("x,n", [(1.5, 4), (-2.0, 3), (0.5, 0)])
def test_if_and_while_match_tensorflow(both, x, n):
    _same(both, "control", np.float32(x), np.int32(n))


def test_resource_gather_resize_and_index_ops_match_tensorflow(both):
    _same(both, "misc", np.array([3, 0, 1], np.int32),
          np.array([0.5, 1.0, 2.0, 3.0], np.float32))


def test_top_k_strings_cross_entropy_and_conv_backprops_match_tensorflow(both):
    _same(both, "more_nn", np.array([[0.5, 2.0, -1.0, 3.0], [1.0, 0.0, 4.0, 2.0]], np.float32),
          np.array([3, 0], np.int32))


def test_constants_of_every_dtype_match_tensorflow(both):
    _same(both, "consts")


# No ties and no zeros: there the ops' subgradients (abs, relu, maximum) are conventions.
_GX = np.array([[0.3, -1.2, 2.0], [0.25, 0.1, -0.7]], np.float32)
_GY = np.array([[0.4, 0.5, -1.0], [1.5, -0.3, 0.2]], np.float32)


def test_gradient_through_elementwise_ops_matches_tensorflow(real_tf, both):
    mine, theirs = both
    x, y = tf.constant(_GX), tf.constant(_GY)
    with tf.GradientTape() as tape:
        tape.watch([x, y])
        loss = tf.add_n([tf.reduce_sum(v) for k, v in mine.elementwise(x, y).items()
                         if k != "logic"])
    got = tape.gradient(loss, [x, y])
    xr, yr = real_tf.constant(_GX), real_tf.constant(_GY)
    with real_tf.GradientTape() as tape:
        tape.watch([xr, yr])
        loss = real_tf.add_n([real_tf.reduce_sum(v) for k, v in
                              theirs.elementwise(xr, yr).items() if k != "logic"])
    expected = tape.gradient(loss, [xr, yr])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-4, atol=1e-4)


def test_gradient_through_a_loaded_while_loop_matches_tensorflow(real_tf, both):
    mine, theirs = both
    x = tf.constant(1.5)
    with tf.GradientTape() as tape:
        tape.watch(x)
        acc = mine.control(x, 4)[1]
    got = tape.gradient(acc, x)
    xr = real_tf.constant(1.5)
    with real_tf.GradientTape() as tape:
        tape.watch(xr)
        expected = theirs.control(xr, 4)[1]
    assert acc.numpy() == expected.numpy()
    np.testing.assert_allclose(got.numpy(), tape.gradient(expected, xr).numpy(), rtol=1e-5)


def test_output_index_of_multi_output_ops():
    rule = import_ops.OPS["FusedBatchNormV3"]
    assert rule.output_index("batch_variance", 0) == 2
    assert import_ops.OPS["Unpack"].output_index("output", 3) == 3


def test_while_with_a_traced_trip_count_becomes_a_tapeflow_loop(both):
    mine, theirs = both

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32)])
    def traced(x, n):
        return mine.control(x, n)
    for x, n in [(1.5, 4), (-2.0, 0)]:
        _compare(traced(np.float32(x), np.int32(n)), theirs.control(np.float32(x), np.int32(n)))


def test_slices_at_a_loop_index_known_only_when_run(both):
    mine, theirs = both
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32),
                                  tf.TensorSpec([], tf.int32)])
    def traced(x, n):
        return mine.running_sum(x, n)
    for n in (0, 2, 4):
        expected = theirs.running_sum(x, np.int32(n))
        _compare([mine.running_sum(x, np.int32(n))], [expected])
        _compare([traced(x, np.int32(n))], [expected])
