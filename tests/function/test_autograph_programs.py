"""Whole small programs mixing AutoGraph constructs, beside TensorFlow."""
import numpy as np

from tests.function.autograph_parity import check


def test_nested_tensor_loops_with_inner_break():
    def make(tf):
        @tf.function
        def pairs_below(n, limit):
            count = tf.constant(0)
            for i in tf.range(n):
                j = tf.constant(0)
                while j < n:
                    if i * j > limit:
                        break
                    count += 1
                    j += 1
            return count
        return pairs_below

    _, _, traces = check(make, [(4, 3), (6, 10)])
    assert traces == 1


def test_early_return_from_nested_python_loops():
    def make(tf):
        @tf.function
        def first_hit(x):
            for a in [1.0, 2.0]:
                for b in [10.0, 20.0]:
                    if a * b > 15.0:
                        return x * a + b
            return x
        return first_hit

    check(make, [(0.5,)], grad=True)


def test_continue_with_a_tensor_condition_in_a_while_loop():
    def make(tf):
        @tf.function
        def odd_sum(x, n):
            i = 0
            total = tf.zeros_like(x)
            while i < n:
                i += 1
                if i % 2 == 0:
                    continue
                total += x * tf.cast(i, tf.float32)
            return total
        return odd_sum

    check(make, [(1.5, 7), (-2.0, 4)], grad=True)


def test_loop_over_a_matrix_with_an_inner_python_loop_and_if():
    def make(tf):
        @tf.function
        def f(m):
            acc = tf.constant(0.0)
            for row in m:
                for k in range(2):
                    if row[k] > 0:
                        acc += row[k] * float(k + 1)
                    else:
                        acc -= row[k]
            return acc
        return f

    check(make, [(np.array([[1.0, -2.0], [-0.5, 3.0], [2.0, 2.0]], np.float32),)], grad=True)


def test_helper_with_tensor_if_and_return_called_in_a_loop():
    def make(tf):
        def step(v):
            if v > 1.0:
                return v / 2.0
            return v * 3.0

        @tf.function
        def f(x, n):
            for _ in tf.range(n):
                x = step(x)
            return x
        return f

    check(make, [(5.0, 6), (0.1, 3)], grad=True)


def test_fibonacci_with_tuple_assignment_in_a_tensor_loop():
    def make(tf):
        @tf.function
        def fib(n):
            a, b = tf.constant(0), tf.constant(1)
            for _ in tf.range(n):
                a, b = b, a + b
            return a
        return fib

    values, _, traces = check(make, [(10,), (20,)])
    assert [int(v) for v in values] == [55, 6765] and traces == 1


def test_nested_structures_as_loop_variables():
    def make(tf):
        @tf.function
        def f(x, n):
            state = {"sum": tf.zeros_like(x), "pair": (x, x * 0.0)}
            i = 0
            while i < n:
                first, second = state["pair"]
                state = {"sum": state["sum"] + first, "pair": (second + 1.0, first)}
                i += 1
            return state["sum"] + state["pair"][1]
        return f

    check(make, [(np.array([1.0, 2.0], np.float32), 5)], grad=True)


def test_if_inside_a_while_inside_an_if():
    def make(tf):
        @tf.function
        def collatz_steps(n, cap):
            steps = tf.constant(0)
            if n > 0:
                while n != 1:
                    if n % 2 == 0:
                        n = n // 2
                    else:
                        n = 3 * n + 1
                    steps += 1
                    if steps >= cap:
                        break
            else:
                steps = tf.constant(-1)
            return steps
        return collatz_steps

    values, _, traces = check(make, [(6, 100), (27, 50), (-3, 10)])
    assert [int(v) for v in values] == [8, 50, -1] and traces == 1


def test_tensor_dependent_continue_in_a_python_loop():
    def make(tf):
        @tf.function
        def f(x):
            for k in [1.0, 2.0, 3.0]:
                if x > k:
                    continue
                x = x * k + 0.5
            return x
        return f

    check(make, [(0.5,), (1.5,), (5.0,)], grad=True)
