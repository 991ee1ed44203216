"""The FunctionDef interpreter on hand-written FunctionDefs (no TensorFlow needed)."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import errors
from tapeflow.saved_model import graph_runner
from tapeflow.saved_model._protos import protos
from tapeflow.saved_model.structure_decoder import SavedModelFormatError

pytest.importorskip("tensorboard", reason="the SavedModel protos come from tensorboard")


def _function(name, inputs, outputs, nodes):
    """A FunctionDef: inputs [(name, dtype enum)], outputs {name: ref}, nodes
    [(name, op, [inputs], {attr: AttrValue kwargs})]."""
    fdef = protos().function.FunctionDef()
    fdef.signature.name = name
    for arg, dtype in inputs:
        fdef.signature.input_arg.add(name=arg, type=dtype)
    for arg, ref in outputs.items():
        fdef.signature.output_arg.add(name=arg, type=1)
        fdef.ret[arg] = ref
    for node_name, op, node_inputs, attrs in nodes:
        node = fdef.node_def.add(name=node_name, op=op)
        node.input.extend(node_inputs)
        for key, kwargs in attrs.items():
            node.attr[key].CopyFrom(protos().attr_value.AttrValue(**kwargs))
    return fdef


def _library(*fdefs, variables=None):
    lib = protos().function.FunctionDefLibrary()
    lib.function.extend(fdefs)
    return graph_runner.FunctionLibrary(lib, "/models/m", variables)


def test_nodes_run_in_dependency_order_whatever_their_listed_order():
    fdef = _function("f", [("x", 1)], {"out": "sq:y:0"}, [
        ("sq", "Square", ["add:z:0"], {}),
        ("add", "AddV2", ["x", "x"], {}),
    ])
    out, = _library(fdef).program("f").run([tf.constant([1.0, 3.0])])
    np.testing.assert_array_equal(out.numpy(), [4.0, 36.0])


def test_control_edges_order_an_update_before_a_read():
    v = tf.Variable(1.0)
    fdef = _function("f", [("h", 20)], {"out": "read:value:0"}, [
        ("read", "ReadVariableOp", ["h", "^bump"], {"dtype": {"type": 1}}),
        ("one", "Const", [], {"dtype": {"type": 1},
                              "value": {"tensor": {"dtype": 1, "float_val": [1.0]}}}),
        ("bump", "AssignAddVariableOp", ["h", "one:output:0"], {"dtype": {"type": 1}}),
    ])
    out, = _library(fdef).program("f").run([v])
    assert out.numpy() == 2.0 and v.numpy() == 2.0


def test_list_outputs_are_indexed_within_their_argument():
    fdef = _function("f", [("x", 1)], {"out": "parts:output:2"}, [
        ("parts", "Unpack", ["x"], {"num": {"i": 3}, "axis": {"i": 0}}),
    ])
    out, = _library(fdef).program("f").run([tf.constant([5.0, 6.0, 7.0])])
    assert out.numpy() == 7.0


def test_nested_function_calls_run_the_callee():
    inner = _function("inner", [("a", 1)], {"out": "neg:y:0"}, [("neg", "Neg", ["a"], {})])
    outer = _function("outer", [("x", 1)], {"out": "call:output:0"}, [
        ("call", "StatefulPartitionedCall", ["x"], {"f": {"func": {"name": "inner"}}}),
    ])
    out, = _library(inner, outer).program("outer").run([tf.constant(2.0)])
    assert out.numpy() == -2.0


def test_unknown_op_in_a_callee_is_named_with_the_path():
    inner = _function("inner", [("a", 1)], {"out": "w:y:0"}, [("w", "Wobble", ["a"], {})])
    outer = _function("outer", [("x", 1)], {"out": "call:output:0"}, [
        ("call", "PartitionedCall", ["x"], {"f": {"func": {"name": "inner"}}}),
    ])
    with pytest.raises(errors.NotFoundError, match=r"Wobble \(in function inner of the "
                                                    r"SavedModel at /models/m\)"):
        _library(inner, outer).check("outer")


def test_cycle_between_nodes_is_an_error():
    fdef = _function("f", [("x", 1)], {"out": "a:z:0"}, [
        ("a", "AddV2", ["x", "b:z:0"], {}), ("b", "AddV2", ["x", "a:z:0"], {}),
    ])
    with pytest.raises(SavedModelFormatError, match="cycle"):
        _library(fdef).program("f")


def test_a_failing_node_names_itself_and_its_function():
    fdef = _function("f", [("x", 1)], {"out": "r:output:0"}, [
        ("shape", "Const", [], {"dtype": {"type": 3},
                                "value": {"tensor": {"dtype": 3, "int_val": [5],
                                                     "tensor_shape": {"dim": [{"size": 1}]}}}}),
        ("r", "Reshape", ["x", "shape:output:0"], {}),
    ])
    with pytest.raises(Exception) as info:
        _library(fdef).program("f").run([tf.constant([1.0, 2.0])])
    assert "node 'r' (Reshape) of the function f" in "".join(info.value.__notes__)


def test_wrong_number_of_inputs_is_a_type_error():
    fdef = _function("f", [("x", 1)], {"out": "n:y:0"}, [("n", "Neg", ["x"], {})])
    with pytest.raises(TypeError, match="takes 1 inputs"):
        _library(fdef).program("f").run([])


def test_var_handle_op_finds_a_saved_variable_by_shared_name():
    v = tf.Variable(4.0)
    fdef = _function("f", [], {"out": "read:value:0"}, [
        ("h", "VarHandleOp", [], {"shared_name": {"s": b"weights"}, "dtype": {"type": 1}}),
        ("read", "ReadVariableOp", ["h:resource:0"], {"dtype": {"type": 1}}),
    ])
    out, = _library(fdef, variables={"weights": v}).program("f").run([])
    assert out.numpy() == 4.0
