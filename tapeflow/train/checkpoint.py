"""`tf.train.Checkpoint`: object-graph checkpoints in TensorFlow's own file format.

Saving walks the objects from the checkpoint's root breadth first (`trackable.children`
names the edges), numbers them in the order they are found and stores:

* every variable's value under the path by which it was first reached, plus
  `/.ATTRIBUTES/VARIABLE_VALUE` (`model/_operations/1/_kernel/.ATTRIBUTES/VARIABLE_VALUE`);
* the graph itself, a `TrackableObjectGraph` message, as a string tensor under
  `_CHECKPOINTABLE_OBJECT_GRAPH`,

in a tensor bundle (`bundle.py`). Restoring walks the checkpoint's graph and the
objects side by side, matching children by name, so a checkpoint written by
TensorFlow restores into the same model built with tapeflow and the other way round.
Every value found is checked (shape, dtype) before any variable changes. A child that
does not exist yet (a layer not built, an optimizer without slots) is restored when
it is created (`deferred.py`), as TensorFlow's delayed restoration does.

    >>> import os, tempfile
    >>> import tapeflow as tf
    >>> v = tf.Variable([1.0, 2.0])
    >>> ckpt = tf.train.Checkpoint(v=v)
    >>> path = ckpt.save(os.path.join(tempfile.mkdtemp(), 'ckpt'))
    >>> os.path.basename(path)
    'ckpt-1'
    >>> _ = v.assign([0.0, 0.0])
    >>> _ = ckpt.restore(path).assert_consumed()
    >>> v.numpy()
    array([1., 2.], dtype=float32)
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from tapeflow.framework.context import init_scope
from tapeflow.framework.variables import Variable
from tapeflow.train import bundle, data_structures, deferred, trackable
from tapeflow.train._protos import messages

GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


# -- saving ------------------------------------------------------------------------------------

def _walk(root):
    """Breadth-first: (objects by node id, children refs per node, key path per node)."""
    objects, refs, paths = [root], [[]], [[]]
    ids = {id(root): 0}
    i = 0
    while i < len(objects):
        if isinstance(objects[i], data_structures.WRAPPERS):
            objects[i]._check_savable()
        for name, child in trackable.children(objects[i]):
            if id(child) not in ids:
                ids[id(child)] = len(objects)
                objects.append(child)
                refs.append([])
                paths.append(paths[i] + [trackable.escape(name)])
            refs[i].append((ids[id(child)], name))
        i += 1
    return objects, refs, paths


def serialize(root) -> tuple[dict, bytes]:
    """({checkpoint key: array}, serialized object graph) of the objects under `root`."""
    m = messages()
    objects, refs, paths = _walk(root)
    graph = m.TrackableObjectGraph()
    tensors = {}
    has_values = [isinstance(o, Variable) for o in objects]
    for i in range(len(objects) - 1, -1, -1):      # children are found after parents
        has_values[i] = has_values[i] or any(has_values[c] for c, _ in refs[i])
    for i, obj in enumerate(objects):
        node = graph.nodes.add()
        for child, name in refs[i]:
            node.children.add(node_id=child, local_name=name)
        if isinstance(obj, Variable):
            key = "/".join(paths[i]) + _VALUE_SUFFIX
            node.attributes.add(name="VARIABLE_VALUE", full_name=obj._name, checkpoint_key=key)
            tensors[key] = np.array(obj._value, copy=True)
        if has_values[i]:
            node.has_checkpoint_values.value = True
    data = graph.SerializeToString()
    tensors[GRAPH_KEY] = np.array(data, dtype=object)
    return tensors, data


def write_checkpoint(prefix: str, root) -> str:
    """Writes the bundle for `root` at `prefix` (index renamed into place last)."""
    from tapeflow.train.files import atomic_write_many
    prefix = os.fspath(prefix)
    tensors, _ = serialize(root)
    index, data = bundle.bundle_contents(tensors)
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    index_path, data_path = bundle.bundle_files(prefix)
    atomic_write_many({data_path: data, index_path: index})
    return prefix


# -- restoring -------------------------------------------------------------------------------

class _Restore:
    """One restore: the checkpoint's graph matched against live objects."""

    def __init__(self, reader, graph, path):
        self.reader, self.graph, self.path = reader, graph, path
        self.matched = {}             # node id -> object
        self.restored = set()         # node ids whose value was assigned

    def _value(self, node_id, var):
        node = self.graph.nodes[node_id]
        for attr in node.attributes:
            if attr.name == "VARIABLE_VALUE":
                key = attr.checkpoint_key
                value = self.reader.tensor(key)
                want = tuple(var.shape.as_list())
                if tuple(value.shape) != want:
                    raise ValueError(f"Cannot restore variable '{var.name}' from {self.path}: "
                                     f"it has shape {want}, the checkpoint's {key!r} has shape "
                                     f"{tuple(value.shape)}. Is this a checkpoint of another "
                                     "model?")
                vdt = var._value.dtype
                if value.dtype != vdt and not (value.dtype.kind == vdt.kind or (
                        value.dtype.kind in "iu" and vdt.kind in "iu")):
                    raise ValueError(f"Cannot restore variable '{var.name}' (dtype {vdt}) from "
                                     f"{self.path}: the checkpoint's {key!r} has dtype "
                                     f"{value.dtype}")
                return value
        return None

    def collect(self, obj, node_id, assign, owner=None):
        """Matches `obj` to node `node_id` and below; appends (variable, value, node) to
        `assign` and, for children that do not exist yet, the object that will create them
        (`owner`: the nearest object that is not a container) to `self._pending`."""
        previous = self.matched.get(node_id)
        if isinstance(obj, Variable):
            if previous is obj and node_id in self.restored:
                return
            self.matched[node_id] = obj
            value = self._value(node_id, obj)
            if value is not None:
                assign.append((obj, value, node_id))
            return
        self.matched[node_id] = obj
        if not _is_container(obj):
            owner = (obj, node_id)
        kids = dict(trackable.children(obj))
        node = self.graph.nodes[node_id]
        refs = list(node.children)
        if any(r.local_name == "_index_dict" for r in refs):
            # Keras 2.11+ optimizers list their variables in another order: match them
            # through `_iterations` and the slot lists only.
            refs = [r for r in refs if r.local_name != "_variables"]
        for ref in refs:
            child = kids.get(ref.local_name)
            if child is None:
                child = trackable.legacy_child(obj, ref.local_name, kids)
            if child is None:
                self._wait(owner)
                continue
            self.collect(child, ref.node_id, assign, owner)
        for ref in node.slot_variables:
            self._collect_slot(obj, ref, assign, owner)

    def _wait(self, owner):
        if owner is not None and owner not in self._pending:
            self._pending.append(owner)

    def _collect_slot(self, opt, ref, assign, owner):
        """A Keras 2 (OptimizerV2) slot variable, stored by the variable it belongs to."""
        var = self.matched.get(ref.original_variable_node_id)
        attr = trackable.LEGACY_SLOTS.get(ref.slot_name)
        slots = getattr(opt, attr, None) if attr and getattr(opt, "built", False) else None
        if var is None or not slots:
            self._wait(owner)
            return
        index = getattr(opt, "_index", {}).get(id(var))
        if index is not None and index < len(slots):
            self.collect(slots[index], ref.slot_variable_node_id, assign, owner)

    def run(self, obj, node_id):
        """Matches and assigns; nothing is assigned unless every value checks out."""
        assign, self._pending = [], []
        self.collect(obj, node_id, assign)
        if self._pending:       # slots whose variables were matched later in this walk
            retry, self._pending = self._pending, []
            for owner, nid in retry:
                self.collect(owner, nid, assign)
        seen, unique = set(), []
        for item in assign:
            if item[2] not in seen:
                seen.add(item[2])
                unique.append(item)
        for var, value, nid in unique:
            np.copyto(var._value, value, casting="unsafe")
            self.restored.add(nid)
        for owner, nid in self._pending:
            deferred.wait(owner, self, nid)
        return len(assign)

    def _walk_deferred(self, owner, node_id):
        self.run(owner, node_id)

    def value_nodes(self):
        return [i for i, n in enumerate(self.graph.nodes)
                if any(a.name == "VARIABLE_VALUE" for a in n.attributes)]


class CheckpointLoadStatus:
    """What `Checkpoint.restore` returns: checks of how well the checkpoint matched."""

    def __init__(self, restore, root):
        self._restore = restore
        self._root = root

    def _live_variables(self):
        objects, _, _ = _walk(self._root)
        counter = getattr(self._root, "_save_counter", None)   # absent from `write` files
        return [o for o in objects if isinstance(o, Variable) and o is not counter]

    def assert_consumed(self):
        """Raises AssertionError unless every value in the checkpoint was restored and every
        variable of the objects was matched."""
        r = self._restore
        unused = [n for n in r.value_nodes() if n not in r.restored]
        if unused:
            keys = [r.graph.nodes[n].attributes[0].checkpoint_key for n in unused]
            raise AssertionError(f"Unresolved object in checkpoint {r.path}: {len(unused)} "
                                 f"value(s) were not restored (e.g. {keys[:5]}). They wait "
                                 "for objects not created yet, or belong to objects not "
                                 "passed to this Checkpoint.")
        self.assert_existing_objects_matched()
        return self

    def assert_existing_objects_matched(self):
        """Raises AssertionError if a variable of the objects has no value in the checkpoint."""
        r = self._restore
        matched = {id(o) for n, o in r.matched.items() if n in r.restored}
        missing = [v.name for v in self._live_variables() if id(v) not in matched]
        if missing:
            raise AssertionError(f"Some objects had no value in checkpoint {r.path}: "
                                 f"{missing[:10]}")
        return self

    def assert_nontrivial_match(self):
        """Raises AssertionError unless at least one value besides the save counter matched."""
        r = self._restore
        if not any(not r.graph.nodes[n].attributes[0].checkpoint_key.startswith("save_counter")
                   for n in r.restored):
            raise AssertionError(f"Nothing except the root object matched checkpoint {r.path}")
        return self

    def expect_partial(self):
        """Says that an incomplete match is intended (no checks, no warnings)."""
        return self

    def run_restore_ops(self, session=None):
        """Values are restored eagerly; nothing to run."""

    def initialize_or_restore(self, session=None):
        """Values are restored eagerly; nothing to run."""


class InitializationOnlyStatus(CheckpointLoadStatus):
    """`restore(None)`: nothing restored; assertions other than partial ones fail."""

    def __init__(self, root):
        self._root = root

    def assert_consumed(self):
        raise AssertionError("No checkpoint was restored (restore(None))")

    assert_existing_objects_matched = assert_nontrivial_match = assert_consumed


def open_graph(path):
    """(BundleReader, TrackableObjectGraph) of the checkpoint at `path`."""
    reader = bundle.BundleReader(path)
    if not reader.has(GRAPH_KEY):
        raise ValueError(f"{path} is a name-based (TF1) checkpoint without an object graph; "
                         "tapeflow restores object-based checkpoints (tf.train.Checkpoint)")
    from google.protobuf.message import DecodeError
    try:
        graph = messages().TrackableObjectGraph.FromString(reader.tensor(GRAPH_KEY).item())
    except DecodeError:
        raise bundle.CheckpointError(f"{path}: corrupted object graph") from None
    return reader, graph


def _is_iterator(obj) -> bool:
    return hasattr(type(obj), "__next__") and not trackable.is_trackable(obj)


def _is_container(obj) -> bool:
    # Lists and the helper objects of trackable.py are made anew on every walk: the object
    # that owns them waits for their missing children instead.
    # List and dict attributes wrapped for tracking (data_structures.py) persist: they wait
    # for their own missing children, which `append` completes.
    if isinstance(obj, data_structures.WRAPPERS):
        return False
    return isinstance(obj, (list, tuple, dict)) or type(obj).__name__ in (
        "_SequentialOps", "_Cell")


# -- the public class ----------------------------------------------------------------------

class Checkpoint:
    """Groups objects (models, optimizers, variables, modules) to save and restore.

    Args:
        root: optional object to use as the root of the graph.
        **kwargs: the objects to save, by name (`model=model, optimizer=opt`).
    """

    def __init__(self, root=None, **kwargs):
        for name, value in kwargs.items():
            if value is None or isinstance(value, (int, float, str, bytes, bool)):
                raise ValueError(f"`Checkpoint` was expecting a trackable object (an object "
                                 f"derived from `Trackable`), got {value!r}. If you believe "
                                 "this object should be trackable, check its type.")
            if _is_iterator(value):
                warnings.warn(f"Checkpoint: the position of the iterator {name!r} is not saved "
                              "by tapeflow; after a restore it starts from its beginning.",
                              stacklevel=2)
        d = self.__dict__
        d["_root"] = root
        d["_kwargs"] = {k: data_structures.wrap(v) for k, v in sorted(kwargs.items())}
        d["_save_counter"] = None
        d["_save_assign_op"] = None

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        self._kwargs[name] = data_structures.wrap(value)
        deferred.notify(self)

    def __getattr__(self, name):
        kwargs = self.__dict__.get("_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"'Checkpoint' object has no attribute {name!r}")

    def _trackable_children(self):
        out = list(trackable.children(self._root)) if self._root is not None else []
        out += list(self._kwargs.items())
        if self._save_counter is not None:
            out.append(("save_counter", self._save_counter))
        return out

    @property
    def save_counter(self) -> Variable:
        """How many times `save` has run (an int64 Variable, saved with the checkpoint)."""
        if self._save_counter is None:
            with init_scope():
                self.__dict__["_save_counter"] = Variable(np.int64(0), trainable=False,
                                                          name="save_counter")
        return self._save_counter

    def write(self, file_prefix, options=None) -> str:
        """Writes a checkpoint at exactly `file_prefix` (no counter, no state file)."""
        return write_checkpoint(os.fspath(file_prefix), self)

    def save(self, file_prefix, options=None) -> str:
        """Writes `file_prefix-N` (N = the incremented `save_counter`) and records it in the
        folder's `checkpoint` state file. Returns the path written."""
        from tapeflow.train import manager
        counter = self.save_counter
        counter.assign_add(1)
        path = f"{os.fspath(file_prefix)}-{int(counter.numpy())}"
        try:
            self.write(path)
        except BaseException:
            counter.assign_sub(1)
            raise
        manager.record_checkpoint(os.path.dirname(path) or ".", path)
        return path

    def read(self, save_path, options=None) -> CheckpointLoadStatus:
        """Restores from `save_path` (written by `write` or `save`)."""
        return self.restore(save_path)

    def restore(self, save_path, options=None) -> CheckpointLoadStatus:
        """Restores every object whose variables exist now; the others are restored when
        they create their variables. Returns a status object with assertions."""
        if save_path is None:
            return InitializationOnlyStatus(self)
        save_path = os.fspath(save_path)
        if os.path.isdir(save_path):
            from tapeflow.train.manager import latest_checkpoint
            found = latest_checkpoint(save_path)
            if found is None:
                raise FileNotFoundError(f"No checkpoint found in the folder {save_path}")
            save_path = found
        reader, graph = open_graph(save_path)
        _ = self.save_counter        # created now so that it is restored, as in TensorFlow
        r = _Restore(reader, graph, save_path)
        if len(graph.nodes):
            r.run(self, 0)
        return CheckpointLoadStatus(r, self)

