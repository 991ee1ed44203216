"""tf.function: tracing, the trace cache and retracing rules, methods, errors."""
import logging

import numpy as np
import pytest

import tapeflow as tf


def test_decorator_and_call_forms_give_same_results():
    def f(x):
        return x * 2.0 + 1.0

    x = tf.constant([1.0, 2.0])
    for g in (tf.function(f), tf.function()(f), tf.function(reduce_retracing=True)(f)):
        np.testing.assert_array_equal(g(x).numpy(), [3.0, 5.0])


def test_python_print_runs_at_trace_time_only(capsys):
    @tf.function
    def f(x):
        print("tracing")
        return x + 1

    for v in (1.0, 2.0, 3.0):
        f(tf.constant(v))
    assert capsys.readouterr().out == "tracing\n"
    assert f.experimental_get_tracing_count() == 1


def test_retraces_once_per_shape_and_dtype():
    f = tf.function(lambda x: x * 2)
    f(tf.zeros([2]))
    f(tf.ones([2]))
    assert f.experimental_get_tracing_count() == 1
    f(tf.zeros([3]))
    assert f.experimental_get_tracing_count() == 2
    f(tf.zeros([3], tf.int32))
    assert f.experimental_get_tracing_count() == 3
    f(tf.zeros([2]))
    assert f.experimental_get_tracing_count() == 3


def test_python_values_are_part_of_the_key():
    @tf.function
    def f(x, n):
        return x * n

    assert float(f(tf.constant(2.0), 3)) == 6.0
    assert float(f(tf.constant(2.0), 3)) == 6.0
    assert f.experimental_get_tracing_count() == 1
    assert float(f(tf.constant(2.0), 4)) == 8.0
    assert f.experimental_get_tracing_count() == 2
    f(tf.constant(2.0), n=4)          # keyword binding gives the same key
    assert f.experimental_get_tracing_count() == 2


def test_numpy_arrays_are_traced_as_tensors():
    f = tf.function(lambda x: x + 1)
    f(np.zeros(3, np.float32))
    f(np.ones(3, np.float32))
    assert f.experimental_get_tracing_count() == 1


def test_reduce_retracing_generalises_to_unknown_dims():
    shapes = []

    @tf.function(experimental_relax_shapes=True)
    def f(x):
        shapes.append(x.shape)
        return tf.reduce_sum(x, axis=1)

    for n in (32, 16, 8, 32, 5):
        out = f(tf.ones([n, 3]))
        assert out.shape == (n,)
    assert f.experimental_get_tracing_count() == 2
    assert shapes == [tf.TensorShape([32, 3]), tf.TensorShape([None, 3])]


def test_relaxed_trace_is_not_used_for_a_different_dtype():
    f = tf.function(lambda x: x + x, reduce_retracing=True)
    f(tf.ones([2]))
    f(tf.ones([3]))
    f(tf.ones([4], tf.int32))
    assert f.experimental_get_tracing_count() == 3


def test_input_signature_traces_once_and_rejects_mismatches():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def f(x):
        return x * 2

    np.testing.assert_array_equal(f(tf.constant([1.0, 2.0])).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(f([1.0, 2.0, 3.0]).numpy(), [2.0, 4.0, 6.0])
    assert f.experimental_get_tracing_count() == 1
    with pytest.raises(TypeError, match=r"Can not cast TensorSpec\(shape=\(2,\), "
                                        r"dtype=tf.int32.*argument 'x'"):
        f(tf.constant([1, 2]))
    with pytest.raises(TypeError, match=r"shape=\(1, 2\)"):
        f(tf.constant([[1.0, 2.0]]))


def test_get_concrete_function_with_spec_serves_fitting_calls():
    f = tf.function(lambda x: x + 1)
    cf = f.get_concrete_function(tf.TensorSpec([None], tf.int32))
    assert cf.inputs[0].shape == tf.TensorShape([None])
    np.testing.assert_array_equal(f(tf.constant([1, 2, 3])).numpy(), [2, 3, 4])
    assert f.experimental_get_tracing_count() == 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="traced as a int32 tensor"):
        cf(tf.constant([1.0]))


def test_methods_bind_per_instance():
    class Scaler:
        def __init__(self, k):
            self.k = tf.Variable(k)

        @tf.function
        def __call__(self, x):
            return x * self.k

    a, b = Scaler(2.0), Scaler(3.0)
    assert float(a(tf.constant(1.0))) == 2.0
    assert float(b(tf.constant(1.0))) == 3.0
    assert a.__call__ is a.__call__
    assert a.__call__.experimental_get_tracing_count() == 1
    a.k.assign(5.0)
    assert float(a(tf.constant(1.0))) == 5.0      # the Variable is read at run time


def test_outputs_keep_structure_and_python_values():
    v = tf.Variable(1.5)

    @tf.function
    def f(x):
        return {"y": x + 1, "pair": (x, None), "n": 3, "v": v}

    out = f(tf.constant(1.0))
    assert float(out["y"]) == 2.0
    assert out["pair"][1] is None
    assert isinstance(out["n"], tf.Tensor) and int(out["n"]) == 3
    assert isinstance(out["v"], tf.Tensor) and float(out["v"]) == 1.5


def test_a_new_variable_at_every_call_fails_on_the_first_call():
    # As TF 2.21: the first trace made a Variable, so the function is traced again with
    # creation disallowed, and that second trace makes one too.
    @tf.function
    def f(x):
        v = tf.Variable(1.0)
        return x + v

    with pytest.raises(ValueError, match="only supports singleton tf.Variables created on "
                                         "the first call"):
        f(tf.constant(1.0))


def test_variables_created_on_a_later_trace_fail():
    class Lazy:
        n = 0

        @tf.function
        def __call__(self, x):
            if isinstance(x, float) and Lazy.n == 0:
                return x
            Lazy.n += 1
            return x + tf.Variable(1.0)

    f = Lazy()
    assert f(1.0) == 1.0
    with pytest.raises(ValueError, match="only supports singleton tf.Variables"):
        f(tf.constant([1.0]))


def test_lazily_created_variables_persist_across_calls():
    class Counter:
        def __init__(self):
            self.v = None

        @tf.function
        def add(self, x):
            if self.v is None:
                self.v = tf.Variable(0.0)
            self.v.assign_add(x)
            return self.v.read_value()

    c = Counter()
    c.add(tf.constant(1.0))
    assert float(c.add(tf.constant(2.0))) == 3.0


def test_variables_read_and_assigned_in_program_order():
    v = tf.Variable(1.0)

    @tf.function
    def f():
        a = v * 1.0          # reads 1
        v.assign(10.0)
        b = v * 1.0          # reads 10
        v.assign_add(a)      # 11
        return a, b, v.read_value()

    a, b, c = f()
    assert (float(a), float(b), float(c)) == (1.0, 10.0, 11.0)
    a, b, c = f()
    assert (float(a), float(b), float(c)) == (11.0, 10.0, 21.0)


def test_symbolic_tensor_as_bool_is_a_clear_error():
    @tf.function(autograph=False)
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(TypeError, match=r"symbolic `tf.Tensor` as a Python `bool` is not "
                                        r"allowed while tracing 'f': the tensor Greater:0 "
                                        r"\(shape=\(\), dtype=bool\).*tf.cond"):
        f(tf.constant(1.0))


def test_numpy_during_tracing_is_a_clear_error():
    @tf.function
    def f(x):
        return x.numpy()

    with pytest.raises(AttributeError, match=r"'SymbolicTensor' object has no attribute 'numpy'"):
        f(tf.constant(1.0))


def test_run_functions_eagerly():
    calls = []

    @tf.function
    def f(x):
        calls.append(tf.executing_eagerly())
        return x.numpy() * 2

    tf.config.run_functions_eagerly(True)
    try:
        assert tf.config.functions_run_eagerly()
        assert f(tf.constant(2.0)) == 4.0
        f(tf.constant(2.0))
    finally:
        tf.config.run_functions_eagerly(False)
    assert calls == [True, True]
    assert f.experimental_get_tracing_count() == 0


def test_nested_function_calls_are_inlined():
    inner = tf.function(lambda x: x * 3)

    @tf.function
    def outer(x):
        return inner(x) + 1

    assert float(outer(tf.constant(2.0))) == 7.0


def test_retrace_warning_names_the_argument(caplog):
    @tf.function
    def train_step(images, lr):
        return tf.reduce_sum(images) * lr

    with caplog.at_level(logging.WARNING, logger="tapeflow"):
        for n in (32, 16, 8, 4):
            train_step(tf.ones([n, 2]), 0.1)
        assert not caplog.records
        train_step(tf.ones([2, 2]), 0.1)
    assert len(caplog.records) == 1
    msg = caplog.records[0].getMessage()
    assert "train_step retraced 5 times" in msg
    assert "argument 'images': shape (4, 2) -> (2, 2)" in msg
    assert "reduce_retracing=True" in msg


def test_retrace_warning_for_python_values(caplog):
    f = tf.function(lambda x, step: x * step)
    with caplog.at_level(logging.WARNING, logger="tapeflow"):
        for step in range(5):
            f(tf.constant(1.0), step)
    assert "argument 'step': int 3 -> int 4" in caplog.records[0].getMessage()


def test_tf_function_rejects_non_callables():
    with pytest.raises(TypeError, match="expects a Python callable"):
        tf.function(3)


def test_printing_a_traced_tensor_shows_tf_graph_style_with_argument_names(capsys):
    @tf.function
    def f(x, images, pair):
        print("Traced with", x, images, pair[1])
        return x

    f(tf.constant(1), tf.zeros([2, 3]), (tf.constant(1.0), tf.constant(2.0)))
    assert capsys.readouterr().out == (
        'Traced with Tensor("x:0", shape=(), dtype=int32) '
        'Tensor("images:0", shape=(2, 3), dtype=float32) '
        'Tensor("pair_1:0", shape=(), dtype=float32)\n')


def test_traced_op_outputs_are_named_as_tf_names_them(capsys):
    @tf.function
    def f(x, y):
        z = x * 2 + y
        print(z, repr(z + 1), tf.matmul(tf.reshape(x, [1, 1]), tf.reshape(y, [1, 1])))
        return z

    f(tf.constant(1.0), tf.constant(2.0))
    assert capsys.readouterr().out == (
        'Tensor("add:0", shape=(), dtype=float32) '
        "<tf.Tensor 'add_1:0' shape=() dtype=float32> "
        'Tensor("MatMul:0", shape=(1, 1), dtype=float32)\n')
