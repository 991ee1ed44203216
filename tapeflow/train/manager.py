"""The `checkpoint` state file, `tf.train.latest_checkpoint` and `CheckpointManager`.

A folder of checkpoints has a text-format `CheckpointState` message in a file named
`checkpoint`: the newest prefix, every kept prefix (relative to the folder when they
are inside it) and, when written by a manager, their save times.

    >>> import os, tempfile
    >>> import tapeflow as tf
    >>> folder = tempfile.mkdtemp()
    >>> ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    >>> manager = tf.train.CheckpointManager(ckpt, folder, max_to_keep=2)
    >>> [os.path.basename(manager.save()) for _ in range(3)]
    ['ckpt-1', 'ckpt-2', 'ckpt-3']
    >>> [os.path.basename(p) for p in manager.checkpoints]
    ['ckpt-2', 'ckpt-3']
    >>> tf.train.latest_checkpoint(folder) == manager.latest_checkpoint
    True
"""
from __future__ import annotations

import glob
import os
import time

from tapeflow.train._protos import messages, text_format
from tapeflow.train.files import atomic_write

STATE_FILE = "checkpoint"


def _relative(folder, path):
    if os.path.dirname(os.path.abspath(path)) == os.path.abspath(folder):
        return os.path.basename(path)
    return path


def _absolute(folder, path):
    return path if os.path.isabs(path) else os.path.join(folder, path)


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The folder's CheckpointState message (paths made absolute), or None."""
    checkpoint_dir = os.fspath(checkpoint_dir)
    path = os.path.join(checkpoint_dir, latest_filename or STATE_FILE)
    if not os.path.exists(path):
        return None
    state = messages().CheckpointState()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        text_format().Merge(text, state)
    except text_format().ParseError as e:
        raise ValueError(f"{path}: not a checkpoint state file ({e})") from None
    if state.model_checkpoint_path:
        state.model_checkpoint_path = _absolute(checkpoint_dir, state.model_checkpoint_path)
    paths = [_absolute(checkpoint_dir, p) for p in state.all_model_checkpoint_paths]
    del state.all_model_checkpoint_paths[:]
    state.all_model_checkpoint_paths.extend(paths)
    return state


def write_state(folder, latest, paths, timestamps=None, last_preserved=None):
    state = messages().CheckpointState(model_checkpoint_path=_relative(folder, latest))
    state.all_model_checkpoint_paths.extend(_relative(folder, p) for p in paths)
    if timestamps is not None:
        state.all_model_checkpoint_timestamps.extend(timestamps)
    if last_preserved is not None:
        state.last_preserved_timestamp = last_preserved
    text = text_format().MessageToString(state).encode("utf-8")
    atomic_write(os.path.join(folder, STATE_FILE), lambda f: f.write(text))


def record_checkpoint(folder, path):
    """Makes `path` the folder's latest checkpoint (what Checkpoint.save does)."""
    write_state(folder, path, [path])


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint in `checkpoint_dir`, or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not state.model_checkpoint_path:
        return None
    prefix = state.model_checkpoint_path
    if os.path.exists(prefix + ".index"):
        return prefix
    return None


def checkpoint_exists(prefix) -> bool:
    return os.path.exists(os.fspath(prefix) + ".index")


def _delete(prefix):
    for f in [prefix + ".index"] + glob.glob(glob.escape(prefix) + ".data-*-of-*"):
        try:
            os.remove(f)
        except FileNotFoundError:
            pass


class CheckpointManager:
    """Saves numbered checkpoints in a folder and deletes old ones.

    Args:
        checkpoint: the `tf.train.Checkpoint` to save.
        directory: the folder (created when needed).
        max_to_keep: how many recent checkpoints to keep (None: all).
        keep_checkpoint_every_n_hours: also keep one checkpoint per this many hours.
        checkpoint_name: the file prefix ('ckpt').
        step_counter: a Variable; with `checkpoint_interval`, save only every that many steps.
        checkpoint_interval: minimum steps between saves.
        init_fn: called by `restore_or_initialize` when there is no checkpoint.
    """

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None,
                 init_fn=None):
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"Expected a positive integer or `None` for `max_to_keep`, got "
                             f"{max_to_keep}.")
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("`step_counter` should be passed if `checkpoint_interval` is not "
                             "None.")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_hours = keep_checkpoint_every_n_hours
        self._prefix = os.path.join(self._directory, checkpoint_name)
        self._step_counter = step_counter
        self._interval = checkpoint_interval
        self._init_fn = init_fn
        self._last_step = None
        state = get_checkpoint_state(self._directory)
        now = time.time()
        self._kept = {}             # prefix -> save time, oldest first
        self._last_preserved = now
        if state is not None:
            stamps = list(state.all_model_checkpoint_timestamps)
            for i, p in enumerate(state.all_model_checkpoint_paths):
                self._kept[p] = stamps[i] if i < len(stamps) else now
            if state.last_preserved_timestamp:
                self._last_preserved = state.last_preserved_timestamp
            self._latest = latest_checkpoint(self._directory)
        else:
            self._latest = None

    @property
    def directory(self):
        return self._directory

    @property
    def checkpoint(self):
        return self._checkpoint

    @property
    def latest_checkpoint(self):
        """The newest checkpoint's prefix, or None."""
        return self._latest

    @property
    def checkpoints(self) -> list:
        """The kept checkpoints' prefixes, oldest first."""
        return list(self._kept)

    @property
    def checkpoint_interval(self):
        return self._interval

    def _sweep(self):
        if self._max_to_keep is None:
            return
        while len(self._kept) > self._max_to_keep:
            prefix, stamp = next(iter(self._kept.items()))
            del self._kept[prefix]
            if self._keep_hours and stamp - self._last_preserved >= self._keep_hours * 3600:
                self._last_preserved = stamp
                continue
            _delete(prefix)

    def save(self, checkpoint_number=None, check_interval=True, options=None):
        """Saves a checkpoint (unless the step interval says not yet); returns its prefix or
        None."""
        if self._interval is not None and check_interval:
            step = int(self._step_counter.numpy())
            if self._last_step is not None and step < self._last_step + self._interval:
                return None
            self._last_step = step
        counter = self._checkpoint.save_counter
        counter.assign_add(1)
        if checkpoint_number is None:
            number = int(counter.numpy())
        else:
            number = int(checkpoint_number.numpy() if hasattr(checkpoint_number, "numpy")
                         else checkpoint_number)
        os.makedirs(self._directory, exist_ok=True)
        prefix = f"{self._prefix}-{number}"
        self._checkpoint.write(prefix)
        self._kept.pop(prefix, None)
        self._kept[prefix] = time.time()
        self._latest = prefix
        self._sweep()
        write_state(self._directory, prefix, list(self._kept), list(self._kept.values()),
                    self._last_preserved)
        return prefix

    def restore_or_initialize(self):
        """Restores the latest checkpoint (returns its path) or calls `init_fn` (returns
        None)."""
        if self._latest is not None:
            self._checkpoint.restore(self._latest)
            if self._interval is not None:
                self._last_step = int(self._step_counter.numpy())
            return self._latest
        if self._init_fn is not None:
            self._init_fn()
        return None

    def sync(self):
        """Nothing is buffered: saves are written when `save` returns."""
