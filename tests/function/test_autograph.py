"""AutoGraph in tf.function: each construct beside TensorFlow (values, gradients, traces)."""
import numpy as np
import pytest

import tapeflow as tf
from tests.function.autograph_parity import check, real_tf

# -- if ---------------------------------------------------------------------------------------

def test_if_else_on_a_tensor_builds_one_trace_for_both_branches():
    def make(tf):
        @tf.function
        def f(x):
            if tf.reduce_sum(x) > 0:
                y = x * x
            else:
                y = -3.0 * x
            return y
        return f

    _values, grads, traces = check(make, [([1.5, 2.0],), ([-1.0, -2.0],)], grad=True)
    assert traces == 1
    np.testing.assert_allclose(grads[1], [-3.0, -3.0])


def test_elif_chain_on_tensors():
    def make(tf):
        @tf.function
        def sign_name(x):
            if x > 0:
                code = 1
            elif x < 0:
                code = -1
            else:
                code = 0
            return code
        return sign_name

    values, _, traces = check(make, [(2.0,), (-4.0,), (0.0,)])
    assert [int(v) for v in values] == [1, -1, 0] and traces == 1


def test_if_on_a_python_value_is_decided_at_trace_time():
    def make(tf):
        @tf.function
        def f(x, square):
            if square:
                x = x * x
            return x + 1.0
        return f

    for fw in [tf] + ([real_tf] if real_tf else []):
        f = make(fw)
        assert float(f(fw.constant(3.0), True)) == 10.0
        assert float(f(fw.constant(3.0), False)) == 4.0
        assert f.experimental_get_tracing_count() == 2


def test_if_without_else_keeps_the_value_from_before():
    def make(tf):
        @tf.function
        def f(x):
            y = x
            if x > 2.0:
                y = x * 10.0
            return y
        return f

    check(make, [(1.0,), (3.0,)], grad=True)


# -- while -----------------------------------------------------------------------------------

def test_while_on_a_tensor_condition_with_gradient():
    def make(tf):
        @tf.function
        def power(x, n):
            y = tf.ones_like(x)
            i = 0
            while i < n:
                y = y * x
                i += 1
            return y
        return power

    _values, grads, traces = check(make, [(1.5, 3), (2.0, 4)], grad=True)
    np.testing.assert_allclose(grads, [3 * 1.5 ** 2, 4 * 2.0 ** 3], rtol=1e-6)
    assert traces == 1


def test_while_on_python_values_unrolls():
    def make(tf):
        @tf.function
        def f(x):
            k = 0
            while k < 3:
                x = x * 2.0
                k += 1
            return x
        return f

    check(make, [(1.0,), (5.0,)], grad=True)


# -- for ----------------------------------------------------------------------------------------

def test_for_over_tf_range_with_a_traced_bound():
    def make(tf):
        @tf.function
        def f(x, n):
            total = tf.zeros_like(x)
            for i in tf.range(n):
                total += x * tf.cast(i, tf.float32)
            return total
        return f

    _values, grads, traces = check(make, [(2.0, 4), (3.0, 10)], grad=True)
    assert traces == 1
    np.testing.assert_allclose(grads, [6.0, 45.0])


def test_for_over_a_tensor_iterates_its_first_axis():
    def make(tf):
        @tf.function
        def f(m):
            acc = tf.zeros([2])
            for row in m:
                acc = acc * 0.5 + row
            return acc
        return f

    check(make, [(np.arange(6, dtype=np.float32).reshape(3, 2),)], grad=True)


def test_for_over_a_python_range_unrolls():
    def make(tf):
        @tf.function
        def f(x):
            for k in range(1, 4):
                x = x + float(k)
            return x
        return f

    check(make, [(0.5,)], grad=True)


def test_for_over_a_dataset_reads_it_each_call():
    def make(tf):
        @tf.function
        def total(ds):
            s = tf.constant(0, tf.int64)
            for v in ds:
                s += v
            return s
        return total

    for fw in [tf] + ([real_tf] if real_tf else []):
        f = make(fw)
        ds = fw.data.Dataset.range(6)
        assert int(f(ds)) == 15 and int(f(ds)) == 15


def test_for_over_a_batched_dataset_of_pairs():
    def make(tf):
        @tf.function
        def weighted(ds):
            acc = tf.constant(0.0)
            for x, w in ds:
                acc += tf.reduce_sum(x * w)
            return acc
        return weighted

    got = []
    for fw in [tf] + ([real_tf] if real_tf else []):
        xs = np.arange(10, dtype=np.float32)
        ds = fw.data.Dataset.from_tensor_slices((xs, xs[::-1].copy())).batch(4)
        got.append(float(make(fw)(ds)))
    assert got[0] == pytest.approx(float(np.dot(xs, xs[::-1])))
    assert len(set(got)) == 1


# -- break, continue, return -----------------------------------------------------------------

def test_break_and_continue_in_a_tensor_loop():
    def make(tf):
        @tf.function
        def f(n):
            s = tf.constant(0)
            for i in tf.range(n):
                if i % 3 == 0:
                    continue
                if s > 20:
                    break
                s += i
            return s
        return f

    _values, _, traces = check(make, [(5,), (50,)])
    assert traces == 1


def test_break_in_a_while_loop():
    def make(tf):
        @tf.function
        def first_square_above(limit):
            i = tf.constant(0)
            while i < 1000:
                if i * i > limit:
                    break
                i += 1
            return i
        return first_square_above

    values, _, _ = check(make, [(10,), (99,)])
    assert [int(v) for v in values] == [4, 10]


def test_early_return_in_a_tensor_if():
    def make(tf):
        @tf.function
        def f(x):
            if x < 0.0:
                return -2.0 * x
            y = x * x
            return y + 1.0
        return f

    check(make, [(-1.5,), (3.0,)], grad=True)


def test_return_inside_a_python_loop():
    def make(tf):
        @tf.function
        def f(x):
            for k in [1.0, 2.0, 3.0]:
                if k > 1.5:
                    return x * k
            return x
        return f

    check(make, [(4.0,)], grad=True)


# -- logic -----------------------------------------------------------------------------------

def test_and_or_not_on_tensors():
    def make(tf):
        @tf.function
        def inside(x):
            return (x > 0 and x < 10) or not x > -5
        return inside

    values, _, _ = check(make, [(3,), (30,), (-30,), (-2,)])
    assert [bool(v) for v in values] == [True, False, True, False]


def test_conditional_expression_on_a_tensor():
    def make(tf):
        @tf.function
        def f(x):
            return x * 2.0 if x > 1.0 else x - 1.0
        return f

    check(make, [(3.0,), (0.5,)], grad=True)


# -- conversion scope --------------------------------------------------------------------------

def _clip_helper(v):
    if v > 1.0:
        v = 1.0 + 0.0 * v
    return v


def test_called_user_functions_are_converted_too():
    def make(tf):
        @tf.function
        def f(x):
            return _clip_helper(x) * 3.0
        return f

    check(make, [(0.5,), (7.0,)], grad=True)


def test_do_not_convert_leaves_python_control_flow_alone():
    @tf.autograph.experimental.do_not_convert
    def helper(x):
        if x > 0:
            return x
        return -x

    @tf.function
    def f(x):
        return helper(x)

    with pytest.raises(TypeError, match="symbolic `tf.Tensor` as a Python `bool`"):
        f(tf.constant(1.0))


def test_autograph_false_turns_conversion_off():
    @tf.function(autograph=False)
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(TypeError, match="as a Python `bool` is not allowed"):
        f(tf.constant(1.0))


def test_to_code_shows_the_converted_source():
    def relu(x):
        if x > 0:
            y = x
        else:
            y = 0.0
        return y

    code = tf.autograph.to_code(relu)
    assert code.startswith("def relu(x):")
    assert "ag__.if_stmt(" in code and "def ag__if_true_1(y):" in code


def test_methods_are_converted():
    class Scaler:
        def __init__(self, k):
            self.k = k

        @tf.function
        def __call__(self, x):
            while x < self.k:
                x = x * 2.0
            return x

    assert float(Scaler(10.0)(tf.constant(1.5))) == 12.0


def test_tf_print_in_a_loop_prints_every_iteration(capfd):
    @tf.function
    def f(n):
        for i in tf.range(n):
            tf.print("step", i)
        return n

    f(tf.constant(3))
    f(tf.constant(2))
    err = capfd.readouterr().err
    assert err.splitlines() == ["step 0", "step 1", "step 2", "step 0", "step 1"]


def test_gradient_tape_inside_the_function_through_a_loop():
    def make(tf):
        @tf.function
        def f(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = x
                for _ in tf.range(3):
                    y = tf.sin(y)
            return tape.gradient(y, x)
        return f

    check(make, [(0.7,), (1.3,)], rtol=1e-5)


# -- more constructs -------------------------------------------------------------------------

def test_branches_with_only_side_effects_still_run(capfd):
    v = tf.Variable(0.0)

    @tf.function
    def f(n):
        for i in tf.range(1, n + 1):
            if i % 3 == 0:
                tf.print("fizz")
            elif i % 2 == 0:
                v.assign_add(1.0)
            else:
                tf.print(i)

    f(tf.constant(6))
    assert capfd.readouterr().err.splitlines() == ["1", "fizz", "5", "fizz"]
    assert float(v) == 2.0


def test_variable_first_set_inside_a_loop_is_usable_after_it():
    def make(tf):
        @tf.function
        def f(x, n):
            for i in tf.range(n):
                last = x * tf.cast(i, tf.float32)
            return last
        return f

    check(make, [(2.0, 4)], grad=True)


def test_set_loop_options_allows_a_growing_loop_variable():
    def make(tf):
        @tf.function
        def f(x, n):
            s = tf.zeros([0])
            for i in tf.range(n):
                tf.autograph.experimental.set_loop_options(
                    shape_invariants=[(s, tf.TensorShape([None]))])
                s = tf.concat([s, [x * tf.cast(i, tf.float32)]], 0)
            return s
        return f

    values, _, _ = check(make, [(1.5, 4)])
    np.testing.assert_allclose(values[0], [0.0, 1.5, 3.0, 4.5])


def test_nested_function_with_nonlocal_state_is_converted():
    def make(tf):
        @tf.function
        def f(x):
            count = 0

            def bump(y):
                nonlocal count
                count += 1
                if y > 0:
                    y = y * 2.0
                return y

            return bump(bump(x)) + float(count)
        return f

    check(make, [(1.0,), (-1.0,)], grad=True)


def test_super_call_in_a_converted_method():
    class Base:
        def scale(self, x):
            return x * 2.0

    class Child(Base):
        @tf.function
        def scale(self, x):
            if x > 0:
                x = super().scale(x)
            return x

    assert float(Child().scale(tf.constant(3.0))) == 6.0
    assert float(Child().scale(tf.constant(-3.0))) == -3.0


def test_dataset_loop_with_break():
    def make(tf):
        @tf.function
        def f(ds):
            s = tf.constant(0, tf.int64)
            for v in ds:
                if v > 3:
                    break
                s += v
            return s
        return f

    for fw in [tf] + ([real_tf] if real_tf else []):
        assert int(make(fw)(fw.data.Dataset.range(10))) == 6


def test_callable_objects_defined_by_the_user_are_converted():
    class Clamp:
        def __call__(self, x):
            if x > 1.0:
                x = x * 0.0 + 1.0
            return x

    clamp = Clamp()

    @tf.function
    def f(x):
        return clamp(x) + 1.0

    assert float(f(tf.constant(5.0))) == 2.0
    assert float(f(tf.constant(0.5))) == 1.5


def test_map_fn_function_is_converted_inside_a_function():
    def make(tf):
        def relu_row(r):
            if tf.reduce_sum(r) > 0:
                r = r * 2.0
            return r

        @tf.function
        def f(x):
            return tf.map_fn(relu_row, x)
        return f

    check(make, [(np.array([[1.0, 2.0], [-3.0, 1.0]], np.float32),)], grad=True)


def test_loop_target_keeps_its_last_value_after_the_loop():
    def make(tf):
        @tf.function
        def f(x, n):
            for i in tf.range(n):
                x = x + 1.0
            for k in range(3):
                x = x * 2.0
            return x + tf.cast(i, tf.float32) + float(k)
        return f

    values, _, _ = check(make, [(0.5, 3)], grad=True)
    assert float(values[0]) == (0.5 + 3) * 8 + 2 + 2


def test_dataset_loop_relaxes_a_loop_variable_shape_as_tf_data_does():
    def make(tf):
        @tf.function
        def total(ds):
            loss = tf.constant(0)
            for x, y in ds:
                loss += tf.abs(y - x)
            return loss
        return total

    for fw in [tf] + ([real_tf] if real_tf else []):
        ds = fw.data.Dataset.from_generator(lambda: [(1, 3), (5, 2)], (fw.int32, fw.int32))
        assert int(make(fw)(ds)) == 5


def test_next_on_a_dataset_iterator_takes_an_element_per_call(capfd):
    for fw in [tf] + ([real_tf] if real_tf else []):
        @fw.function
        def take(it):
            return next(it) * 10

        it = iter(fw.data.Dataset.from_tensor_slices([1, 2, 3]))
        assert [int(take(it)) for _ in range(3)] == [10, 20, 30]
        assert take.experimental_get_tracing_count() == 1


_TRACED_BRANCHES = 0


def test_global_names_assigned_in_converted_branches_stay_global():
    @tf.function
    def f(x):
        global _TRACED_BRANCHES
        if x > 0:
            _TRACED_BRANCHES += 1
            y = x
        else:
            _TRACED_BRANCHES += 10
            y = -x
        return y

    assert float(f(tf.constant(-2.0))) == 2.0
    assert _TRACED_BRANCHES == 11          # each branch was traced once


def test_enumerate_and_zip_over_datasets_in_a_function():
    def make(tf):
        @tf.function
        def f(a, b):
            total = tf.constant(0, tf.int64)
            for i, (x, y) in enumerate(zip(a, b)):
                total += i * x * y
            return total
        return f

    for fw in [tf] + ([real_tf] if real_tf else []):
        a = fw.data.Dataset.range(1, 5)
        b = fw.data.Dataset.range(10, 14)
        assert int(make(fw)(a, b)) == 0 * 10 + 1 * 2 * 11 + 2 * 3 * 12 + 3 * 4 * 13


def test_bound_methods_passed_to_tf_function_are_converted():
    class Halver:
        def run(self, x):
            while x > 1.0:
                x = x / 2.0
            return x

    f = tf.function(Halver().run)
    assert float(f(tf.constant(10.0))) == 0.625


def test_dataset_loop_with_only_side_effects_runs_each_call():
    v = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def f(ds):
        for x in ds:
            v.assign_add(x)

    ds = tf.data.Dataset.range(5)
    f(ds)
    f(ds)
    assert int(v) == 20


def test_set_loop_options_maximum_iterations():
    @tf.function
    def f(x):
        while x < 100.0:
            tf.autograph.experimental.set_loop_options(maximum_iterations=3)
            x = x * 2.0
        return x

    assert float(f(tf.constant(1.0))) == 8.0      # TF 2.21 gives 8.0 too
    assert float(f(tf.constant(30.0))) == 120.0


def test_lambdas_are_converted():
    def make(tf):
        return tf.function(lambda x: x * 2.0 if x > 0 else -x)

    check(make, [(3.0,), (-1.5,)], grad=True)


def test_lambda_given_to_map_fn_is_converted():
    def make(tf):
        @tf.function
        def f(m):
            return tf.map_fn(lambda r: r * 2.0 if tf.reduce_sum(r) > 0 else r, m)
        return f

    check(make, [(np.array([[1.0, 2.0], [-3.0, 1.0]], np.float32),)], grad=True)


def test_partial_of_a_user_function_is_converted():
    import functools

    def clip(x, limit):
        if x > limit:
            x = x * 0.0 + limit
        return x

    clip_at_two = functools.partial(clip, limit=2.0)

    @tf.function
    def f(x):
        return clip_at_two(x)

    assert float(f(tf.constant(5.0))) == 2.0
    assert float(f(tf.constant(1.0))) == 1.0
