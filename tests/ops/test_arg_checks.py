"""Argument checks of the public ops (ops/_checks.py and each op's own), against TF 2.21.

Each case runs the same call on tapeflow and TensorFlow: where TF raises, tapeflow
must raise the same class of error, with a message naming the problem; where TF
returns, tapeflow returns the same value. These were silent wrong answers before
(an out-of-range axis wrapped around, integer division by zero gave 0, ...).
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.framework import errors


def _outcome(module, fn):
    try:
        return "ok", np.asarray(fn(module))
    except Exception as e:  # noqa: BLE001 -- the class is what is compared
        return type(e).__name__, str(e)


# (id, call, fragment of tapeflow's message). TF raises for all of these.
RAISING = [
    ("concat_axis_past_rank", lambda m: m.concat([m.ones((2, 3))] * 2, axis=2),
     "concatenating dimensions in the range [-2, 2), but got 2"),
    ("concat_axis_below_rank", lambda m: m.concat([m.ones((2, 3))] * 2, axis=-3), "got -3"),
    ("concat_scalars", lambda m: m.concat([m.constant(1.0), m.constant(2.0)], 0),
     "Can't concatenate scalars"),
    ("stack_axis_past_rank", lambda m: m.stack([m.ones((2, 3))] * 2, axis=3),
     "`axis` = 3 not in range [-3, 3)"),
    ("stack_axis_below_rank", lambda m: m.stack([m.ones((2, 3))] * 2, axis=-4), "= -4"),
    ("squeeze_axis_past_rank", lambda m: m.squeeze(m.ones((1, 3)), axis=2),
     "squeeze dim index 2"),
    ("gather_axis_past_rank", lambda m: m.gather(m.ones((2, 3)), [0], axis=2), "rank 3"),
    ("gather_axis_below_rank", lambda m: m.gather(m.ones((2, 3)), [0], axis=-3), "rank 3"),
    ("gather_batch_dims_mismatch",
     lambda m: m.gather(m.ones((2, 3, 4)), m.zeros((3, 1), m.int32), batch_dims=1),
     "params.shape[0]: 2 should be equal to indices.shape[0]: 3"),
    ("gather_batch_dims_past_indices_rank",
     lambda m: m.gather(m.ones((2, 3)), m.zeros((2,), m.int32), batch_dims=2), ""),
    ("gather_batch_dims_after_axis",
     lambda m: m.gather(m.ones((2, 3, 4)), m.zeros((2, 2), m.int32), batch_dims=2, axis=1),
     "batch_dims (2) must be less than or equal to axis (1)"),
    ("reverse_axis_past_rank", lambda m: m.reverse(m.ones((2, 3)), [2]), "out of valid range"),
    ("reverse_duplicate_axis", lambda m: m.reverse(m.ones((2, 3)), [0, -2]),
     "axis 0 specified more than once"),
    ("split_axis_past_rank", lambda m: m.split(m.ones((2, 3)), 1, axis=2), "but got 2"),
    ("int32_floordiv_by_zero", lambda m: m.constant([1, 2]) // m.constant([0, 1]),
     "Integer division by zero"),
    ("int32_floormod_by_zero", lambda m: m.constant([1, 2]) % m.constant([0, 1]),
     "Integer division by zero"),
    ("int64_floordiv_by_zero",
     lambda m: m.math.floordiv(m.constant([1], m.int64), m.constant([0], m.int64)),
     "Integer division by zero"),
    ("uint8_floordiv_by_zero", lambda m: m.constant([1], m.uint8) // m.constant([0], m.uint8),
     "Integer division by zero"),
    ("one_hot_negative_depth", lambda m: m.one_hot([0, 1], -1), "depth must be non-negative"),
    ("slice_size_past_end", lambda m: m.slice(m.ones((2, 3)), [0, 1], [2, 3]),
     "Expected size[1] in [0, 2], but got 3"),
    ("slice_negative_begin", lambda m: m.slice(m.ones((2, 3)), [-1, 0], [1, 1]),
     "Expected begin[0] in [0, 2], but got -1"),
    ("slice_begin_and_size_of_wrong_length", lambda m: m.slice(m.ones((2, 3)), [0], [1]),
     "size 2"),
    ("boolean_mask_shorter_mask", lambda m: m.boolean_mask(m.ones((2, 3)), [True, False, True]),
     "Shapes (2,) and (3,) are incompatible"),
    ("boolean_mask_2d_mask_of_wrong_shape",
     lambda m: m.boolean_mask(m.ones((2, 3)), [[True, False]]), "incompatible"),
    ("boolean_mask_scalar_mask", lambda m: m.boolean_mask(m.ones((2, 3)), True),
     "mask cannot be scalar"),
    ("gather_nd_negative_batch_dims",
     lambda m: m.gather_nd(m.ones((2, 3)), m.zeros((2, 1), m.int32), batch_dims=-1),
     "negative batch_dims"),
    ("gather_nd_batch_dims_equal_to_indices_rank",
     lambda m: m.gather_nd(m.ones((2, 3)), m.zeros((2,), m.int32), batch_dims=1),
     "must be less than rank(`indices`)"),
    ("reduce_sum_duplicate_axes", lambda m: m.reduce_sum(m.ones((2, 3)), axis=[0, 0]),
     "Axes contains duplicate dimension: 0"),
    ("reduce_max_duplicate_axes_negative", lambda m: m.reduce_max(m.ones((2, 3)), axis=[1, -1]),
     "duplicate dimension: 1"),
    ("zeros_of_float_shape", lambda m: m.zeros([2.5]), "dtype int32"),
    ("ones_of_integral_float_shape", lambda m: m.ones([2.0, 3]), "dtype int32"),
    ("ones_negative_dim", lambda m: m.ones([-1, 3]), "Dimension -1 must be >= 0"),
    ("zeros_negative_dim", lambda m: m.zeros([2, -3]), "Dimension -3 must be >= 0"),
    ("fill_negative_dim", lambda m: m.fill([-2], 1.0), "Dimension -2 must be >= 0"),
    ("reshape_to_float_shape", lambda m: m.reshape(m.ones((2, 3)), [3.0, 2]), "int32, int64"),
    ("random_uniform_int_empty_range",
     lambda m: m.random.uniform((4,), minval=5, maxval=1, dtype=m.int32),
     "Need minval < maxval"),
    ("conv2d_stride_zero",
     lambda m: m.nn.conv2d(m.ones((1, 4, 4, 1)), m.ones((2, 2, 1, 1)), strides=0,
                           padding="VALID"), "Stride must be > 0"),
    ("max_pool_stride_zero",
     lambda m: m.nn.max_pool2d(m.ones((1, 4, 4, 1)), 2, strides=0, padding="VALID"),
     "Stride must be > 0"),
    ("avg_pool_stride_zero",
     lambda m: m.nn.avg_pool2d(m.ones((1, 4, 4, 1)), 2, strides=0, padding="VALID"),
     "Stride must be > 0"),
    ("max_pool_window_zero",
     lambda m: m.nn.max_pool2d(m.ones((1, 4, 4, 1)), 0, strides=1, padding="VALID"), "ksize"),
]


@pytest.mark.parametrize("call, fragment", [c[1:] for c in RAISING], ids=[c[0] for c in RAISING])
def test_raises_as_tensorflow_does(real_tf, call, fragment):
    want, _ = _outcome(real_tf, call)
    got, message = _outcome(tf, call)
    assert want != "ok", "TF accepts this call; the case is wrong"
    assert got == want, f"tapeflow: {got}: {message}"
    assert fragment in message


# Calls TF accepts: tapeflow must give the same values (these were errors or wrong values).
AGREEING = [
    ("stack_on_last_new_axis", lambda m: m.stack([m.ones((2, 3))] * 2, axis=2)),
    ("gather_nd_with_batch_dims",
     lambda m: m.gather_nd(m.reshape(m.range(24.0), (2, 3, 4)),
                           m.constant([[[1], [0]], [[2], [1]]]), batch_dims=1)),
    ("gather_nd_batch_dims_two",
     lambda m: m.gather_nd(m.reshape(m.range(24.0), (2, 3, 4)),
                           m.constant([[[1], [0], [3]], [[2], [1], [0]]]), batch_dims=2)),
    ("gather_explicit_axis_zero_ignores_batch_dims",
     lambda m: m.gather(m.reshape(m.range(24.0), (2, 3, 4)), m.constant([[0, 1], [1, 0]]),
                        batch_dims=1, axis=0)),
    ("gather_negative_batch_dims",
     lambda m: m.gather(m.reshape(m.range(24.0), (2, 3, 4)), m.constant([[0, 2, 1], [1, 0, 0]]),
                        batch_dims=-1)),
    ("boolean_mask_along_axis_one",
     lambda m: m.boolean_mask(m.reshape(m.range(24.0), (2, 3, 4)), [True, False, True], axis=1)),
    ("boolean_mask_2d_mask_along_axis_one",
     lambda m: m.boolean_mask(m.reshape(m.range(24.0), (2, 3, 4)),
                              m.constant([[True, False, True, True]] * 3), axis=1)),
    ("slice_to_the_end_with_minus_one", lambda m: m.slice(m.ones((2, 3)), [1, 1], [-1, -1])),
    ("reduce_mean_of_empty_int", lambda m: m.reduce_mean(m.zeros((0,), m.int32))),
    ("reduce_mean_of_empty_float", lambda m: m.reduce_mean(m.zeros((0, 2)), axis=0)),
    ("reduce_max_of_empty_float", lambda m: m.reduce_max(m.zeros((0,)))),
    ("reduce_min_of_empty_float", lambda m: m.reduce_min(m.zeros((0,)))),
    ("reduce_max_of_empty_int", lambda m: m.reduce_max(m.zeros((0,), m.int32))),
    ("reduce_min_of_empty_int", lambda m: m.reduce_min(m.zeros((0,), m.int32))),
    ("reduce_max_of_empty_uint8", lambda m: m.reduce_max(m.zeros((0,), m.uint8))),
    ("reduce_min_of_empty_uint8", lambda m: m.reduce_min(m.zeros((0,), m.uint8))),
    ("reduce_max_of_empty_axis", lambda m: m.reduce_max(m.zeros((0, 3)), axis=0)),
    ("one_hot_depth_zero", lambda m: m.one_hot([0, 1], 0)),
    ("float_floordiv_by_zero_is_inf", lambda m: m.constant([1.0, -1.0]) // m.constant(0.0)),
]


@pytest.mark.parametrize("call", [c[1] for c in AGREEING], ids=[c[0] for c in AGREEING])
def test_agrees_with_tensorflow(real_tf, call):
    want, want_value = _outcome(real_tf, call)
    got, got_value = _outcome(tf, call)
    assert (got, want) == ("ok", "ok"), (got, got_value, want, want_value)
    assert got_value.dtype == want_value.dtype and got_value.shape == want_value.shape
    np.testing.assert_array_equal(got_value, want_value)


def _where_sqrt_gradient(m, fn):
    x = m.constant([0.0, 4.0])
    with m.GradientTape() as tape:
        tape.watch(x)
        y = m.where(x > 0, fn(x), 0.0)
    return tape.gradient(y, x).numpy()


@pytest.mark.parametrize("name", ["sqrt", "rsqrt"])
def test_sqrt_gradient_at_zero_with_zero_incoming_gradient_is_zero(real_tf, name):
    got = _where_sqrt_gradient(tf, getattr(tf.math, name))
    want = _where_sqrt_gradient(real_tf, getattr(real_tf.math, name))
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_sqrt_gradient_at_zero_with_nonzero_incoming_gradient_is_inf():
    x = tf.constant([0.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.sqrt(x)
    assert np.isposinf(tape.gradient(y, x).numpy()).all()


def test_random_uniform_with_minval_above_maxval_draws_between_them(real_tf):
    got = tf.random.uniform((2000,), minval=5.0, maxval=1.0, seed=3).numpy()
    want = real_tf.random.uniform((2000,), minval=5.0, maxval=1.0, seed=3).numpy()
    for v in (got, want):        # (1, 5], spread over the interval (TF's draws likewise)
        assert v.min() > 1.0 and v.max() <= 5.0 and v.std() > 0.9
    assert got.dtype == want.dtype


def test_tape_reset_outside_the_with_block_raises():
    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(ValueError, match="Tape is not recording"):
        tape.reset()
    assert float(tape.gradient(y, x)) == 2.0       # the failed reset cleared nothing


def test_tape_reset_on_a_tape_never_entered_raises():
    with pytest.raises(ValueError, match="Tape is not recording"):
        tf.GradientTape().reset()


@pytest.mark.parametrize("upstream", [[1.0, 1.0, 1.0], 3.0, [[1.0, 3.0]]],
                         ids=["longer", "scalar", "extra_axis"])
def test_output_gradients_of_another_shape_raise(upstream):
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises(ValueError, match=r"output_gradients\[0\] has shape"):
        tape.gradient(y, x, output_gradients=tf.constant(upstream))


def test_output_gradients_of_the_target_shape_weight_it():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    g = tape.gradient(y, x, output_gradients=tf.constant([1.0, -3.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, -6.0])


def test_gather_nd_batch_dims_gradient_reaches_the_gathered_rows():
    p = tf.Variable(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.gather_nd(p, [[[1], [1]], [[2], [0]]], batch_dims=1))
    g = tape.gradient(y, p).numpy()
    want = np.zeros((2, 3, 4), np.float32)
    want[0, 1] = 2.0
    want[1, 2] = want[1, 0] = 1.0
    np.testing.assert_array_equal(g, want)


def test_keras_concatenate_axis_out_of_range_raises_naming_the_layer():
    a = tf.keras.Input((3,))
    with pytest.raises(ValueError, match=r'Concatenate layer "cat".*axis=2.*rank 2'):
        tf.keras.layers.Concatenate(axis=2, name="cat")([a, a])


def test_keras_concatenate_eager_axis_out_of_range_raises():
    with pytest.raises(ValueError, match="out of range"):
        tf.keras.layers.Concatenate(axis=-3)([tf.ones((2, 3)), tf.ones((2, 3))])


def test_integer_division_by_zero_inside_tf_function_raises():
    @tf.function
    def f(a, b):
        return a // b
    with pytest.raises(errors.InvalidArgumentError, match="Integer division by zero"):
        f(tf.constant([4, 2]), tf.constant([2, 0]))
