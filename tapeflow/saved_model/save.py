"""`tf.saved_model.save`: a Module and its traced functions in TensorFlow's SavedModel format.

Stages:

1. objects: walk from the root (`object_graph.py`): Modules, Variables, containers,
   tf.functions; every trace of each function so far is saved, and a function with an
   `input_signature` is traced now if it never was, as TensorFlow does;
2. signatures: `signatures=` (a tf.function with an input signature, a ConcreteFunction,
   or a dict of them), else the root's only function with an input signature, become
   `serving_default` and friends: a function taking its tensors by keyword and
   returning a dict (a single result is `output_0`, a sequence `output_0`, `output_1`);
3. functions: each trace becomes a `FunctionDef` (`function_def.py`, with the op
   translations of `export_ops.py`); an op with no TensorFlow form stops the save here,
   naming the op and the function, before anything is written;
4. files: `saved_model.pb` (the `MetaGraphDef`: tags `serve`, the function library, the
   `SavedObjectGraph`, the `SignatureDef`s), `variables/variables.{index,data-...}` (a
   checkpoint whose object graph numbers the objects as the SavedObjectGraph does) and an
   empty `assets/`. Each file is written atomically.

    >>> import os, tempfile
    >>> import tapeflow as tf
    >>> class Scale(tf.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.weight = tf.Variable(3.0)
    ...     @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    ...     def __call__(self, x):
    ...         return x * self.weight
    >>> path = os.path.join(tempfile.mkdtemp(), 'scale')
    >>> tf.saved_model.save(Scale(), path)
    >>> sorted(os.listdir(path))
    ['assets', 'saved_model.pb', 'variables']
"""
from __future__ import annotations

import itertools
import os
import re

from tapeflow.framework.tensor import Tensor
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.framework.variables import Variable
from tapeflow.function.concrete import ConcreteFunction
from tapeflow.function.polymorphic import Function
from tapeflow.saved_model import constants, graph_nodes, object_graph, structure_coder
from tapeflow.saved_model._protos import encode_saved_model, protos
from tapeflow.saved_model.function_def import FunctionWriter, captured_variables
from tapeflow.saved_model.object_graph import SignatureFunction, SignatureMap
from tapeflow.train import bundle, trackable
from tapeflow.train.checkpoint import GRAPH_KEY
from tapeflow.utils import nest
from tapeflow.version import GIT_VERSION, GRAPH_DEF_VERSION, VERSION

_uid = itertools.count(1)
DEFAULT_SIGNATURE_KEY = "serving_default"


class SaveOptions:
    """Options for `save` (TensorFlow's names; tapeflow writes every file on the host).

    Args:
        namespace_whitelist: accepted for compatibility (tapeflow writes no custom ops).
        save_debug_info: accepted; no debug info is written.
        function_aliases: {alias: tf.function} recorded in the MetaGraph's
            `function_aliases`.
    """

    def __init__(self, namespace_whitelist=None, save_debug_info=False, function_aliases=None,
                 experimental_io_device=None, experimental_variable_policy=None,
                 experimental_custom_gradients=True, experimental_image_format=False,
                 experimental_skip_saver=False, experimental_sharding_callback=None,
                 extra_tags=None):
        self.namespace_whitelist = namespace_whitelist
        self.save_debug_info = save_debug_info
        self.function_aliases = dict(function_aliases or {})
        self.extra_tags = list(extra_tags or [])


def save(obj, export_dir, signatures=None, options=None):
    """Writes `obj` (a `tf.Module`, Keras layer or model) as a SavedModel in `export_dir`.

    Args:
        obj: the root object: its Variables, sub-Modules and traced tf.functions are saved.
        export_dir: the directory to write (created if missing).
        signatures: a tf.function with an input signature, a ConcreteFunction, or a dict
            {signature key: one of those}; None: the root's only function with an input
            signature, if it has exactly one.
        options: a `tf.saved_model.SaveOptions`.

    Raises:
        ValueError: `obj` is not trackable, or a traced op has no TensorFlow form (the
            error names the op and the function; nothing is written).
        FileExistsError: `export_dir` is an existing file.
    """
    _check_root(obj)
    export_dir = os.fspath(export_dir)
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise FileExistsError(f"tf.saved_model.save: export_dir '{export_dir}' is an existing "
                              "file; a SavedModel is a directory.")
    options = options or SaveOptions()
    keras_default = object_graph.keras_default_signature(obj)
    root_functions = [("_default_save_signature", keras_default)] if keras_default else []
    sigs = _signatures(obj, signatures, keras_default)
    objects, refs, paths = object_graph.walk(obj, sigs, root_functions)
    tensors, keys = object_graph.checkpoint_tensors(objects, refs, paths)
    meta = _meta_graph(objects, refs, sigs, options,
                       (keys, tensors[GRAPH_KEY].item()))
    files = {os.path.join(export_dir, constants.SAVED_MODEL_FILENAME_PB):
             encode_saved_model([meta])}
    index, data = bundle.bundle_contents(tensors)
    prefix = os.path.join(export_dir, constants.VARIABLES_DIRECTORY, constants.VARIABLES_FILENAME)
    index_path, data_path = bundle.bundle_files(prefix)
    _write(export_dir, {data_path: data, index_path: index, **files})


def _check_root(obj):
    if isinstance(obj, (Variable, Function, ConcreteFunction)) or not trackable.is_trackable(
            obj) and not object_graph.functions_of(obj):
        raise ValueError(
            "Expected an object of type `Trackable`, such as `tf.Module` or a subclass of the "
            f"`Trackable` class, for export. Got {obj!r} with type {type(obj)}.")


def _write(export_dir, files):
    from tapeflow.train.files import atomic_write_many
    os.makedirs(os.path.join(export_dir, constants.VARIABLES_DIRECTORY), exist_ok=True)
    os.makedirs(os.path.join(export_dir, constants.ASSETS_DIRECTORY), exist_ok=True)
    atomic_write_many(files)


# -- signatures ------------------------------------------------------------------------------

def _signatures(obj, signatures, keras_default=None):
    """{key: SignatureFunction} from `signatures=`, else a Keras model's default signature,
    else the root's one function with an input signature."""
    if signatures is None and keras_default is not None:
        signatures = keras_default
    if signatures is None:
        candidates = [fn for _, fn in object_graph.children(obj)
                      if isinstance(fn, Function) and fn.input_signature is not None]
        if len(candidates) != 1:
            return {}
        signatures = candidates[0]
    if not isinstance(signatures, dict):
        signatures = {DEFAULT_SIGNATURE_KEY: signatures}
    out = {}
    for key, fn in signatures.items():
        if isinstance(fn, Function):
            if fn.input_signature is None:
                raise ValueError(
                    f"signature '{key}': the tf.function '{fn._name}' has no input_signature; "
                    "pass fn.get_concrete_function(tf.TensorSpec(...)) or give it one.")
            fn = fn.get_concrete_function()
        if not isinstance(fn, ConcreteFunction):
            raise ValueError(f"signature '{key}' must be a tf.function with an input signature "
                             f"or a ConcreteFunction; got {fn!r} of type {type(fn).__name__}.")
        out[key] = _signature_function(key, fn)
    return out


def _signature_function(key, concrete):
    args, kwargs = concrete.structured_input_signature or ((), {})
    flat = nest.flatten((list(args), kwargs))
    specs = [x for x in flat if isinstance(x, TensorSpec)]
    if len(specs) != len(flat):
        raise ValueError(f"signature '{key}': every argument of '{concrete.name}' must be a "
                         "tensor (a signature is called with tensors only).")
    names = [s.name or f"input_{i}" for i, s in enumerate(specs)]
    outputs = concrete.structured_outputs
    if isinstance(outputs, dict):
        out_names = sorted(outputs)
        leaves = [outputs[k] for k in out_names]
    else:
        leaves = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        out_names = [f"output_{i}" for i in range(len(leaves))]
    if not all(isinstance(x, Tensor) or getattr(x, "_is_variable", False) for x in leaves):
        raise ValueError(
            f"signature '{key}': the function '{concrete.name}' must return a tensor, a "
            f"sequence of tensors or a dict of tensors; got {outputs!r}.")
    return SignatureFunction(key, concrete, names, dict(zip(out_names, leaves)))


# -- the MetaGraphDef ------------------------------------------------------------------------

def _meta_graph(objects, refs, sigs, options, checkpoint):
    p = protos()
    meta = p.meta_graph.MetaGraphDef()
    info = meta.meta_info_def
    info.tags.extend([constants.SERVING_TAG] + options.extra_tags)
    info.tensorflow_version = VERSION
    info.tensorflow_git_version = GIT_VERSION
    info.stripped_default_attrs = True
    meta.graph_def.versions.producer = GRAPH_DEF_VERSION
    meta.graph_def.versions.min_consumer = 12
    ids = {id(o): i for i, o in enumerate(objects)}
    saved = meta.object_graph_def
    names = {}                      # id(concrete) -> FunctionDef name
    for i, obj in enumerate(objects):
        node = saved.nodes.add()
        for name, child in refs[i]:
            node.children.add(node_id=child, local_name=name)
        _describe(node, obj, ids, names, meta, saved)
    handles = graph_nodes.variable_handles(meta.graph_def, objects, ids)
    graph_nodes.signature_calls(meta, sigs, handles)
    graph_nodes.saver(meta, objects, checkpoint, handles)
    for alias, fn in options.function_aliases.items():
        for concrete in object_graph.concrete_functions_of(fn):
            if id(concrete) in names:
                info.function_aliases[names[id(concrete)]] = alias
    return meta


def _describe(node, obj, ids, names, meta, saved):
    if isinstance(obj, Variable):
        v = node.variable
        v.dtype = structure_coder.dtype_number(obj.dtype)
        v.shape.CopyFrom(structure_coder.shape_proto(obj.shape))
        v.trainable = bool(obj.trainable)
        v.name = obj._name.split(":")[0]
    elif isinstance(obj, Function):
        node.function.SetInParent()
        _function_spec(node.function.function_spec, obj)
        for concrete in object_graph.concrete_functions_of(obj):
            name = _add_function(meta, saved, concrete, obj._name, ids, names)
            node.function.concrete_functions.append(name)
    elif isinstance(obj, SignatureFunction):
        name = _add_signature_function(meta, saved, obj, ids)
        node.bare_concrete_function.concrete_function_name = name
        node.bare_concrete_function.argument_keywords.extend(obj.input_names)
        # As TF: the keywords may also be given in order.
        node.bare_concrete_function.allowed_positional_arguments = len(obj.input_names)
    elif isinstance(obj, SignatureMap):
        _user_object(node, "signature_map")
    elif isinstance(obj, list):
        _user_object(node, "trackable_list_wrapper")
    elif isinstance(obj, tuple):
        _user_object(node, "trackable_tuple_wrapper")
    elif isinstance(obj, dict):
        _user_object(node, "trackable_dict_wrapper")
    else:
        _user_object(node, "_generic_user_object")


def _user_object(node, identifier):
    node.user_object.identifier = identifier
    node.user_object.version.producer = 1
    node.user_object.version.min_consumer = 1


def _function_spec(spec, fn):
    spec.fullargspec.CopyFrom(structure_coder.encode(object_graph.full_arg_spec(fn)))
    sig = fn.input_signature
    spec.input_signature.CopyFrom(structure_coder.encode(None if sig is None else tuple(sig)))


def _bound_inputs(concrete, ids, fn_name):
    out = []
    for var in captured_variables(concrete):
        if id(var) not in ids:
            raise ValueError(
                f"tf.saved_model.save: the function '{fn_name}' uses the Variable "
                f"'{var.name}', which is not reachable from the object being saved; assign it "
                "to an attribute of the saved Module (an untracked resource cannot be saved).")
        out.append(ids[id(var)])
    return out


def _write_function(concrete, fdef_name, fn_name, inputs, outputs, output_names=None):
    """[FunctionDef of the trace, FunctionDefs it calls (control flow)...]."""
    w = FunctionWriter(fdef_name, fn_name)
    variables = captured_variables(concrete)
    for placeholder, arg_name in inputs:
        w.add_input(placeholder, arg_name)
    for var in variables:
        w.add_resource(var, var._name.split(":")[0].rsplit("/", 1)[-1])
    w.set_input_shapes([p.shape for p, _ in inputs] + [[] for _ in variables])
    w.add_graph_nodes(concrete.graph)
    w.add_outputs(outputs, output_names)
    return [w.fdef] + w.library


def _placeholder_names(concrete):
    return [(p, (getattr(p, "_name", None) or f"args_{i}").split(":")[0])
            for i, p in enumerate(concrete.inputs)]


def _add_function(meta, saved, concrete, fn_name, ids, names):
    if id(concrete) in names:
        return names[id(concrete)]
    name = f"__inference_{_function_name(fn_name)}_{next(_uid)}"
    bound = _bound_inputs(concrete, ids, fn_name)
    fdefs = _write_function(concrete, name, fn_name, _placeholder_names(concrete),
                            concrete.outputs)
    meta.graph_def.library.function.extend(fdefs)
    names[id(concrete)] = name
    entry = saved.concrete_functions[name]
    entry.bound_inputs.extend(bound)
    args, kwargs = concrete.structured_input_signature or ((), {})
    entry.canonicalized_input_signature.CopyFrom(
        structure_coder.encode((tuple(args), dict(kwargs))))
    entry.output_signature.CopyFrom(structure_coder.encode(
        nest.map_structure(_output_spec, concrete.structured_outputs)))
    return name


def _function_name(name: str) -> str:
    """A Python function's name as a library function's ('<lambda>' -> '_lambda_')."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _output_spec(x):
    if isinstance(x, Tensor) or getattr(x, "_is_variable", False):
        return TensorSpec(x.shape, x.dtype)
    return x


def _add_signature_function(meta, saved, sig, ids):
    concrete = sig.concrete
    name = f"__inference_signature_wrapper_{_function_name(concrete.name)}_{next(_uid)}"
    bound = _bound_inputs(concrete, ids, concrete.name)
    inputs = list(zip(concrete.inputs, sig.input_names))
    out_keys = sorted(sig.output_names)
    fdefs = _write_function(concrete, name, concrete.name, inputs,
                            [sig.output_names[k] for k in out_keys], out_keys)
    meta.graph_def.library.function.extend(fdefs)
    sig.fdef_name = name
    entry = saved.concrete_functions[name]
    entry.bound_inputs.extend(bound)
    kwargs = {n: TensorSpec(p.shape, p.dtype, n) for p, n in inputs}
    entry.canonicalized_input_signature.CopyFrom(structure_coder.encode(((), kwargs)))
    entry.output_signature.CopyFrom(structure_coder.encode(
        {k: TensorSpec(x.shape, x.dtype, k) for k, x in sig.output_names.items()}))
    return name
