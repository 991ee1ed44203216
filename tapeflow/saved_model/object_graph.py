"""The objects a SavedModel holds: found from the root, numbered, described.

Objects are walked breadth first from the root, as TensorFlow numbers them:

* a Module (or any trackable object) owns its trackable attributes (Variables, Modules,
  lists/tuples/dicts holding them; Keras objects under Keras's names, as checkpoints
  name them, `train/trackable.py`), then its `tf.function`s in name order;
* lists, tuples and dicts own their items ('0', '1', ... or their keys);
* the root also owns `signatures` (a signature map, empty when none is exported), and a
  Keras model root its `_default_save_signature` (its call on its inputs' specs).

The same numbering serves the `SavedObjectGraph` of `saved_model.pb` and the object
graph of the `variables/` checkpoint, so TensorFlow's loader finds each variable's value.
"""
from __future__ import annotations

import inspect

import numpy as np

from tapeflow.framework.variables import Variable
from tapeflow.function.polymorphic import Function
from tapeflow.train import trackable


class SignatureMap:
    """The `signatures` child of the root: signature key -> signature ConcreteFunction."""

    def __init__(self, functions: dict):
        self.functions = dict(functions)


class SignatureFunction:
    """A signature: a traced function called with keyword tensors, returning a dict."""

    def __init__(self, key, concrete, input_names, output_names):
        self.key = key
        self.concrete = concrete
        self.input_names = input_names       # keyword per placeholder
        self.output_names = output_names     # dict key per output leaf


def functions_of(obj) -> list:
    """(attribute name, bound tf.function) of an object, in name order; properties are
    never evaluated (a Keras layer's may fail before it is built)."""
    found = {}
    for klass in reversed(type(obj).__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Function):
                found[name] = value.__get__(obj, type(obj))
            elif name in found:
                del found[name]
    try:
        own = vars(obj)
    except TypeError:
        own = {}
    for name, value in own.items():
        if isinstance(value, Function):
            found[name] = value
    return sorted(found.items())


def children(obj) -> list:
    if isinstance(obj, (Variable, Function, SignatureFunction)):
        return []
    if isinstance(obj, SignatureMap):
        return sorted(obj.functions.items())
    kids = list(trackable.children(obj))
    if not isinstance(obj, (list, tuple, dict)):
        taken = {name for name, _ in kids}
        if not _is_keras(obj):
            # As TF's Module, any trackable attribute is a child (an optimizer too), not only
            # those holding Variables or Modules, which are what a Module reports.
            kids += [(name, x) for name, x in trackable.attribute_children(obj)
                     if name not in taken]
            taken = {name for name, _ in kids}
        kids += [(name, fn) for name, fn in functions_of(obj) if name not in taken]
    return kids


def _is_keras(obj) -> bool:
    Layer, Optimizer = trackable._keras()
    return isinstance(obj, (Layer, Optimizer))


def walk(root, signatures=None, root_functions=()):
    """(objects, children refs [(local name, node id)] per node, checkpoint path per node);
    `root_functions`: (name, tf.function) the root owns besides its own."""
    objects, refs, paths = [root], [[]], [[]]
    ids = {id(root): 0}
    i = 0
    while i < len(objects):
        kids = children(objects[i])
        if i == 0:
            # As TF, the map is there even when empty (`loaded.signatures` is then {}).
            kids += list(root_functions) + [("signatures", SignatureMap(signatures or {}))]
        for name, child in kids:
            if id(child) not in ids:
                ids[id(child)] = len(objects)
                objects.append(child)
                refs.append([])
                paths.append(paths[i] + [trackable.escape(name)])
            refs[i].append((name, ids[id(child)]))
        i += 1
    return objects, refs, paths


def checkpoint_tensors(objects, refs, paths):
    """({key: array} of the `variables/` checkpoint, its object graph included,
    {id(Variable): key})."""
    from tapeflow.train._protos import messages
    from tapeflow.train.checkpoint import GRAPH_KEY
    graph = messages().TrackableObjectGraph()
    tensors, keys = {}, {}
    has_values = [isinstance(o, Variable) for o in objects]
    for i in range(len(objects) - 1, -1, -1):       # children come after their parents
        has_values[i] = has_values[i] or any(has_values[c] for _, c in refs[i]
                                             if c > i)
    for i, obj in enumerate(objects):
        node = graph.nodes.add()
        for name, child in refs[i]:
            node.children.add(node_id=child, local_name=name)
        if isinstance(obj, Variable):
            key = "/".join(paths[i]) + "/.ATTRIBUTES/VARIABLE_VALUE"
            node.attributes.add(name="VARIABLE_VALUE", full_name=obj._name.split(":")[0],
                                checkpoint_key=key)
            tensors[key] = np.array(obj._value, copy=True)
            keys[id(obj)] = key
        if has_values[i]:
            node.has_checkpoint_values.value = True
    tensors[GRAPH_KEY] = np.array(graph.SerializeToString(), dtype=object)
    return tensors, keys


def full_arg_spec(fn: Function):
    """TensorFlow's FullArgSpec of a tf.function (a method's without `self`)."""
    import collections
    spec = inspect.getfullargspec(fn.python_function)
    args = list(spec.args)
    if getattr(fn, "_instance_ref", None) is not None and args:
        args = args[1:]
    full = collections.namedtuple("FullArgSpec", ["args", "varargs", "varkw", "defaults",
                                                  "kwonlyargs", "kwonlydefaults",
                                                  "annotations"])
    return full(args, spec.varargs, spec.varkw,
                tuple(spec.defaults) if spec.defaults else None, list(spec.kwonlyargs),
                dict(spec.kwonlydefaults) if spec.kwonlydefaults else None, {})


def concrete_functions_of(fn: Function) -> list:
    """Every trace of `fn` so far, and its input_signature trace (made now if needed)."""
    out = []
    if fn.input_signature is not None:
        out.append(fn._signature_function())
    for _, concrete in fn._traces:
        if not any(c is concrete for c in out):
            out.append(concrete)
    return out


def keras_default_signature(obj):
    """A Keras model's `_default_save_signature`: a tf.function calling the model on specs
    of its inputs (as Keras does when TensorFlow saves a model); None for anything else or
    a model whose inputs are not known yet."""
    from tapeflow.framework.tensor_spec import TensorSpec
    from tapeflow.utils import nest
    try:
        from tapeflow.keras.models.model import Model
    except ImportError:             # pragma: no cover - Keras is part of tapeflow
        return None
    if not isinstance(obj, Model):
        return None
    inputs = getattr(obj, "_nested_inputs", None)
    if inputs is None:
        inputs = getattr(obj, "inputs", None)
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            inputs = inputs[0]
    if inputs is not None:
        spec = nest.map_structure(lambda t: TensorSpec(t.shape, t.dtype), inputs)
    elif getattr(obj, "_build_input_shape", None) is not None:
        spec = TensorSpec(obj._build_input_shape, "float32")
    else:
        return None

    def serving_default(inputs):
        return obj(inputs)
    return Function(serving_default, name="serving_default", input_signature=[spec])
