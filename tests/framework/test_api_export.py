"""Public names are declared where functions are defined (`framework/api_export.py`)."""
import inspect
import types

import pytest

import tapeflow as tf
from tapeflow.framework import api_export

NAMESPACES = {"": tf, "math": tf.math, "nn": tf.nn, "linalg": tf.linalg, "random": tf.random,
              "dtypes": tf.dtypes, "keras.activations": tf.keras.activations,
              "strings": tf.strings, "io": tf.io, "io.gfile": tf.io.gfile, "image": tf.image,
              "sparse": tf.sparse, "ragged": tf.ragged}

# tapeflow implements these TF functions as one function under two names; TF has two
# functions, so the second name's canonical name differs from the declared one.
SHARED_IMPLEMENTATIONS = {"nn.avg_pool", "nn.max_pool", "nn.convolution"}
NAMESPACES.update({"sparse": tf.sparse, "ragged": tf.ragged})
NAMESPACES["profiler.experimental"] = tf.profiler.experimental
NAMESPACES["autodiff"] = tf.autodiff


def _declared():
    """(path, namespace function) for every declared name."""
    for space, table in api_export.namespaces().items():
        for attr in table:
            module = NAMESPACES[space]
            yield (f"{space}.{attr}" if space else attr), getattr(module, attr)


@pytest.fixture(scope="module")
def ref():
    return pytest.importorskip("tensorflow")


def test_every_declared_name_is_in_its_namespace_with_the_functions_signature():
    count = 0
    for path, public in _declared():
        if isinstance(public, type):     # a declared class is held as itself
            assert path in api_export.api_names(public)
            continue
        raw = public.__wrapped__
        assert path in api_export.api_names(raw)
        assert inspect.signature(public) == inspect.signature(raw)
        assert public.__name__ == raw.__name__ and public.__doc__ == raw.__doc__
        count += 1
    assert count > 150


def test_op_functions_reach_the_namespaces_only_through_their_declarations():
    for space, module in NAMESPACES.items():
        for attr, value in vars(module).items():
            if isinstance(value, types.FunctionType) and getattr(
                    inspect.unwrap(value), "__module__", "").startswith("tapeflow.ops."):
                full = f"{space}.{attr}" if space else attr
                assert value is not inspect.unwrap(value), f"tf.{full} is not the public wrapper"
                assert full in api_export.api_names(value), full


def test_declared_canonical_names_are_tensorflows(ref):
    from tensorflow.python.util import tf_export as tf_names
    checked = 0
    for path, public in _declared():
        if path in SHARED_IMPLEMENTATIONS:
            continue
        obj = ref
        for part in path.split("."):
            obj = getattr(obj, part, None)
        assert obj is not None, f"tf.{path} is not TensorFlow API"
        expected = tf_names.get_canonical_name_for_symbol(obj)
        if expected is not None:      # raw ops (tf.realdiv) have no canonical name
            assert api_export.api_names(public)[0] == expected, path
            checked += 1
    assert checked > 150


def test_the_wrapper_passes_arguments_through_and_keeps_defaults():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert tf.reduce_sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert tf.reduce_sum(x).numpy() == 10.0
    assert [t.shape for t in tf.meshgrid(tf.range(2), tf.range(3), indexing="ij")] == [
        (2, 3), (2, 3)]


def test_a_declaration_names_the_function_of_a_factory():
    assert tf.add.__name__ == "add" and tf.math.reduce_max.__name__ == "reduce_max"
    assert api_export.api_names(tf.add) == ("math.add", "add")


def test_a_name_declared_twice_is_an_error():
    @api_export.tf_export("testing_only.h2_unique")
    def first():
        pass

    def second():
        pass
    with pytest.raises(ValueError, match="declared twice"):
        api_export.tf_export("testing_only.h2_unique")(second)
    api_export._EXPORTS.pop("testing_only")


def test_a_tensor_without_value_is_offered_to_the_dispatchers():
    seen = []

    def dispatcher(symbol, fn, args, kwargs):
        seen.append((symbol, fn, args))
        return "dispatched" if symbol == "nn.relu" else NotImplemented

    class _NoValue(tf.Tensor):
        __slots__ = ()

        @property
        def _value(self):
            raise api_export.NoValueError("no value yet")

    api_export.add_dispatcher(dispatcher)
    try:
        assert tf.nn.relu(_NoValue.__new__(_NoValue)) == "dispatched"
        assert seen[0][0] == "nn.relu" and seen[0][1] is tf.nn.relu.__wrapped__
        # A dispatcher that declines leaves the error to the caller.
        with pytest.raises(api_export.NoValueError, match="no value yet"):
            tf.math.exp(_NoValue.__new__(_NoValue))
    finally:
        api_export._DISPATCHERS.remove(dispatcher)
    assert not api_export.in_public_call()
