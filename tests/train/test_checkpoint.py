"""tf.train.Checkpoint of variables, containers and modules, and TF interop."""
import os

import numpy as np
import pytest

import tapeflow as tf


def _ckpt_objects(mod):
    return {"v": mod.Variable([1.0, 2.0], name="v"), "w": mod.Variable(3, name="w")}


def test_save_restore_roundtrip(tmp_path):
    v = tf.Variable([1.0, 2.0])
    ckpt = tf.train.Checkpoint(v=v, lst=[tf.Variable(1.0)], dct={"a": tf.Variable(2.0)})
    path = ckpt.save(str(tmp_path / "ckpt"))
    assert path == str(tmp_path / "ckpt-1")
    v.assign([5.0, 5.0])
    ckpt.lst[0].assign(9.0)
    ckpt.restore(path).assert_consumed()
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    assert float(ckpt.lst[0].numpy()) == 1.0


def test_keys_match_tensorflow_naming(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0), lst=[tf.Variable(1.0)],
                               dct={"a.b/c": tf.Variable(2.0)})
    ckpt.save(str(tmp_path / "c"))
    names = [n for n, _ in tf.train.list_variables(str(tmp_path))]
    assert names == ["_CHECKPOINTABLE_OBJECT_GRAPH", "dct/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE",
                     "lst/0/.ATTRIBUTES/VARIABLE_VALUE", "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
                     "v/.ATTRIBUTES/VARIABLE_VALUE"]


def test_write_has_no_counter_and_no_state_file(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    path = ckpt.write(str(tmp_path / "exact"))
    assert path == str(tmp_path / "exact")
    assert sorted(os.listdir(tmp_path)) == ["exact.data-00000-of-00001", "exact.index"]


def test_read_restores_written_values(tmp_path):
    v = tf.Variable(4.0)
    ckpt = tf.train.Checkpoint(v=v)
    path = ckpt.write(str(tmp_path / "c"))
    v.assign(0.0)
    ckpt.read(path).assert_existing_objects_matched()
    assert float(v.numpy()) == 4.0


def test_save_counter_increments_and_restores(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    ckpt.save(str(tmp_path / "c"))
    path = ckpt.save(str(tmp_path / "c"))
    assert path.endswith("c-2")
    fresh = tf.train.Checkpoint(v=tf.Variable(0.0))
    fresh.restore(path)
    assert int(fresh.save_counter.numpy()) == 2


def test_latest_checkpoint_and_state_file(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    ckpt.save(str(tmp_path / "c"))
    p2 = ckpt.save(str(tmp_path / "c"))
    assert tf.train.latest_checkpoint(str(tmp_path)) == p2
    text = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "c-2"' in text


def test_restore_directory_uses_latest(tmp_path):
    v = tf.Variable(1.0)
    ckpt = tf.train.Checkpoint(v=v)
    ckpt.save(str(tmp_path / "c"))
    v.assign(2.0)
    ckpt.save(str(tmp_path / "c"))
    v.assign(0.0)
    ckpt.restore(str(tmp_path))
    assert float(v.numpy()) == 2.0


def test_restore_none_is_initialization_only():
    status = tf.train.Checkpoint(v=tf.Variable(1.0)).restore(None)
    with pytest.raises(AssertionError):
        status.assert_consumed()
    assert status.expect_partial() is status


def test_assert_consumed_fails_on_unused_values(tmp_path):
    path = tf.train.Checkpoint(a=tf.Variable(1.0), b=tf.Variable(2.0)).write(str(tmp_path / "c"))
    status = tf.train.Checkpoint(a=tf.Variable(0.0)).restore(path)
    with pytest.raises(AssertionError, match="b/.ATTRIBUTES"):
        status.assert_consumed()
    status.assert_existing_objects_matched()


def test_assert_existing_objects_matched_fails_on_unmatched_variable(tmp_path):
    path = tf.train.Checkpoint(a=tf.Variable(1.0)).write(str(tmp_path / "c"))
    status = tf.train.Checkpoint(a=tf.Variable(0.0), extra=tf.Variable(5.0)).restore(path)
    with pytest.raises(AssertionError, match="extra|Variable"):
        status.assert_existing_objects_matched()


def test_shape_mismatch_names_variable_and_assigns_nothing(tmp_path):
    path = tf.train.Checkpoint(a=tf.Variable(1.0), b=tf.Variable([1.0, 2.0])).write(
        str(tmp_path / "c"))
    a, b = tf.Variable(7.0), tf.Variable([1.0, 2.0, 3.0], name="bee")
    with pytest.raises(ValueError, match=r"bee.*\(3,\).*\(2,\)"):
        tf.train.Checkpoint(a=a, b=b).restore(path)
    assert float(a.numpy()) == 7.0


def test_plain_object_attributes_are_tracked(tmp_path):
    class Holder:
        def __init__(self):
            self.w = tf.Variable([1.0, 2.0])
            self.inner = [tf.Variable(3.0)]
    h = Holder()
    path = tf.train.Checkpoint(h=h).write(str(tmp_path / "c"))
    names = [n for n, _ in tf.train.list_variables(path)]
    assert "h/w/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert "h/inner/0/.ATTRIBUTES/VARIABLE_VALUE" in names
    h2 = Holder()
    h2.w.assign([0.0, 0.0])
    tf.train.Checkpoint(h=h2).restore(path).assert_consumed()
    np.testing.assert_array_equal(h2.w.numpy(), [1.0, 2.0])


def test_load_variable_and_reader(tmp_path):
    tf.train.Checkpoint(w=tf.Variable([[1, 2]], dtype=tf.int64)).save(str(tmp_path / "c"))
    np.testing.assert_array_equal(
        tf.train.load_variable(str(tmp_path), "w/.ATTRIBUTES/VARIABLE_VALUE"), [[1, 2]])
    reader = tf.train.load_checkpoint(str(tmp_path))
    assert reader.get_variable_to_shape_map()["w/.ATTRIBUTES/VARIABLE_VALUE"] == [1, 2]
    assert reader.get_variable_to_dtype_map()["w/.ATTRIBUTES/VARIABLE_VALUE"] == tf.int64


def test_tensorflow_restores_tapeflow_checkpoint(tmp_path, real_tf):
    ours = _ckpt_objects(tf)
    path = tf.train.Checkpoint(**ours, lst=[tf.Variable(4.0)]).save(str(tmp_path / "c"))
    theirs = {k: real_tf.Variable(np.zeros_like(v.numpy())) for k, v in ours.items()}
    lst = [real_tf.Variable(0.0)]
    ckpt = real_tf.train.Checkpoint(**theirs, lst=lst)
    ckpt.restore(real_tf.train.latest_checkpoint(str(tmp_path))).assert_consumed()
    np.testing.assert_array_equal(theirs["v"].numpy(), [1.0, 2.0])
    assert int(theirs["w"].numpy()) == 3 and float(lst[0].numpy()) == 4.0
    assert int(ckpt.save_counter.numpy()) == 1
    assert path.endswith("c-1")


def test_tapeflow_restores_tensorflow_checkpoint(tmp_path, real_tf):
    theirs = _ckpt_objects(real_tf)
    real_tf.train.Checkpoint(**theirs, dct={"k": real_tf.Variable(8.0)}).save(
        str(tmp_path / "c"))
    ours = {k: tf.Variable(np.zeros_like(v.numpy())) for k, v in theirs.items()}
    d = {"k": tf.Variable(0.0)}
    ckpt = tf.train.Checkpoint(**ours, dct=d)
    ckpt.restore(tf.train.latest_checkpoint(str(tmp_path))).assert_consumed()
    np.testing.assert_array_equal(ours["v"].numpy(), [1.0, 2.0])
    assert int(ours["w"].numpy()) == 3 and float(d["k"].numpy()) == 8.0


def test_trackable_children_may_be_a_dict_or_pairs(tmp_path):
    class AsDict:
        def __init__(self):
            self.v = tf.Variable(1.0)

        def _trackable_children(self):
            return {"weight": self.v}

    class AsPairs(AsDict):
        def _trackable_children(self):
            return [("weight", self.v)]
    for cls in (AsDict, AsPairs):
        path = tf.train.Checkpoint(m=cls()).write(str(tmp_path / cls.__name__))
        assert "m/weight/.ATTRIBUTES/VARIABLE_VALUE" in dict(tf.train.list_variables(path))
