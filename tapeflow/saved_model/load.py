"""`tf.saved_model.load`: TensorFlow's SavedModel directories, read into tapeflow objects.

The reader rebuilds the saved object graph as TensorFlow does:

1. `saved_model.pb` is parsed and the MetaGraph chosen by `tags`.
2. Every node of the `SavedObjectGraph` becomes an object: a `_UserObject` (its
   children become its attributes), a list or dict for Keras's trackable containers, a
   tapeflow `Variable` (name, dtype, shape, trainable) whose value comes from the
   checkpoint in `variables/`, or a constant.
3. Functions: each saved trace becomes a `RestoredConcreteFunction` run by tapeflow's
   FunctionDef interpreter (`graph_runner`), its resource inputs bound to the restored
   Variables; a saved `tf.function` becomes a `RestoredFunction` choosing among its
   traces; `signatures` maps each serving signature to a function returning a dict.
   Every op of every reachable function is checked before `load` returns.

Nothing a file names is imported or executed: the reader only builds data and runs the
ops of its own translation table (`import_ops`).

    >>> import os, tempfile
    >>> import tapeflow as tf
    >>> tf.saved_model.contains_saved_model(tempfile.mkdtemp())
    False
    >>> tf.saved_model.load(os.path.join(tempfile.mkdtemp(), 'nothing'))
    Traceback (most recent call last):
    ...
    OSError: SavedModel file does not exist at: .../nothing/{saved_model.pbtxt|saved_model.pb}
"""
from __future__ import annotations

import os

from tapeflow.saved_model import constants


class LoadOptions:
    """Options for `load`; kept for TensorFlow's signature (the reader runs on the CPU).

    Args:
        allow_partial_checkpoint: accepted as TF does.
        experimental_io_device: accepted as TF does (one device here).
        experimental_skip_checkpoint: when True, Variables keep zeros instead of the
            values in `variables/`.
        experimental_variable_policy: accepted as TF does.
        experimental_load_function_aliases: accepted as TF does.
    """

    def __init__(self, allow_partial_checkpoint=False, experimental_io_device=None,
                 experimental_skip_checkpoint=False, experimental_variable_policy=None,
                 experimental_load_function_aliases=False):
        self.allow_partial_checkpoint = allow_partial_checkpoint
        self.experimental_io_device = experimental_io_device
        self.experimental_skip_checkpoint = experimental_skip_checkpoint
        self.experimental_variable_policy = experimental_variable_policy
        self.experimental_load_function_aliases = experimental_load_function_aliases


def contains_saved_model(export_dir) -> bool:
    """Whether `export_dir` holds a SavedModel (`saved_model.pb` or `.pbtxt`).

    Example:
        >>> import tempfile
        >>> import tapeflow as tf
        >>> tf.saved_model.contains_saved_model(tempfile.mkdtemp())
        False
    """
    path = os.fspath(export_dir)
    return os.path.isdir(path) and any(
        os.path.isfile(os.path.join(path, name)) for name in
        (constants.SAVED_MODEL_FILENAME_PB, constants.SAVED_MODEL_FILENAME_PBTXT))


def _read_meta_graphs(export_dir: str):
    pb = os.path.join(export_dir, constants.SAVED_MODEL_FILENAME_PB)
    if not os.path.isfile(pb):
        if os.path.isfile(os.path.join(export_dir, constants.SAVED_MODEL_FILENAME_PBTXT)):
            raise NotImplementedError(
                f"{export_dir} holds a text-format saved_model.pbtxt; tapeflow reads the "
                "binary saved_model.pb that tf.saved_model.save writes")
        raise OSError(f"SavedModel file does not exist at: {export_dir}{os.path.sep}"
                      f"{{{constants.SAVED_MODEL_FILENAME_PBTXT}|"
                      f"{constants.SAVED_MODEL_FILENAME_PB}}}")
    from google.protobuf.message import DecodeError

    from tapeflow.saved_model._protos import decode_saved_model
    with open(pb, "rb") as f:
        data = f.read()
    try:
        _, graphs = decode_saved_model(data)
    except (ValueError, DecodeError) as e:
        raise OSError(f"Cannot parse file {pb}: {e} (the file is truncated or corrupted, "
                      "or not a SavedModel)") from None
    if not graphs:
        raise OSError(f"Cannot parse file {pb}: it holds no MetaGraph (empty, or not a "
                      "SavedModel)")
    return graphs


def _pick_meta_graph(graphs, tags, export_dir):
    if tags is not None:
        tags = [tags] if isinstance(tags, str) else list(tags)
    available = [list(g.meta_info_def.tags) for g in graphs]
    if len(graphs) == 1 and graphs[0].HasField("object_graph_def"):
        meta = graphs[0]
        if tags is not None and set(tags) != set(meta.meta_info_def.tags):
            raise ValueError(
                f"Got an incompatible argument to `tags`: {tags}. The SavedModel at "
                f"{export_dir} has one MetaGraph with tags {available[0]}. "
                "You may omit the argument, pass 'None', or pass matching tags.")
        return meta
    if tags is None:
        if len(graphs) > 1:
            raise ValueError(f"The SavedModel at {export_dir} has {len(graphs)} MetaGraphs "
                             f"(tags {available}). Pass a 'tags=' argument to load it.")
        meta = graphs[0]
    else:
        matching = [g for g in graphs if set(g.meta_info_def.tags) == set(tags)]
        if not matching:
            raise RuntimeError(
                f"MetaGraphDef associated with tags {str(tags).strip('[]')} could not be "
                f"found in SavedModel, with available tags '{available}'.")
        meta = matching[0]
    return meta


def load(export_dir, tags=None, options=None):
    """Loads a SavedModel written by TensorFlow's or tapeflow's `tf.saved_model.save`.

    Args:
        export_dir: the SavedModel directory.
        tags: the MetaGraph's tags (a string or list); optional when there is one.
        options: a `LoadOptions`.

    Returns:
        The restored root object: its saved attributes (Variables, callable functions,
        sub-objects), and `signatures`, the serving signatures by key. A TF1 SavedModel
        (no object graph) gives an object with `signatures` and `variables`, as in TF.

    Raises:
        OSError: no `saved_model.pb` in `export_dir`, or one truncated or corrupted
            (FileNotFoundError: `variables/` missing).
        ValueError: `tags` match no MetaGraph.
        tf.errors.NotFoundError: a function uses an op the reader does not know.

    Example:
        >>> import tempfile
        >>> import tapeflow as tf
        >>> try:
        ...     tf.saved_model.load(tempfile.mkdtemp())
        ... except OSError as e:
        ...     print('no SavedModel')
        no SavedModel
    """
    from tapeflow.saved_model.object_loader import ObjectGraphLoader
    export_dir = os.fspath(export_dir)
    meta = _pick_meta_graph(_read_meta_graphs(export_dir), tags, export_dir)
    if not meta.HasField("object_graph_def"):      # a TF1 graph: its signatures
        from tapeflow.saved_model.load_v1 import load_v1
        return load_v1(meta, export_dir)
    return ObjectGraphLoader(meta, export_dir, options or LoadOptions()).load()
