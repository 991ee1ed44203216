"""Saving and loading never half-update a model, never lose or litter files, and name the
file in every error (issue 14 items 7-9)."""
import io
import json
import os
import stat
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

h5py = pytest.importorskip("h5py")
L = keras.layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def _model():
    model = keras.Sequential([keras.Input((3,)), L.Dense(4), L.Dense(2)])
    model.compile("adam", "mse")
    return model


def _snapshot(model):
    return [w.copy() for w in model.get_weights()]


def _unchanged(model, before):
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_npz_with_a_text_array_assigns_nothing(tmp_path):
    model = _model()
    arrays = {str(i): w for i, w in enumerate(model.get_weights())}
    arrays["3"] = np.array(["a", "b"])           # the last of four weights is text
    np.savez(tmp_path / "w.npz", **arrays)
    before = _snapshot(model)
    for w in model.weights:
        w.assign(w.numpy() + 1)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"w\.npz.*dense_1/bias"):
        model.load_weights(str(tmp_path / "w.npz"))
    _unchanged(model, before)


def test_complex_weights_are_refused_not_cast(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "w.weights.h5"))
    with h5py.File(tmp_path / "w.weights.h5", "r+") as f:
        data = f["layers/dense/vars/0"][()]
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = data.astype(np.complex64) + 1j
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*dense/kernel.*complex"):
        model.load_weights(str(tmp_path / "w.weights.h5"))
    _unchanged(model, before)


def test_h5_with_a_wrong_shape_names_file_and_variable_and_assigns_nothing(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "w.weights.h5"))
    with h5py.File(tmp_path / "w.weights.h5", "r+") as f:
        del f["layers/dense_1/vars/1"]
        f["layers/dense_1/vars/1"] = np.zeros(5, np.float32)
    for w in model.weights:
        w.assign(w.numpy() * 0 + 3)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*dense_1/bias.*\(2,\).*\(5,\)"):
        model.load_weights(str(tmp_path / "w.weights.h5"))
    _unchanged(model, before)


def test_write_protected_file_is_not_replaced(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(str(path))
    before = path.read_bytes()
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP)
    with pytest.raises(PermissionError, match="write-protected"):
        _model().save(str(path))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]


def test_save_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real.keras"
    link = tmp_path / "link.keras"
    model = _model()
    model.save(str(real))
    os.symlink(real, link)
    model.layers[0].kernel.assign(np.ones((3, 4), np.float32))
    model.save(str(link))
    assert os.path.islink(link)
    loaded = keras.models.load_model(str(real))
    np.testing.assert_array_equal(loaded.layers[0].kernel.numpy(), np.ones((3, 4)))


def test_temp_files_of_killed_saves_are_cleaned(tmp_path):
    dead = tmp_path / ".tapeflow-tmp-999999999-abc123-m.keras"     # no such process
    dead.write_bytes(b"x" * 100)
    old = tmp_path / ".tmp-abcd1234m.keras"                          # previous saver's name
    old.write_bytes(b"x")
    os.utime(old, (1, 1))
    _model().save(str(tmp_path / "m.keras"))
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


def test_failed_checkpoint_write_leaves_no_files(tmp_path, monkeypatch):
    from tapeflow.train import bundle

    def broken(tensors):
        raise OSError("disk full")
    monkeypatch.setattr(bundle, "bundle_contents", broken)
    with pytest.raises(OSError, match="disk full"):
        tf.train.Checkpoint(v=tf.Variable(1.0)).save(str(tmp_path / "c"))
    assert os.listdir(tmp_path) == []


def _rewrite_config(src, dst, text):
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["config.json"] = text.encode() if isinstance(text, str) else text
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


@pytest.mark.parametrize("text", ['{"class_name": "Sequential", "config": {"layers": [{"cl',
                                  '{"class_name": "Sequential"}',
                                  '{"class_name": "Functional", "config": {"layers": 5}}',
                                  "[" * 100000 + "]" * 100000, "[1, 2]"],
                         ids=["truncated", "no-config", "wrong-type", "deep", "not-object"])
def test_malformed_config_json_names_the_file(tmp_path, text):
    _model().save(str(tmp_path / "m.keras"))
    _rewrite_config(tmp_path / "m.keras", tmp_path / "bad.keras", text)
    with pytest.raises(ValueError, match=r"bad\.keras"):
        keras.models.load_model(str(tmp_path / "bad.keras"))


def test_zip_member_inflating_past_the_model_size_is_refused(tmp_path):
    _model().save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        members = {n: z.read(n) for n in z.namelist() if n != "model.weights.h5"}
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            z.writestr(n, data)
        z.writestr("model.weights.h5", bytes(48 << 20))       # 48 MB of zeros, ~50 KB packed
    assert os.path.getsize(tmp_path / "bomb.keras") < 1 << 20
    with pytest.raises(ValueError, match=r"bomb\.keras.*model\.weights\.h5.*inflate"):
        keras.models.load_model(str(tmp_path / "bomb.keras"))


def test_checkpoint_with_bad_data_checksum_names_file_and_variable(tmp_path):
    v, w = tf.Variable([1.0, 2.0], name="first"), tf.Variable([3.0, 4.0], name="second")
    path = tf.train.Checkpoint(a=v, b=w).write(str(tmp_path / "c"))
    data = tmp_path / "c.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0x40                                     # inside the last tensor written
    data.write_bytes(bytes(raw))
    v.assign([0.0, 0.0])
    w.assign([0.0, 0.0])
    with pytest.raises(ValueError, match=r"c\.data-00000-of-00001.*ATTRIBUTES"):
        tf.train.Checkpoint(a=v, b=w).restore(path)
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])


def test_truncated_checkpoint_index_names_the_file(tmp_path):
    path = tf.train.Checkpoint(a=tf.Variable(1.0)).write(str(tmp_path / "c"))
    index = tmp_path / "c.index"
    index.write_bytes(index.read_bytes()[:30])
    with pytest.raises(ValueError, match=r"c\.index.*truncated"):
        tf.train.Checkpoint(a=tf.Variable(0.0)).restore(path)


def test_loading_never_unpickles(tmp_path):
    model = _model()
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "w.npz", **{str(i): w for i, w in enumerate(model.get_weights()[:3])},
             **{"3": np.array([{"evil": 1}], dtype=object)})
    with pytest.raises(ValueError, match="pickle"):
        model.load_weights(str(tmp_path / "w.npz"))


def test_json_round_trip_of_config_is_plain_data(tmp_path):
    _model().save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        json.loads(z.read("config.json"))
