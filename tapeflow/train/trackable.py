"""The object graph of a checkpoint: which objects own which, under which names.

A checkpoint stores values by *path of names* from its root object, as TensorFlow
does: `Checkpoint(model=m)` saves the Dense kernel of a functional model under
`model/_operations/1/_kernel`. `children(obj)` lists an object's named children:

* a `Variable` has none (it holds a value);
* `ListWrapper` / `DictWrapper` (lists and dicts assigned to a Checkpoint or a Module,
  data_structures.py): what they say, as lists and dicts below;
* lists and tuples: their trackable items, named '0', '1', ...; dicts: by key;
* an object with a `_trackable_children()` method (e.g. `Checkpoint`): what it says;
* Keras objects, under the names TensorFlow 2.21 with Keras 3 gives them:
  layers own their weights (`_kernel`/`bias` for Dense and convolutions,
  `gamma`, `moving_mean`, ...; recurrent layers under `cell`) and their sublayers
  by attribute; Sequential models hold `_functional/_operations` and functional
  models `_operations` (the input layer first); a compiled model also holds its
  `optimizer`; optimizers hold `_iterations`, `_learning_rate`, `_variables` (in
  Keras 3's order), `_trainable_variables` and one list per slot kind;
* any other object (e.g. a `tf.Module`) reached as a `Checkpoint` argument or as a
  Module: its attributes, in assignment order, that hold trackable values.

`notify(obj)` is called by layers and optimizers once they have created their
variables; it applies restorations that were waiting for them (see checkpoint.py).
"""
from __future__ import annotations

import re
import weakref

from tapeflow.framework.variables import Variable
from tapeflow.train.data_structures import WRAPPERS


class Placeholder:
    """A node with no values of its own, standing where TensorFlow has an object that
    tapeflow does not (the input layer of a Sequential model)."""

    def _trackable_children(self):
        return []


_INPUT_PLACEHOLDERS = weakref.WeakKeyDictionary()

# Keras 3 keeps these weights in private attributes; the checkpoint uses those names.
_PRIVATE_WEIGHTS = {"Dense": {"kernel": "_kernel"}, "Conv1D": {"kernel": "_kernel"},
                    "Conv2D": {"kernel": "_kernel"}, "Conv3D": {"kernel": "_kernel"},
                    "Embedding": {"embeddings": "_embeddings"},
                    "Normalization": {"mean": "adapt_mean", "variance": "adapt_variance"}}
_RECURRENT = ("SimpleRNN", "GRU", "LSTM")

# Keras 3's optimizer variables: after iterations and learning rate, one group per
# `add_optimizer_variables` call, each interleaved over the model variables.
# (checkpoint name of the slot list, tapeflow attribute) per slot kind.
_SLOT_GROUPS = {
    "SGD": [[("momentums", "_momentums")]],
    "Adam": [[("_momentums", "_momentums"), ("_velocities", "_velocities")],
             [("_velocity_hats", "_velocity_hats")]],
    "RMSprop": [[("_velocities", "_velocities")], [("_momentums", "_momentums")],
                [("_average_gradients", "_average_gradients")]],
    "Adagrad": [[("_accumulators", "_accumulators")]],
}
_SLOT_GROUPS["AdamW"] = _SLOT_GROUPS["Adam"]


def _keras():
    from tapeflow.keras.layers.base import Layer
    from tapeflow.keras.optimizers.base import Optimizer
    return Layer, Optimizer


def _short_name(var) -> str:
    return var._name.rsplit("/", 1)[-1]


def _class_names(obj):
    return [c.__name__ for c in type(obj).__mro__]


def is_trackable(x) -> bool:
    """Whether `x` may own checkpointed values (containers: if any item may)."""
    if isinstance(x, Variable):
        return True
    if isinstance(x, (list, tuple)):
        return any(is_trackable(v) for v in x)
    if isinstance(x, dict):
        return any(is_trackable(v) for v in x.values())
    if hasattr(type(x), "_trackable_children"):
        return True
    Layer, Optimizer = _keras()
    return isinstance(x, (Layer, Optimizer)) or _is_module(x)


def _is_module(x) -> bool:
    return any(c.__name__ == "Module" and c.__module__.startswith("tapeflow")
               for c in type(x).__mro__)


def children(obj) -> list:
    """The named children of `obj`: a list of (local name, child)."""
    if isinstance(obj, Variable):
        return []
    if isinstance(obj, WRAPPERS):
        return obj._children()
    if isinstance(obj, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(obj) if is_trackable(v)]
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items() if is_trackable(v)]
    # Keras objects first: they are named as Keras 3 names them even if a base class
    # (tf.Module) has its own `_trackable_children`.
    Layer, Optimizer = _keras()
    if isinstance(obj, Optimizer):
        return optimizer_children(obj)
    if isinstance(obj, Layer):
        return layer_children(obj)
    if hasattr(type(obj), "_trackable_children"):
        kids = obj._trackable_children()
        return list(kids.items()) if isinstance(kids, dict) else list(kids)
    return attribute_children(obj)


def attribute_children(obj) -> list:
    """Attributes holding trackable values, in assignment order (tf.Module, plain objects)."""
    out = []
    try:
        attrs = vars(obj)
    except TypeError:            # __slots__ objects (dataset iterators): nothing to save
        return out
    for name, value in attrs.items():
        if not name.startswith("__") and is_trackable(value):
            out.append((name, value))
    return out


# -- Keras ----------------------------------------------------------------------------------

def layer_children(layer) -> list:
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.model import Model
    from tapeflow.keras.models.sequential import Sequential
    if isinstance(layer, Sequential):
        out = [("_functional", _SequentialOps(layer))]
    elif isinstance(layer, Functional):
        out = [("_operations", functional_layers(layer))]
    else:
        out = _own_children(layer)
    if isinstance(layer, Model) and getattr(layer, "optimizer", None) is not None:
        out.append(("optimizer", layer.optimizer))
    return out


class _SequentialOps:
    """Keras 3 keeps a Sequential model's layers in an inner functional model, whose
    operations start with the input layer."""

    def __init__(self, model):
        self.model = model

    def _trackable_children(self):
        model = self.model
        if model not in _INPUT_PLACEHOLDERS:
            _INPUT_PLACEHOLDERS[model] = Placeholder()
        return [("_operations", [_INPUT_PLACEHOLDERS[model]] + list(model._seq_layers))]


def _own_children(layer) -> list:
    rename = _PRIVATE_WEIGHTS.get(type(layer).__name__, {})
    Layer, _ = _keras()
    own = layer._trainable_weights + layer._non_trainable_weights + layer._tracked_variables
    weights, seen, out = [], set(), []
    for name, value in vars(layer).items():
        if name.startswith("_") and name not in ("_kernel", "_embeddings"):
            continue
        if isinstance(value, Variable) and any(value is w for w in own):
            weights.append((rename.get(name, name), value))
            seen.add(id(value))
        elif (isinstance(value, Layer) and value is not layer) or (
                isinstance(value, (list, tuple, dict)) and is_trackable(value)):
            out.append((name, value))
    for w in own:       # weights added without an attribute: by their own short name
        if id(w) not in seen:
            short = _short_name(w)
            weights.append((rename.get(short, short), w))
    if any(c in _RECURRENT for c in _class_names(layer)[:1]):
        return [("cell", _Cell(weights))] + out
    return weights + out


class _Cell:
    """Keras 3 recurrent layers keep their weights in a `cell` object."""

    def __init__(self, weights):
        self.weights = weights

    def _trackable_children(self):
        return list(self.weights)


def optimizer_slot_lists(opt) -> list:
    """[(checkpoint list name, [slot variable per model variable])] in Keras 3's order."""
    groups = _SLOT_GROUPS.get(type(opt).__name__)
    if groups is None or not opt.built:
        return []
    out = []
    for group in groups:
        for ckpt_name, attr in group:
            slots = getattr(opt, attr, None)
            if slots:
                out.append((ckpt_name, list(slots)))
    return out


def optimizer_variables(opt) -> list:
    """The optimizer's variables in Keras 3's order: iterations, learning rate, then the
    slot variables group by group, interleaved over the model variables."""
    out = [opt._iterations]
    if opt._learning_rate is not None:
        out.append(opt._learning_rate)
    groups = _SLOT_GROUPS.get(type(opt).__name__)
    if groups is None:          # a user's optimizer: tapeflow's own order
        return out + list(opt._variables)
    if not opt.built:
        return out
    n = len(opt._trainable_variables)
    for group in groups:
        lists = [getattr(opt, attr, None) or [] for _, attr in group]
        lists = [slots for slots in lists if slots]
        for i in range(n):
            out.extend(slots[i] for slots in lists)
    return out


def optimizer_children(opt) -> list:
    out = [("_variables", optimizer_variables(opt))]
    if opt.built:
        out.append(("_trainable_variables", list(opt._trainable_variables)))
    out.append(("_iterations", opt._iterations))
    if opt._learning_rate is not None:
        out.append(("_learning_rate", opt._learning_rate))
    return out + optimizer_slot_lists(opt)


# -- names in checkpoint keys ------------------------------------------------------------------

def escape(local_name: str) -> str:
    """A child name as it appears in a checkpoint key ('.' doubled, '/' as '.S')."""
    return local_name.replace(".", "..").replace("/", ".S")


_SNAKE1 = re.compile(r"(.)([A-Z][a-z]+)")
_SNAKE2 = re.compile(r"([a-z])([A-Z])")


def snake_case(name: str) -> str:
    """Keras 3's snake case of a class name ('BatchNormalization' -> 'batch_normalization')."""
    name = _SNAKE1.sub(r"\1_\2", name)
    return _SNAKE2.sub(r"\1_\2", name).lower()


# -- Keras 2 names (tf.keras before Keras 3, and the tf_keras package) -------------------------

_LEGACY_LAYER = re.compile(r"layer(_with_weights)?-(\d+)")
_LEGACY_OPTIMIZER = {"iter": "_iterations", "learning_rate": "_learning_rate",
                     "lr": "_learning_rate"}
# Keras 2's (OptimizerV2) slot names -> the tapeflow attribute holding those slots.
LEGACY_SLOTS = {"m": "_momentums", "v": "_velocities", "vhat": "_velocity_hats",
                "momentum": "_momentums", "rms": "_velocities", "mg": "_average_gradients",
                "accumulator": "_accumulators"}


def legacy_child(obj, name, kids):
    """The child that Keras 2 checkpoints call `name` (`layer_with_weights-0`, `kernel`,
    `iter`), or None."""
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential
    Layer, Optimizer = _keras()
    if isinstance(obj, Optimizer):
        return kids.get(_LEGACY_OPTIMIZER.get(name, ""))
    if isinstance(obj, Functional):
        m = _LEGACY_LAYER.fullmatch(name)
        if m is None:
            return None
        # Keras 2 numbered Sequential layers without the input layer, functional with.
        layers = list(obj._seq_layers) if isinstance(obj, Sequential) else \
            functional_layers(obj)
        if m.group(1):
            layers = [x for x in layers if x.weights]
        n = int(m.group(2))
        return layers[n] if n < len(layers) else None
    if isinstance(obj, Layer):
        renamed = _PRIVATE_WEIGHTS.get(type(obj).__name__, {})
        return kids.get(renamed.get(name, ""))
    return None


# -- Keras 3's layer order in functional models --------------------------------------------------

def _parents(layer, node_index):
    from tapeflow.keras.layers.node import is_keras_tensor
    from tapeflow.utils import nest
    if type(layer).__name__ == "InputLayer" or node_index >= len(layer._inbound_nodes):
        return []
    node = layer._inbound_nodes[node_index]
    return [t for t in nest.flatten([list(node.args), dict(node.kwargs)]) if is_keras_tensor(t)]


def functional_layers(model) -> list:
    """A functional model's layers in the order Keras 3 lists them (`model.layers`, its
    checkpoint `_operations`, its weight file): deepest first, ties by the order a
    depth-first walk from the outputs first meets them. Keras 3 numbers weight groups
    by this order, so a model with branches must follow it exactly."""
    index, finished, post = {}, set(), []

    def visit(t):
        layer, node_index, _ = t._keras_history
        key = (id(layer), node_index)
        if key in finished:
            return
        index.setdefault(id(layer), len(index))
        for parent in _parents(layer, node_index):
            visit(parent)
        finished.add(key)
        post.append((layer, node_index, key))
    for out in model._flat_outputs:
        visit(out)
    node_depth, layer_depth, layers = {}, {}, {}
    for layer, node_index, key in reversed(post):
        depth = max(node_depth.setdefault(key, 0), layer_depth.get(id(layer), 0))
        layer_depth[id(layer)] = node_depth[key] = depth
        layers[id(layer)] = layer
        for parent in _parents(layer, node_index):
            pkey = (id(parent._keras_history[0]), parent._keras_history[1])
            node_depth[pkey] = max(depth + 1, node_depth.get(pkey, 0))
    for t in model._flat_inputs:         # inputs no output depends on
        layer = t._keras_history[0]
        if id(layer) not in layers:
            layers[id(layer)], layer_depth[id(layer)], index[id(layer)] = layer, 0, -1
    return sorted(layers.values(), key=lambda x: (-layer_depth[id(x)], index[id(x)]))
