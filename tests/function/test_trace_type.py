"""Custom argument types keyed by `__tf_tracing_type__`, beside TensorFlow."""
import pytest

import tapeflow as tf
from tests.function.autograph_parity import real_tf


def _count_traces(fw):
    class ShapeKind(fw.types.experimental.TraceType):
        def __init__(self, kind):
            self.kind = kind

        def is_subtype_of(self, other):
            return self == other

        def most_specific_common_supertype(self, others):
            return self if all(self == o for o in others) else None

        def placeholder_value(self, placeholder_context=None):
            return self.kind

        def __eq__(self, other):
            return isinstance(other, ShapeKind) and other.kind == self.kind

        def __hash__(self):
            return hash(self.kind)

    class Shape:
        def __init__(self, kind, sides):
            self.kind, self.sides = kind, sides

        def __tf_tracing_type__(self, context):
            return ShapeKind(self.kind)

    @fw.function
    def scale(shape, x):
        return x * 2.0

    for kind, sides in [("square", 4), ("square", 5), ("triangle", 3), ("square", 6)]:
        scale(Shape(kind, sides), fw.constant(1.0))
    return scale.experimental_get_tracing_count()


def test_equal_trace_types_share_a_trace():
    assert _count_traces(tf) == 2
    if real_tf is not None:
        assert _count_traces(real_tf) == 2


def test_trace_type_is_abstract():
    with pytest.raises(TypeError):
        tf.types.experimental.TraceType()
