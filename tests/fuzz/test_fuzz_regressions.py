"""Disagreements with TF 2.21 that the fuzz suite found, kept as fixed cases.

Each case is the shrunk example Hypothesis reported (call and inputs), checked
with the same harness: tapeflow and TF both raise, or agree on values and
gradients. One case per disagreement that was fixed in tapeflow.
"""
import fuzz_harness
import numpy as np
import pytest

import tapeflow as tf


def _f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _i32(values):
    return np.asarray(values, np.int32)


CASES = [
    ("clip_by_value_min_above_max_gives_min",
     lambda m, x: m.clip_by_value(x, 1.0, 0.0), [np.zeros((), np.float32)]),
    ("concat_of_one_tensor_is_unchecked", lambda m, x: m.concat([x], axis=0),
     [np.float32(0.5)]),
    ("gather_with_an_empty_result_reads_no_index", lambda m, p, i: m.gather(p, i),
     [np.zeros((0, 0), np.float32), _i32(0)]),
    ("gather_batch_dims_on_an_empty_batch", lambda m, p, i: m.gather(p, i, batch_dims=1),
     [np.zeros((0, 0), np.float32), np.zeros((0,), np.int32)]),
    ("gather_nd_negative_index_raises", lambda m, p, i: m.gather_nd(p, i),
     [_f32(1), _i32([-1])]),
    ("argmax_of_a_scalar_raises", lambda m, x: m.math.argmax(x, axis=0), [np.float32(1.0)]),
    ("atan2_of_integers_raises", lambda m, a, b: m.math.atan2(a, b), [_i32(1), _i32(1)]),
    ("cumsum_of_a_scalar_raises", lambda m, x: m.math.cumsum(x, axis=0), [np.float32(1.0)]),
    ("exclusive_cumsum_of_empty", lambda m, x: m.math.cumsum(x, exclusive=True),
     [np.zeros((0,), np.float32)]),
    ("divide_no_nan_of_integers_gives_float64", lambda m, a, b: m.math.divide_no_nan(a, b),
     [_i32([3, 4, 1]), _i32([2, 0, -1])]),
    ("floormod_by_zero_with_an_empty_result", lambda m, a, b: m.math.floormod(a, b),
     [np.zeros((0,), np.int32), _i32(0)]),
    ("multiply_no_nan_of_integers_raises", lambda m, a, b: m.math.multiply_no_nan(a, b),
     [_i32(4), _i32(4)]),
    ("reciprocal_no_nan_of_integers_raises", lambda m, x: m.math.reciprocal_no_nan(x),
     [_i32(4)]),
    ("euclidean_norm_of_integers_is_an_integer",
     lambda m, x: m.math.reduce_euclidean_norm(x), [_i32([3, 4, 1])]),
    ("variance_of_integers_raises", lambda m, x: m.math.reduce_variance(x), [_i32([1, 2])]),
    ("std_of_integers_raises", lambda m, x: m.math.reduce_std(x), [_i32([1, 2])]),
    ("logsumexp_over_no_axes_reduces_nothing",
     lambda m, x: m.math.reduce_logsumexp(x, axis=[]), [_f32(1)]),
    ("softsign_of_integers_raises", lambda m, x: m.math.softsign(x), [_i32(3)]),
    ("bias_add_on_a_vector_raises", lambda m, x, b: m.nn.bias_add(x, b),
     [np.zeros((0,), np.float32), np.zeros((0,), np.float32)]),
    ("softmax_of_empty_is_empty", lambda m, x: m.nn.softmax(x, axis=0),
     [np.zeros((0,), np.float32)]),
    ("softmax_axis_out_of_range_raises_even_when_empty", lambda m, x: m.nn.softmax(x, axis=1),
     [np.zeros((0,), np.float32)]),
    ("range_with_delta_of_the_wrong_sign_raises", lambda m: m.range(0, -1, 1), []),
    ("repeat_axis_out_of_range_raises", lambda m, x: m.repeat(x, 0, axis=1),
     [np.zeros((0,), np.float32)]),
    ("reshape_empty_to_zero_and_minus_one", lambda m, x: m.reshape(x, [0, -1]),
     [np.zeros((0,), np.float32)]),
    ("reshape_empty_keeps_nonzero_sizes_for_minus_one", lambda m, x: m.reshape(x, [0, -1]),
     [np.zeros((0, 2), np.float32)]),
    ("reverse_of_empty_is_unchecked", lambda m, x: m.reverse(x, [0, 0]),
     [np.zeros((0,), np.float32)]),
    ("sort_along_the_first_axis", lambda m, x: m.sort(x, axis=0), [_f32(3, 2)]),
    ("argsort_along_a_middle_axis_descending",
     lambda m, x: m.argsort(x, axis=1, direction="DESCENDING"), [_f32(2, 3, 2)]),
    ("squeeze_with_an_empty_axis_list_squeezes_all", lambda m, x: m.squeeze(x, axis=[]),
     [_f32(1)]),
    ("squeeze_a_repeated_axis", lambda m, x: m.squeeze(x, axis=[0, 0]), [_f32(1)]),
    ("unstack_a_length_one_axis", lambda m, x: m.unstack(x, axis=0), [_f32(1)]),
    ("unstack_a_length_one_axis_gradient", lambda m, x: m.unstack(x, axis=0), [_f32(1, 1)]),
    ("split_into_one_part", lambda m, x: m.split(x, 1, axis=0), [np.zeros((0,), np.float32)]),
    ("split_one_size_of_minus_one_raises", lambda m, x: m.split(x, [-1], axis=0), [_f32(3)]),
    ("split_sizes_past_the_dimension_raise", lambda m, x: m.split(x, [1, -1], axis=0),
     [np.zeros((0,), np.float32)]),
    ("fill_with_float_dims_raises", lambda m: m.fill([1.0], 1.5), []),
    ("random_uniform_with_float_dims_raises", lambda m: m.random.uniform([2.0]), []),
    ("random_normal_of_an_integer_dtype_raises",
     lambda m: m.random.normal([2], dtype=m.int32), []),
    ("leaky_relu_of_integers_is_float32", lambda m, x: m.nn.leaky_relu(x), [_i32([3, -4])]),
    ("leaky_relu_float64_uses_float32_alpha", lambda m, x: m.nn.leaky_relu(x),
     [np.array([0.4, -1.0])]),
    ("softmax_xent_labels_broadcast_over_logits",
     lambda m, lab, lo: m.nn.softmax_cross_entropy_with_logits(labels=lab, logits=lo),
     [np.ones((1,), np.float32), _f32(1, 1)]),
    ("softmax_xent_logits_broadcast_to_labels",
     lambda m, lab, lo: m.nn.softmax_cross_entropy_with_logits(labels=lab, logits=lo),
     [np.full((2,), 0.5, np.float32), _f32(1)]),
    ("softmax_xent_labels_with_a_larger_batch_raise",
     lambda m, lab, lo: m.nn.softmax_cross_entropy_with_logits(labels=lab, logits=lo),
     [np.full((2, 3), 1 / 3, np.float32), _f32(1, 3)]),
    ("softmax_xent_labels_flattened_before_broadcasting",
     lambda m, lab, lo: m.nn.softmax_cross_entropy_with_logits(labels=lab, logits=lo),
     [np.ones((2, 1), np.float32), _f32(2, 1, 1)]),
    ("unsorted_segment_sum_of_no_data_reads_no_id",
     lambda m, x, i: m.math.unsorted_segment_sum(x, i, 0),
     [np.zeros((1, 0), np.float32), _i32([3])]),
    ("random_uniform_int_of_no_elements_is_unchecked",
     lambda m: m.random.uniform([0], minval=0, maxval=0, dtype=m.int32), []),
    ("reflect_padding_as_large_as_the_dimension_raises",
     lambda m, x: m.pad(x, [[0, 1]], mode="REFLECT"), [_f32(1)]),
    ("symmetric_padding_as_large_as_the_dimension",
     lambda m, x: m.pad(x, [[0, 1]], mode="SYMMETRIC"), [_f32(1)]),
    ("negative_padding_raises", lambda m, x: m.pad(x, [[-1, 0]]), [_f32(3)]),
    ("add_n_of_different_shapes_raises", lambda m, a, b: m.add_n([a, b]),
     [np.zeros((0,), np.float32), np.float32(1.0)]),
    ("sigmoid_xent_labels_of_another_shape_raise",
     lambda m, lab, lo: m.nn.sigmoid_cross_entropy_with_logits(labels=lab, logits=lo),
     [np.full((1,), 0.5, np.float32), _f32(1, 1)]),
]


@pytest.mark.parametrize("call, arrays", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fixed_disagreement(real_tf, call, arrays):
    fuzz_harness.check(call, arrays, real_tf, tf)


@pytest.mark.xfail(reason="acosh's gradient rule uses x (finite below -1) where TF's uses "
                          "sinh(acosh(x)) (NaN); a gradient-rule change, left to the op "
                          "restructuring", strict=False)
def test_acosh_gradient_below_minus_one(real_tf):
    fuzz_harness.check(lambda m, x: m.math.acosh(x), [np.float32(-2.5)], real_tf, tf)
