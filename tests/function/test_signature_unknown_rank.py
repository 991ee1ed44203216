"""Traces for a TensorSpec of unknown rank (`TensorSpec(None, dtype)`): one trace, any rank."""
import numpy as np
import pytest

import tapeflow


def _power(tf):
    @tf.function
    def power(a, b):
        return a ** b
    return power


def test_unknown_rank_spec_traces_once_and_serves_every_rank():
    f = _power(tapeflow)
    cf = f.get_concrete_function(a=tapeflow.TensorSpec(None, tapeflow.float32), b=2)
    assert cf.inputs[0].shape.rank is None
    assert float(cf(tapeflow.constant(10.0))) == 100.0
    np.testing.assert_array_equal(cf(tapeflow.constant([[1.0, 3.0]])).numpy(), [[1.0, 9.0]])
    np.testing.assert_array_equal(f(tapeflow.ones([2, 2, 2]), 2).numpy(), np.ones([2, 2, 2]))
    assert f.experimental_get_tracing_count() == 1


def test_unknown_rank_concrete_function_prints_as_tensorflow(real_tf):
    def text(tf):
        cf = _power(tf).get_concrete_function(a=tf.TensorSpec(None, tf.float32), b=2)
        return str(cf), str(cf.structured_outputs)
    assert text(tapeflow)[0] == text(real_tf)[0]
    # A graph tensor of unknown shape prints without a shape, as in TF.
    assert text(tapeflow)[1] == 'Tensor("pow:0", dtype=float32)'


def test_unknown_rank_concrete_function_rejects_a_changed_python_argument():
    cf = _power(tapeflow).get_concrete_function(a=tapeflow.TensorSpec(None, tapeflow.float32),
                                                b=2)
    with pytest.raises(TypeError):
        cf(tapeflow.constant(10.0), b=3)


def test_unknown_rank_spec_does_not_serve_another_dtype():
    f = _power(tapeflow)
    f.get_concrete_function(a=tapeflow.TensorSpec(None, tapeflow.float32), b=2)
    f(tapeflow.constant([1, 2]), 2)
    assert f.experimental_get_tracing_count() == 2


def _shapes_and_values(tf, x):
    @tf.function
    def g(x):
        return (tf.reduce_sum(x * 2.0), tf.reshape(x, [-1]), tf.shape(x), tf.rank(x),
                tf.nn.relu(x), tf.concat([x, x], 0), tf.expand_dims(x, -1),
                tf.stack([x, x], axis=-1), x[0])
    cf = g.get_concrete_function(tf.TensorSpec(None, tf.float32))
    shapes = [tuple(o.shape.as_list()) if o.shape.rank is not None else None
              for o in tf.nest.flatten(cf.structured_outputs)]
    return shapes, [o.numpy() for o in cf(x)]


def test_ops_on_unknown_rank_infer_shapes_and_values_as_tensorflow(real_tf):
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    shapes, values = _shapes_and_values(tapeflow, tapeflow.constant(x))
    tf_shapes, tf_values = _shapes_and_values(real_tf, real_tf.constant(x))
    assert shapes == tf_shapes
    for got, want in zip(values, tf_values):
        np.testing.assert_array_equal(got, want)


def test_gradients_through_an_unknown_rank_trace():
    @tapeflow.function
    def g(x):
        return tapeflow.reduce_mean(tapeflow.sin(x) * x)
    cf = g.get_concrete_function(tapeflow.TensorSpec(None, tapeflow.float32))
    x = tapeflow.constant([[1.0, 2.0]])
    with tapeflow.GradientTape() as tape:
        tape.watch(x)
        y = cf(x)
    want = (np.sin(x.numpy()) + x.numpy() * np.cos(x.numpy())) / 2
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), want, rtol=1e-6)


def test_gradients_through_stack_and_expand_dims_of_unknown_rank():
    @tapeflow.function
    def g(x):
        with tapeflow.GradientTape() as tape:
            tape.watch(x)
            y = (tapeflow.reduce_sum(tapeflow.stack([x, 2.0 * x], axis=-1) ** 2)
                 + tapeflow.reduce_sum(tapeflow.expand_dims(x, -1) * 3.0))
        return tape.gradient(y, x)
    cf = g.get_concrete_function(tapeflow.TensorSpec(None, tapeflow.float32))
    np.testing.assert_allclose(cf(tapeflow.constant([[1.0, 2.0]])).numpy(), [[13.0, 23.0]])
    np.testing.assert_allclose(cf(tapeflow.constant(3.0)).numpy(), 33.0)
