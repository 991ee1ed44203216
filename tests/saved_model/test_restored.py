"""Restored functions: binding, trace matching and output structures (no TensorFlow)."""
import collections
import types

import pytest

import tapeflow as tf
from tapeflow.saved_model.restored import (
    RestoredConcreteFunction,
    RestoredFunction,
    _UserObject,
)


class _Echo:
    """A stand-in program: returns its flat inputs."""

    def run(self, inputs):
        return list(inputs)


def _concrete(args, kwargs=None, outputs=None, names=("x",)):
    n = sum(isinstance(a, tf.TensorSpec) for a in args)
    outputs = outputs if outputs is not None else tuple(tf.TensorSpec([]) for _ in range(n))
    return RestoredConcreteFunction("f", _Echo(), [], (tuple(args), kwargs or {}), outputs,
                                    names)


def _function(*traces, args=("x",), defaults=None, signature=None):
    spec = types.SimpleNamespace(args=list(args), varargs=None, defaults=defaults or {},
                                 input_signature=signature)
    return RestoredFunction("f", traces, spec)


def test_python_value_trace_wins_before_conversion():
    by_value = _concrete([2.0], outputs="python")
    by_tensor = _concrete([tf.TensorSpec([], tf.float32)])
    f = _function(by_tensor, by_value)
    assert f(2.0) == "python"                 # first pass: no conversion
    assert f(3.0)[0].numpy() == 3.0           # second pass: 3.0 converted to a tensor


def test_tensor_must_fit_dtype_and_shape():
    f = _function(_concrete([tf.TensorSpec([None, 2], tf.float32)]))
    assert f(tf.zeros([5, 2]))[0].shape == (5, 2)
    with pytest.raises(ValueError, match="Could not find matching"):
        f(tf.zeros([5, 3]))
    with pytest.raises(ValueError, match="Could not find matching"):
        f(tf.zeros([5, 2], tf.float64))


def test_list_and_tuple_arguments_are_different_structures():
    f = _function(_concrete([[1, 2]], outputs="list"))
    assert f([1, 2]) == "list"
    with pytest.raises(ValueError):
        f((1, 2))


def test_keyword_and_default_arguments_bind_by_name():
    f = _function(_concrete([tf.TensorSpec([]), True], outputs="ok"),
                  args=("x", "training"), defaults={"training": True})
    assert f(x=1.0) == "ok"
    assert f(1.0, training=True) == "ok"
    with pytest.raises(ValueError):
        f(1.0, training=False)


def test_outputs_fill_named_tuples_dicts_and_keep_python_leaves():
    Pair = collections.namedtuple("Pair", "a b")
    structure = {"p": Pair(tf.TensorSpec([]), None), "q": tf.TensorSpec([])}
    concrete = _concrete([tf.TensorSpec([]), tf.TensorSpec([])], outputs=structure,
                         names=("x", "y"))
    out = concrete(tf.constant(1.0), tf.constant(2.0))
    assert isinstance(out["p"], Pair) and out["p"].b is None
    assert (out["p"].a.numpy(), out["q"].numpy()) == (1.0, 2.0)


def test_concrete_function_rejects_extra_positional_arguments():
    concrete = RestoredConcreteFunction("sig", _Echo(), [], ((), {"x": tf.TensorSpec([])}),
                                        {"y": tf.TensorSpec([])}, ["x"], 0)
    assert concrete(x=3.0)["y"].numpy() == 3.0
    with pytest.raises(TypeError, match="takes 0 positional arguments, got 1"):
        concrete(3.0)


def test_input_signature_mismatch_is_a_type_error():
    spec = [tf.TensorSpec([2])]
    f = _function(_concrete(spec), signature=spec)
    with pytest.raises(TypeError, match="Binding inputs to tf.function failed"):
        f(tf.zeros([3]))


def test_user_object_calls_its_call_child():
    obj = _UserObject()
    assert not callable(obj)
    obj._set_child("__call__", lambda x: x + 1)
    assert callable(obj) and obj(1) == 2


def test_positional_arguments_bind_to_the_flat_keywords_where_allowed():
    concrete = RestoredConcreteFunction("sig", _Echo(), [], ((), {"a": tf.TensorSpec([]),
                                                                  "b": tf.TensorSpec([])}),
                                        {"y": tf.TensorSpec([]), "z": tf.TensorSpec([])},
                                        ["b", "a"], 2)
    out = concrete(1.0, 2.0)          # b=1.0, a=2.0; outputs come in sorted-key order
    assert (out["y"].numpy(), out["z"].numpy()) == (2.0, 1.0)
    with pytest.raises(TypeError, match="unexpected positional"):
        concrete(1.0, a=2.0, b=3.0)
