"""tapeflow/utils/nest.py against tf.nest."""
import collections

import pytest

import tapeflow as tf

Point = collections.namedtuple("Point", ["x", "y"])
STRUCTS = [1, [1, 2], (1, [2, 3]), {"b": 1, "a": [2, (3, 4)]}, Point(1, [2, 3]),
           {"k": Point(x={"z": 1, "y": 2}, y=3)}, [], {}, [None, (None,)]]


@pytest.mark.parametrize("s", STRUCTS, ids=str)
def test_flatten_and_pack_match_tensorflow(s, real_tf):
    assert tf.nest.flatten(s) == real_tf.nest.flatten(s)
    flat = list(range(len(tf.nest.flatten(s))))
    assert tf.nest.pack_sequence_as(s, flat) == real_tf.nest.pack_sequence_as(s, flat)
    assert tf.nest.map_structure(lambda v: v, s) == real_tf.nest.map_structure(lambda v: v, s)
    assert tf.nest.is_nested(s) == real_tf.nest.is_nested(s)


@pytest.mark.parametrize("a,b,error", [
    ([1, 2], (1, 2), TypeError), ([1, 2], [1, [2]], ValueError), ({"a": 1}, {"b": 1}, ValueError),
    ([1, 2], [1], ValueError), (1, [1], ValueError)], ids=str)
def test_assert_same_structure_raises_like_tensorflow(a, b, error, real_tf):
    with pytest.raises(error):
        real_tf.nest.assert_same_structure(a, b)
    with pytest.raises(error):
        tf.nest.assert_same_structure(a, b)
    with pytest.raises((ValueError, TypeError)):
        tf.nest.map_structure(lambda x, y: x, a, b)


def test_pack_errors_and_check_types_off():
    tf.nest.assert_same_structure([1, 2], (3, 4), check_types=False)
    with pytest.raises(ValueError, match="left over"):
        tf.nest.pack_sequence_as([0], [1, 2])
    with pytest.raises(ValueError, match="Not enough"):
        tf.nest.pack_sequence_as([0, 0], [1])
    with pytest.raises(ValueError, match=r"at \[1\]"):
        tf.nest.assert_same_structure([1, [2]], [1, 2])


def test_list_subclass_has_same_structure_as_list(real_tf):
    from tapeflow.train.data_structures import ListWrapper

    class Sub(list):
        pass
    for mod in (tf.nest, real_tf.nest):
        mod.assert_same_structure([1, [2]], Sub([3, ListWrapper([4])]))
    with pytest.raises(TypeError, match="sequence type"):
        tf.nest.assert_same_structure([1], (1,))
