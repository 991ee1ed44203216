"""List and dict attributes of checkpoints and Modules (ListWrapper / DictWrapper), against
TensorFlow: the same program is run on both and what it prints or saves is compared."""
import copy
import os
import pickle

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.train.data_structures import ListWrapper


def _keys(mod, path):
    return sorted(name for name, _ in mod.train.list_variables(path))


# -- the checkpoint guide's cell ---------------------------------------------------------------

def _guide_cells(mod, folder):
    """The guide's two cells; returns (v2 after restore, repr of the empty list, v1 after
    append, the checkpoint's keys)."""
    save = mod.train.Checkpoint()
    save.listed = [mod.Variable(1.)]
    save.listed.append(mod.Variable(2.))
    save.mapped = {"one": save.listed[0]}
    save.mapped["two"] = save.listed[1]
    save_path = save.save(os.path.join(folder, "tf_list_example"))
    restore = mod.train.Checkpoint()
    v2 = mod.Variable(0.)
    restore.mapped = {"two": v2}
    restore.restore(save_path)
    restore.listed = []
    shown = repr(restore.listed)
    v1 = mod.Variable(0.)
    restore.listed.append(v1)
    return float(v2.numpy()), shown, float(v1.numpy()), _keys(mod, save_path)


def test_guide_cell_restores_variable_appended_after_restore(tmp_path, real_tf):
    (tmp_path / "tf").mkdir()
    (tmp_path / "tp").mkdir()
    expected = _guide_cells(real_tf, str(tmp_path / "tf"))
    assert _guide_cells(tf, str(tmp_path / "tp")) == expected
    assert expected[:3] == (2.0, "ListWrapper([])", 1.0)


# -- behaving as list and dict -------------------------------------------------------------------

def test_list_attribute_is_a_list_wrapper_equal_to_the_list(real_tf):
    for mod in (tf, real_tf):
        ckpt = mod.train.Checkpoint(a=[1, 2])
        ckpt.b = []
        assert isinstance(ckpt.a, list) and type(ckpt.a).__name__ == "ListWrapper"
        assert ckpt.a == [1, 2] and ckpt.b == [] and ckpt.a != [2, 1]
        assert repr(ckpt.a) == "ListWrapper([1, 2])"
        assert type(ckpt.a + [3]) is list and type(ckpt.a[:1]) is list


def test_dict_attribute_is_a_dict_wrapper_equal_to_the_dict(real_tf):
    for mod in (tf, real_tf):
        module = mod.Module()
        module.d = {"x": 1, "y": [2]}
        assert isinstance(module.d, dict) and module.d == {"x": 1, "y": [2]}
        assert repr(module.d).startswith("DictWrapper({'x': 1, 'y': ")
        assert type(module.d["y"]).__name__ == "ListWrapper"


def test_tuples_and_keras_layer_lists_are_not_list_wrappers():
    module = tf.Module()
    module.t = (1, 2)
    layer = tf.keras.layers.Dense(2)
    layer.extra = [1]
    assert type(module.t) is tuple
    assert not isinstance(layer.extra, ListWrapper)


def test_wrappers_copy_and_pickle_as_wrappers():
    module = tf.Module()
    module.l, module.d = [1, 2], {"a": 1}
    for value in (module.l, module.d):
        for clone in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
            assert type(clone) is type(value) and clone == value


# -- what is saved --------------------------------------------------------------------------------

def _nested_structure(mod, folder):
    root = mod.train.Checkpoint()
    root.items = [mod.Variable(1.)]
    root.items.extend([mod.Variable([2., 3.]), 7])
    root.table = {"w": mod.Variable(4.), "sub": {"deep": [mod.Variable(5.)]}}
    root.table["late"] = mod.Variable(6.)
    module = mod.Module()
    module.layers = []
    module.layers.append(mod.Variable(8.))
    root.module = module
    return _keys(mod, root.write(os.path.join(folder, "nested")))


def test_checkpoint_keys_of_lists_and_dicts_match_tensorflow(tmp_path, real_tf):
    (tmp_path / "tf").mkdir()
    (tmp_path / "tp").mkdir()
    assert _nested_structure(tf, str(tmp_path / "tp")) == \
        _nested_structure(real_tf, str(tmp_path / "tf"))


def test_replaced_list_item_refuses_to_save_as_tensorflow(tmp_path, real_tf):
    for mod in (tf, real_tf):
        ckpt = mod.train.Checkpoint(a=[mod.Variable(1.), mod.Variable(2.)])
        ckpt.a[0] = mod.Variable(3.)
        with pytest.raises(ValueError, match="list element was replaced"):
            ckpt.write(str(tmp_path / "x"))


@pytest.mark.parametrize("mutate", ["pop", "sort", "insert", "del", "reverse"])
def test_moved_or_removed_variables_refuse_to_save(tmp_path, mutate):
    ckpt = tf.train.Checkpoint(a=[tf.Variable(1.), tf.Variable(2.)])
    {"pop": lambda a: a.pop(), "sort": lambda a: a.sort(key=id),
     "insert": lambda a: a.insert(0, tf.Variable(0.)), "del": lambda a: a.__delitem__(0),
     "reverse": lambda a: a.reverse()}[mutate](ckpt.a)
    with pytest.raises(ValueError, match="Unable to save"):
        ckpt.write(str(tmp_path / "x"))


def test_mutating_a_list_without_variables_still_saves(tmp_path):
    ckpt = tf.train.Checkpoint(a=[3, 1, 2], v=tf.Variable(1.))
    ckpt.a.sort()
    ckpt.a[0] = 5
    ckpt.a.pop()
    assert _keys(tf, ckpt.write(str(tmp_path / "x"))) == \
        ["_CHECKPOINTABLE_OBJECT_GRAPH", "v/.ATTRIBUTES/VARIABLE_VALUE"]


def test_non_string_key_to_variable_refuses_to_save_as_tensorflow(tmp_path, real_tf):
    for mod in (tf, real_tf):
        ckpt = mod.train.Checkpoint(d={})
        ckpt.d[3] = mod.Variable(1.)
        with pytest.raises(ValueError, match="non-string key"):
            ckpt.write(str(tmp_path / "x"))


# -- delayed restoration ------------------------------------------------------------------------

def _module_restore(mod, path):
    """A Module restored before its lists hold anything; values after each addition."""
    module = mod.Module()
    status = mod.train.Checkpoint(module=module).restore(path)
    module.layers = []
    module.layers.append(mod.Variable(0.))
    module.table = {}
    module.table["sub"] = {"deep": []}
    module.table["sub"]["deep"].append(mod.Variable(0.))
    module.layers.extend([mod.Variable(0.), mod.Variable([0., 0.])])
    status.assert_consumed()
    return [v.numpy().tolist() for v in module.variables]


def _module_save(mod, path):
    module = mod.Module()
    module.layers = [mod.Variable(1.), mod.Variable(2.), mod.Variable([3., 4.])]
    module.table = {"sub": {"deep": [mod.Variable(5.)]}}
    return mod.train.Checkpoint(module=module).save(path)


def test_module_list_and_dict_items_restored_when_added(tmp_path, real_tf):
    path = _module_save(real_tf, str(tmp_path / "tf_ckpt"))
    expected = _module_restore(real_tf, path)
    assert _module_restore(tf, path) == expected
    path = _module_save(tf, str(tmp_path / "tp_ckpt"))
    assert _module_restore(tf, path) == expected


def test_setitem_of_variable_into_waiting_dict_restores_it(tmp_path):
    saved = tf.train.Checkpoint(d={"a": tf.Variable(7.)})
    path = saved.write(str(tmp_path / "x"))
    restore = tf.train.Checkpoint(d={})
    restore.restore(path)
    v = tf.Variable(0.)
    restore.d.update(a=v)
    assert v.numpy() == 7.0


def test_module_variables_walk_through_wrappers_as_tensorflow(real_tf):
    def names(mod):
        module = mod.Module()
        module.b = [mod.Variable(1., name="b0")]
        module.a = {"z": mod.Variable(2., name="az"), "y": [mod.Variable(3., name="ay")]}
        module.b.append(mod.Variable(4., name="b1"))
        module.sub = [mod.Module(name="inner")]
        module.sub[0].w = mod.Variable(5., name="w")
        return [v.name for v in module.variables], [m.name for m in module.submodules]
    assert names(tf) == names(real_tf)


def test_appended_variable_values_round_trip_with_tensorflow(tmp_path, real_tf):
    ckpt = tf.train.Checkpoint()
    ckpt.listed = []
    ckpt.listed.append(tf.Variable([1., 2.]))
    ckpt.listed += [tf.Variable(3.)]
    path = ckpt.write(str(tmp_path / "tp"))
    restored = real_tf.train.Checkpoint(listed=[real_tf.Variable([0., 0.]), real_tf.Variable(0.)])
    restored.read(path).assert_consumed()
    np.testing.assert_array_equal(restored.listed[0].numpy(), [1., 2.])
    assert restored.listed[1].numpy() == 3.0
