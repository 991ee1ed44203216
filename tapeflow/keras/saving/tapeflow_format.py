"""tapeflow's own config format (used by get_config / to_json) and its previous file
format, still read for one release (see docs/keras_saving.md).

Formats:

* weights file: a NumPy `.npz` archive (no pickles) with one array per weight,
  named `'<index>'` in `model.weights` order, plus `'__names__'` (a unicode
  array of the weight names) for error messages and checks;
* model file: a zip holding `config.json` (format version, the architecture
  and the compile settings) and `model.weights.npz` (as above).

Loading uses `allow_pickle=False` and checks every shape before changing any
weight. Writing goes to a temporary file in the same folder that is renamed
over the target only once complete, so a failed save never destroys the
previous file.

    >>> import tempfile, os
    >>> import tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), 'm.keras')
    >>> m.save(path)
    >>> m2 = tf.keras.models.load_model(path)
    >>> bool((m2.get_weights()[0] == m.get_weights()[0]).all())
    True
"""
# Files with the wrong content are ValueErrors, as in Keras, even when a type is wrong.
# ruff: noqa: TRY004
from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

FORMAT_VERSION = 1
_MISSING = object()      # a layer input not rebuilt yet
_CONFIG = "config.json"
_WEIGHTS = "model.weights.npz"


# -- atomic writes ------------------------------------------------------------------------

def _atomic_write(path, write_fn, overwrite=True):
    """Writes through `tapeflow.train.files.atomic_write` (temp file renamed into place)."""
    from tapeflow.train.files import atomic_write
    atomic_write(path, write_fn, overwrite)


# -- weights ----------------------------------------------------------------------------------

def _weights_bytes(model) -> bytes:
    weights = model.weights
    arrays = {str(i): np.ascontiguousarray(w._value) for i, w in enumerate(weights)}
    arrays["__names__"] = np.array([w.name for w in weights], dtype=np.str_)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _assign_weights(model, npz, source):
    names = [str(n) for n in npz["__names__"]] if "__names__" in npz.files else None
    count = len([k for k in npz.files if k != "__names__"])
    weights = model.weights
    if not weights and count:
        raise ValueError(f"Cannot load {count} weights from {source} into model "
                         f'"{model.name}": the model has no weights yet. Build it first (call '
                         "it on data or call model.build(input_shape)).")
    if count != len(weights):
        raise ValueError(f'Cannot load weights from {source} into model "{model.name}": the '
                         f"file holds {count} weights, the model has {len(weights)}.")
    from tapeflow.keras.saving.h5_weights import _check
    arrays = []
    for i, w in enumerate(weights):
        a = npz[str(i)]
        want = tuple(w.shape.as_list())
        saved = f" (saved as '{names[i]}')" if names else ""
        if a.shape != want:
            raise ValueError(f"Cannot load weights from {source}: weight {i} '{w.name}'{saved} "
                             f"has shape {want} in the model but {a.shape} in the file.")
        if a.dtype.kind not in "biufc":
            raise ValueError(f"Cannot load weights from {source}: weight {i} '{w.name}'{saved} "
                             f"holds {a.dtype} data in the file, not numbers. Nothing was "
                             "loaded.")
        _check(w, a, f"entry '{i}'", source)
        arrays.append(a)
    for w, a in zip(weights, arrays):      # all checked: now assign
        np.copyto(w._value, a, casting="unsafe")


def save_weights(model, filepath, overwrite=True):
    """Writes every weight of `model` to an .npz archive (atomically)."""
    if not model.built:
        raise ValueError(f'Model "{model.name}" has no weights yet: build it (call it on data) '
                         "before save_weights().")
    data = _weights_bytes(model)
    _atomic_write(filepath, lambda f: f.write(data), overwrite)


def load_weights(model, filepath):
    """Loads weights saved by save_weights (or from a .keras model file)."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No weights file at {filepath}")
    if zipfile.is_zipfile(filepath) and _is_model_zip(filepath):
        with zipfile.ZipFile(filepath) as z:
            npz = np.load(io.BytesIO(_capped(z, _WEIGHTS, model, filepath)), allow_pickle=False)
            _assign_weights(model, npz, filepath)
        return
    with np.load(filepath, allow_pickle=False) as npz:
        _assign_weights(model, npz, filepath)


def _capped(z, name, model, source) -> bytes:
    """A member's bytes, refused before reading if larger than the model's weights can be."""
    from tapeflow.keras.saving.keras_file import _H5_SLACK, _read_member, _variable_bytes
    return _read_member(z, name, _variable_bytes(model) + _H5_SLACK, source)


def _is_model_zip(path) -> bool:
    with zipfile.ZipFile(path) as z:
        return _CONFIG in z.namelist()


# -- architecture configs ----------------------------------------------------------------------

def _registry():
    from tapeflow.keras import layers
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential
    out = {name: obj for name, obj in vars(layers).items()
           if isinstance(obj, type) and issubclass(obj, layers.Layer)}
    out.update({"Functional": Functional, "Model": Functional, "Sequential": Sequential})
    return out


def serialize_layer(layer) -> dict:
    from tapeflow.keras.layers.core import Lambda
    if isinstance(layer, Lambda):
        raise ValueError(f'Cannot save the architecture of Lambda layer "{layer.name}": its '
                         "function is Python code. Save the weights with save_weights().")
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.model import Model
    if isinstance(layer, Model) and not isinstance(layer, Functional):
        raise ValueError(f'Cannot save the architecture of the subclassed model "{layer.name}" '
                         f"({type(layer).__name__}): its call() is Python code. Use "
                         "save_weights()/load_weights(), or load_model(path, custom_objects="
                         f"{{'{type(layer).__name__}': {type(layer).__name__}}}).")
    out = {"class_name": type(layer).__name__, "config": layer.get_config()}
    build = layer.get_build_config() if not isinstance(layer, Functional) else None
    if build is not None:
        out["build_config"] = build
    return out


def deserialize_layer(config, custom_objects=None):
    registry = _registry()
    registry.update(custom_objects or {})
    cls = registry.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown layer class {config['class_name']!r}: pass it in "
                         "custom_objects={name: class}.")
    try:
        layer = cls.from_config(config["config"], custom_objects) if config["class_name"] in (
            "Functional", "Model", "Sequential") else cls.from_config(config["config"])
    except TypeError as e:
        raise TypeError(f"Could not rebuild layer {config['class_name']} from its config: "
                        f"{e}") from None
    if "build_config" in config:
        layer.build_from_config(config["build_config"])
    return layer


def sequential_config(model) -> dict:
    layers = []
    if model._input_tensor is not None:
        layers.append({"class_name": "InputLayer",
                       "config": model._input_tensor._keras_history[0].get_config()})
    layers += [serialize_layer(layer) for layer in model._seq_layers]
    return {"name": model.name, "trainable": model.trainable, "layers": layers}


def sequential_from_config(config, custom_objects=None):
    from tapeflow.keras.models.sequential import Sequential
    model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
    for layer_config in config["layers"]:
        model.add(deserialize_layer(layer_config, custom_objects))
    return model


def _tensor_ref(t, layer_ids):
    layer, node_index, tensor_index = t._keras_history
    return [layer.name, layer_ids[id(layer)][1].index(node_index), tensor_index]


def functional_config(model) -> dict:
    """Layers with the calls (nodes) that connect them, by layer name."""
    from tapeflow.keras.layers.node import is_keras_tensor
    from tapeflow.utils import nest
    nodes_used = {}
    for node in model._plan:
        layer = node.layer
        if type(layer).__name__ == "TFOpLambda":
            raise ValueError(f'Cannot save the architecture of model "{model.name}": it applies '
                             f"tf.{layer.symbol} to Keras tensors (layer \"{layer.name}\"), a "
                             "recorded call that tapeflow cannot rebuild from a file. Do it "
                             "in a Layer subclass (passed to load_model in custom_objects), "
                             "or save the weights with save_weights().")
        nodes_used.setdefault(id(layer), (layer, []))[1].append(
            layer._inbound_nodes.index(node))
    for t in model._flat_inputs:
        layer = t._keras_history[0]
        nodes_used.setdefault(id(layer), (layer, [0]))
    layers = []
    for layer in model._layers:
        entry = serialize_layer(layer) if type(layer).__name__ != "InputLayer" else {
            "class_name": "InputLayer", "config": layer.get_config()}
        entry["name"] = layer.name
        calls = []
        if type(layer).__name__ != "InputLayer":
            for node_index in nodes_used[id(layer)][1]:
                node = layer._inbound_nodes[node_index]

                def ref(x, layer=layer):
                    if is_keras_tensor(x):
                        return {"__keras_tensor__": _tensor_ref(x, nodes_used)}
                    if hasattr(x, "_value") or isinstance(x, np.ndarray):
                        raise ValueError(f'Cannot save model "{model.name}": layer '
                                         f'"{layer.name}" is called with a constant tensor')
                    return x
                calls.append({"args": nest.map_structure(ref, list(node.args)),
                              "kwargs": nest.map_structure(ref, dict(node.kwargs))})
        entry["inbound_nodes"] = calls
        layers.append(entry)

    def refs(structure):
        return nest.map_structure(lambda t: _tensor_ref(t, nodes_used), structure)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": refs(model._nested_inputs),
            "output_layers": refs(model._nested_outputs)}


def functional_from_config(config, custom_objects=None, make_layer=None):
    """Rebuilds a functional model; `make_layer(entry)` creates each layer (default: from
    tapeflow's own config format)."""
    from tapeflow.keras.layers.input_layer import InputLayer
    from tapeflow.keras.models.functional import Functional
    from tapeflow.utils import nest
    created = {}        # layer name -> (layer, [outputs of each replayed call])
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            layer = InputLayer(**entry["config"])
            created[entry["name"]] = (layer, [layer._tensor])
        elif make_layer is not None:
            created[entry["name"]] = (make_layer(entry), [])
        else:
            created[entry["name"]] = (deserialize_layer(
                {k: v for k, v in entry.items() if k in ("class_name", "config")},
                custom_objects), [])

    def resolve(x):
        # Walked by hand: a {'__keras_tensor__': ref} dict is a leaf, not a structure.
        if isinstance(x, dict) and "__keras_tensor__" in x:
            name, node_index, tensor_index = x["__keras_tensor__"]
            outs = created[name][1]
            if node_index >= len(outs):
                return _MISSING
            return nest.flatten(outs[node_index])[tensor_index]
        if isinstance(x, list):
            return [resolve(v) for v in x]
        if isinstance(x, dict):
            return {k: resolve(v) for k, v in x.items()}
        return x

    def missing(x):
        if x is _MISSING:
            return True
        if isinstance(x, list):
            return any(missing(v) for v in x)
        if isinstance(x, dict):
            return any(missing(v) for v in x.values())
        return False

    pending = [(e["name"], i, call) for e in config["layers"]
               for i, call in enumerate(e.get("inbound_nodes", []))]
    while pending:
        progressed = False
        rest = []
        for name, i, call in pending:
            if i != len(created[name][1]):
                rest.append((name, i, call))
                continue
            args, kwargs = resolve(call["args"]), resolve(call["kwargs"])
            if missing(args) or missing(kwargs):
                rest.append((name, i, call))
                continue
            created[name][1].append(created[name][0](*args, **kwargs))
            progressed = True
        if not progressed and rest:
            raise ValueError(f"Cannot rebuild the model: the layer calls of "
                             f"{sorted({n for n, _, _ in rest})} have unresolved inputs")
        pending = rest

    def to_tensor(ref):
        name, node_index, tensor_index = ref
        return nest.flatten(created[name][1][node_index])[tensor_index]

    def is_ref(x):
        return isinstance(x, list) and len(x) == 3 and isinstance(x[0], str)

    def walk(s):
        if is_ref(s):
            return to_tensor(s)
        if isinstance(s, list):
            return [walk(v) for v in s]
        if isinstance(s, dict):
            return {k: walk(v) for k, v in s.items()}
        return s
    inputs, outputs = walk(config["input_layers"]), walk(config["output_layers"])
    return Functional(inputs, outputs, name=config.get("name"),
                      trainable=config.get("trainable", True))


# -- whole models -------------------------------------------------------------------------------

def _compile_config(model):
    if not model._is_compiled:
        return None
    from tapeflow.keras import losses as losses_mod
    from tapeflow.keras import optimizers
    cfg = {"optimizer": optimizers.serialize(model.optimizer)}
    loss = model.compiled_loss
    if loss is not None:
        ser = []
        for fn in loss.losses:
            if fn is None or type(fn).__name__ not in losses_mod._CLASSES:
                ser = None
                break
            ser.append(losses_mod.serialize(fn))
        if ser is not None:
            cfg["loss"] = ser if len(ser) > 1 else ser[0]
            cfg["loss_weights"] = loss.loss_weights
    metric_names = [m.name for m in model.compiled_metrics.metrics]
    if len(model.compiled_metrics.output_names) == 1:
        cfg["metrics"] = metric_names
    return cfg


def save_model(model, filepath, overwrite=True):
    """Writes the architecture, compile settings and weights to a zip (atomically)."""
    if not model.built:
        raise ValueError(f'Model "{model.name}" is not built yet: call it on data or call '
                         "model.build(input_shape) before saving.")
    from tapeflow.keras.models.functional import Functional
    if isinstance(model, Functional):
        arch = {"class_name": type(model).__name__ if type(model).__name__ in (
            "Sequential",) else "Functional", "config": model.get_config()}
    else:
        arch = {"class_name": type(model).__name__, "config": model.get_config(),
                "build_config": model.get_build_config(), "subclassed": True}
    config = {"format": "tapeflow.keras", "format_version": FORMAT_VERSION,
              "model": arch, "compile_config": _compile_config(model)}
    config_text = json.dumps(config, indent=1)
    weights = _weights_bytes(model)

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(_CONFIG, config_text)
            z.writestr(_WEIGHTS, weights)
    _atomic_write(filepath, write, overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuilds a model saved by `model.save(path)`, with its weights (and compile state)."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No model file at {filepath}")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{filepath} is not a tapeflow model file (a zip with config.json and "
                         "weights); for a weights file use model.load_weights().")
    with zipfile.ZipFile(filepath) as z:
        names = z.namelist()
        if _CONFIG not in names or _WEIGHTS not in names:
            raise ValueError(f"{filepath} lacks {_CONFIG} or {_WEIGHTS}: not a model file "
                             "written by model.save()")
        from tapeflow.keras.saving.keras_file import _MAX_JSON, _parse_json, _read_member
        config = _parse_json(_read_member(z, _CONFIG, _MAX_JSON, filepath), filepath, _CONFIG)
        try:
            model = _model_from_old_config(config, filepath, custom_objects)
        except (KeyError, TypeError, AttributeError, IndexError) as e:
            raise ValueError(f"{filepath}: malformed {_CONFIG} ({type(e).__name__}: {e})") \
                from None
        except RecursionError:
            raise ValueError(f"{filepath}: malformed {_CONFIG} (nested too deeply)") from None
        weights = _capped(z, _WEIGHTS, model, filepath)
    _assign_weights(model, np.load(io.BytesIO(weights), allow_pickle=False), filepath)
    cc = config.get("compile_config")
    if compile and cc:
        from tapeflow.keras import losses as losses_mod
        from tapeflow.keras import optimizers
        loss = cc.get("loss")
        if isinstance(loss, list):
            loss = [losses_mod.get(x) for x in loss]
        elif loss is not None:
            loss = losses_mod.get(loss)
        model.compile(optimizer=optimizers.get(cc["optimizer"]), loss=loss,
                      metrics=cc.get("metrics"), loss_weights=cc.get("loss_weights"))
    return model


def _model_from_old_config(config, filepath, custom_objects):
    """The architecture of a file in tapeflow's previous format."""
    import warnings
    warnings.warn(f"{filepath} is in tapeflow's previous model format; it loads in this "
                  "release only: save it again to get a Keras 3 file.", DeprecationWarning,
                  stacklevel=4)
    if not isinstance(config, dict):
        raise TypeError("config.json must hold an object")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{filepath} was written by a newer format (version "
                         f"{config['format_version']}); this tapeflow reads version "
                         f"{FORMAT_VERSION}")
    arch = config["model"]
    if arch.get("subclassed"):
        cls = (custom_objects or {}).get(arch["class_name"])
        if cls is None:
            raise ValueError(f"{filepath} holds a subclassed model ({arch['class_name']}); pass "
                             f"custom_objects={{'{arch['class_name']}': {arch['class_name']}}} "
                             "to rebuild it.")
        cfg = {k: v for k, v in arch["config"].items() if k not in ("name", "trainable")}
        model = cls(**cfg) if cfg else cls()
        build = arch.get("build_config")
        if build:
            from tapeflow.keras.layers.base import _shape_from_json
            model.build(_shape_from_json(build["input_shape"]))
    else:
        model = deserialize_layer(arch, custom_objects)
    return model
