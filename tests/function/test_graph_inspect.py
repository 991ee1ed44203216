"""Inspecting traced functions: printed signatures, operations, GraphDef text."""
import pytest

import tapeflow as tf
from tests.function.autograph_parity import real_tf


def _signatures(fw, verbose):
    @fw.function
    def scale(x, factor=2, *, offset=None):
        return x * factor

    scale(fw.constant(1.5))
    scale(fw.constant([1.0, 2.0]), 3)
    return scale.pretty_printed_concrete_signatures(verbose=verbose)


@pytest.mark.parametrize("verbose", [True, False])
def test_pretty_printed_concrete_signatures_match_tf(verbose):
    ours = _signatures(tf, verbose)
    assert "x (POSITIONAL_OR_KEYWORD): TensorSpec(shape=(), dtype=tf.float32, name=None)" \
        in ours or "x: TensorSpec(shape=(), dtype=tf.float32, name=None)" in ours
    if real_tf is not None:
        assert ours == _signatures(real_tf, verbose)


def test_signature_lists_captured_variables():
    v = tf.Variable(1.0)

    @tf.function
    def f(x):
        return x + v

    text = f.get_concrete_function(tf.TensorSpec([], tf.float32)).pretty_printed_signature()
    assert "Captures:\n  " in text and "dtype=tf.resource" in text


def test_get_operations_lists_placeholders_constants_and_nodes():
    @tf.function
    def f(x, y):
        return tf.matmul(x, y) + 1.0

    graph = f.get_concrete_function(tf.TensorSpec([2, 2], tf.float32),
                                    tf.TensorSpec([2, 2], tf.float32)).graph
    ops = graph.get_operations()
    assert [op.type for op in ops] == ["Placeholder", "Placeholder", "MatMul", "Const", "AddV2"]
    assert [op.name for op in ops[:2]] == ["x", "y"]
    assert ops[-1].inputs[0] is ops[2].outputs[0]
    assert graph.get_operation_by_name("x").type == "Placeholder"


def test_as_graph_def_prints_nodes_in_text_format():
    @tf.function
    def f(x):
        return tf.sin(x)

    text = str(f.get_concrete_function(tf.TensorSpec([], tf.float32)).graph.as_graph_def())
    assert 'name: "x"\n  op: "Placeholder"' in text
    assert 'op: "Sin"\n  input: "x"' in text and "type: DT_FLOAT" in text
    if real_tf is not None:
        theirs = str(real_tf.function(lambda x: real_tf.sin(x)).get_concrete_function(
            real_tf.TensorSpec([], real_tf.float32)).graph.as_graph_def())
        assert 'op: "Sin"\n  input: "x"' in theirs


def test_graph_as_default_collects_ops():
    g = tf.Graph()
    with g.as_default():
        assert not tf.executing_eagerly()
        x = g.placeholder([], tf.float32, "x")
        tf.sin(x)
    assert tf.executing_eagerly()
    assert [op.type for op in g.get_operations()] == ["Placeholder", "Sin"]


def _relu_texts(fw):
    @fw.function
    def relu(x):
        return fw.maximum(0.0, x)

    relu(fw.constant([3.0, -3.0]))
    relu([1, -1])
    concrete = relu.get_concrete_function(fw.constant(1.0))
    return (relu.pretty_printed_concrete_signatures(), str(concrete),
            repr(concrete.structured_input_signature))


def test_python_list_arguments_and_concrete_function_text_match_tf():
    ours = _relu_texts(tf)
    assert "x (POSITIONAL_OR_KEYWORD): List[Literal[1], Literal[-1]]" in ours[0]
    assert ours[1].startswith("ConcreteFunction Input Parameters:")
    assert "name='x'" in ours[2]
    if real_tf is not None:
        assert ours == _relu_texts(real_tf)
