"""Reading a checkpoint's values by key: `tf.train.load_checkpoint`, `list_variables`,
`load_variable`.

    >>> import os, tempfile
    >>> import tapeflow as tf
    >>> folder = tempfile.mkdtemp()
    >>> _ = tf.train.Checkpoint(w=tf.Variable([1.0, 2.0])).save(os.path.join(folder, 'c'))
    >>> [name for name, _ in tf.train.list_variables(folder)]
    ['_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter/.ATTRIBUTES/VARIABLE_VALUE',
     'w/.ATTRIBUTES/VARIABLE_VALUE']
    >>> tf.train.load_variable(folder, 'w/.ATTRIBUTES/VARIABLE_VALUE')
    array([1., 2.], dtype=float32)
"""
from __future__ import annotations

import os

from tapeflow.train.bundle import BundleReader


def _resolve(ckpt_dir_or_file) -> str:
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        from tapeflow.train.manager import latest_checkpoint
        found = latest_checkpoint(path)
        if found is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given "
                             f"directory {path}")
        return found
    return path


class CheckpointReader:
    """The values of one checkpoint, by key."""

    def __init__(self, prefix):
        self._bundle = BundleReader(prefix)

    def get_tensor(self, key):
        value = self._bundle.tensor(key)
        return value.item() if value.dtype == object and value.ndim == 0 else value

    def has_tensor(self, key) -> bool:
        return self._bundle.has(key)

    def get_variable_to_shape_map(self) -> dict:
        return {k: self._bundle.shape(k) for k in self._bundle.names()}

    def get_variable_to_dtype_map(self) -> dict:
        from tapeflow.framework import dtypes
        out = {}
        for k in self._bundle.names():
            try:
                dt = self._bundle.dtype(k)
            except ValueError:          # TF-only kinds (variant iterator state, resource)
                out[k] = f"DataType({self._bundle.entry(k).dtype})"
                continue
            # tapeflow has no string dtype yet: such values (the object graph) say "string".
            out[k] = getattr(dtypes, "string", "string") if dt is object else \
                dtypes.as_dtype(dt)
        return out

    def debug_string(self) -> bytes:
        return "".join(f"{k} ({self._bundle.dtype(k)}) {self._bundle.shape(k)}\n"
                       for k in self._bundle.names()).encode()


def load_checkpoint(ckpt_dir_or_file) -> CheckpointReader:
    """A reader for the checkpoint at a prefix, or the latest one in a folder."""
    return CheckpointReader(_resolve(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file) -> list:
    """[(key, shape)] of every value in the checkpoint, sorted by key."""
    reader = load_checkpoint(ckpt_dir_or_file)
    return sorted(reader.get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file, name):
    """The value stored under `name` (a trailing ':0' is ignored, as TensorFlow does)."""
    name = name.removesuffix(":0")
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)
