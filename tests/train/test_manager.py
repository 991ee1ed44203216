"""CheckpointManager and the `checkpoint` state file."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.train import manager as manager_mod


def _prefixes(folder):
    return sorted(f[:-len(".index")] for f in os.listdir(folder) if f.endswith(".index"))


def test_max_to_keep_deletes_the_oldest(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    m = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    paths = [m.save() for _ in range(4)]
    assert m.checkpoints == paths[2:]
    assert _prefixes(tmp_path) == ["ckpt-3", "ckpt-4"]
    assert m.latest_checkpoint == paths[-1] == tf.train.latest_checkpoint(str(tmp_path))


def test_max_to_keep_none_keeps_all(tmp_path):
    m = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(tmp_path),
                                   max_to_keep=None)
    for _ in range(3):
        m.save()
    assert _prefixes(tmp_path) == ["ckpt-1", "ckpt-2", "ckpt-3"]


def test_keep_checkpoint_every_n_hours_preserves_old_ones(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(manager_mod.time, "time", lambda: clock[0])
    m = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(tmp_path),
                                   max_to_keep=1, keep_checkpoint_every_n_hours=1)
    for _ in range(4):
        clock[0] += 1900            # a bit over half an hour per save
        m.save()
    # ckpt-2 (3800 s after start) is kept for the hour; ckpt-1 and ckpt-3 are deleted
    assert _prefixes(tmp_path) == ["ckpt-2", "ckpt-4"]
    assert [os.path.basename(p) for p in m.checkpoints] == ["ckpt-4"]


def test_checkpoint_interval_skips_early_saves(tmp_path):
    step = tf.Variable(0, dtype=tf.int64)
    m = tf.train.CheckpointManager(tf.train.Checkpoint(step=step), str(tmp_path), max_to_keep=5,
                                   step_counter=step, checkpoint_interval=3)
    saved = []
    for i in range(7):
        step.assign(i)
        saved.append(m.save() is not None)
    assert saved == [True, False, False, True, False, False, True]
    assert m.save(check_interval=False) is not None


def test_explicit_checkpoint_number(tmp_path):
    m = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(tmp_path), 3)
    assert m.save(checkpoint_number=100).endswith("ckpt-100")


def test_new_manager_picks_up_existing_checkpoints(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    first = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    first.save()
    first.save()
    second = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    assert second.checkpoints == first.checkpoints
    second.save()
    assert _prefixes(tmp_path) == ["ckpt-2", "ckpt-3"]


def test_restore_or_initialize(tmp_path):
    v = tf.Variable(1.0)
    called = []
    m = tf.train.CheckpointManager(tf.train.Checkpoint(v=v), str(tmp_path), 2,
                                   init_fn=lambda: called.append(True))
    assert m.restore_or_initialize() is None and called == [True]
    m.save()
    v.assign(5.0)
    m2 = tf.train.CheckpointManager(tf.train.Checkpoint(v=v), str(tmp_path), 2)
    assert m2.restore_or_initialize() == m.latest_checkpoint
    assert float(v.numpy()) == 1.0


def test_rejects_bad_max_to_keep(tmp_path):
    with pytest.raises(ValueError, match="max_to_keep"):
        tf.train.CheckpointManager(tf.train.Checkpoint(), str(tmp_path), max_to_keep=0)


def test_tensorflow_reads_our_state_file_and_we_read_theirs(tmp_path, real_tf):
    ours = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable([1.0, 2.0])),
                                      str(tmp_path / "a"), max_to_keep=2)
    ours.save()
    ours.save()
    state = real_tf.train.get_checkpoint_state(str(tmp_path / "a"))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-1", "ckpt-2"]
    assert real_tf.train.latest_checkpoint(str(tmp_path / "a")) == ours.latest_checkpoint
    theirs = real_tf.train.CheckpointManager(real_tf.train.Checkpoint(v=real_tf.Variable(3.0)),
                                             str(tmp_path / "b"), max_to_keep=3)
    theirs.save()
    path = theirs.save()
    assert tf.train.latest_checkpoint(str(tmp_path / "b")) == path
    m = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(0.0)), str(tmp_path / "b"),
                                   max_to_keep=3)
    assert m.checkpoints == theirs.checkpoints
    assert np.isclose(float(tf.train.load_variable(path, "v/.ATTRIBUTES/VARIABLE_VALUE")), 3.0)
