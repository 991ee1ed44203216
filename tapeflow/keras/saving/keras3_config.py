"""Model architectures as Keras 3 writes them in `config.json`, both ways.

Writing: every object is `{"module", "class_name", "config", "registered_name"}`;
layers add `build_config` and, inside a functional model, `name` and `inbound_nodes`
(each Keras tensor argument is `{"class_name": "__keras_tensor__", "config": {"shape",
"dtype", "keras_history": [layer, node, tensor]}}`); dtypes are `DTypePolicy` objects.

Reading: the same structure is turned into tapeflow's own config (`tapeflow_format`)
after checking it. Options Keras 3 has and tapeflow does not are accepted when they
are off (None, False) or hold Keras's default (`groups=1`, `renorm_momentum=0.99`, ...)
and refused with a clear error otherwise. Classes are looked up only among tapeflow's
layers, registered classes and `custom_objects` (`registry.lookup`); a `Lambda`'s code
is refused unless `safe_mode=False`.
"""
from __future__ import annotations

import base64
import marshal
import types

# Keras 3 options tapeflow's layers do not take, with the value under which dropping
# them changes nothing.
_DEFAULTS = {"groups": 1, "quantization_config": None, "synchronized": False,
             "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
             "optional": False, "lora_rank": None, "lora_alpha": None, "input_axes": None,
             "output_axes": None, "sparse": False, "ragged": False, "rms_scaling": False,
             "mask": None, "build_input_shape": None}
_NESTED_MODULE = {"initializer": "keras.initializers", "regularizer": "keras.regularizers",
                  "constraint": "keras.constraints", "layer": "keras.layers",
                  "cell": "keras.layers"}
_MODELS = ("Sequential", "Functional", "Model")


class ConfigError(ValueError):
    """A config.json that cannot be turned into a model."""


def _policy(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def _nested_to_keras3(key, value):
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        module = next((m for suffix, m in _NESTED_MODULE.items() if key.endswith(suffix)),
                      "keras")
        return {"module": module, "class_name": value["class_name"],
                "config": value["config"], "registered_name": None}
    return value


def layer_to_keras3(layer) -> dict:
    """A layer (not a functional/Sequential model) as Keras 3 serializes it."""
    from tapeflow.keras.saving.registry import registered_name
    from tapeflow.keras.saving.tapeflow_format import _registry
    cls_name = type(layer).__name__
    if cls_name == "Lambda":
        config = lambda_config(layer)
    else:
        config = {k: _nested_to_keras3(k, v) for k, v in layer.get_config().items()
                  if k != "batch_input_shape"}
    if isinstance(config.get("dtype"), str):
        config["dtype"] = _policy(config["dtype"])
    registered = registered_name(layer)
    own = _registry().get(cls_name) is type(layer)
    if registered is None and not own:
        registered = cls_name      # loads back from custom_objects, as in Keras 3
    out = {"module": "keras.layers" if own else type(layer).__module__,
           "class_name": cls_name, "config": config, "registered_name": registered}
    build = layer.get_build_config()
    if build is not None:
        out["build_config"] = build
    return out


def lambda_config(layer) -> dict:
    """A Lambda's function as Keras 3 stores it: marshalled bytecode, base64 (loaded back
    only with safe_mode=False)."""
    fn = layer.function
    if not isinstance(fn, types.FunctionType) or fn.__closure__:
        raise ValueError(f'Cannot save Lambda layer "{layer.name}": its function must be a '
                         "plain function or lambda without closure variables.")
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    return {"name": layer.name, "trainable": layer.trainable, "dtype": layer.dtype,
            "function": {"class_name": "__lambda__",
                         "config": {"code": code, "defaults": fn.__defaults__,
                                    "closure": None}},
            "arguments": dict(layer.arguments)}


def _keras_tensor(t, layer_ids):
    from tapeflow.keras.saving.tapeflow_format import _tensor_ref
    return {"class_name": "__keras_tensor__",
            "config": {"shape": t.shape.as_list(), "dtype": t.dtype.name,
                       "keras_history": _tensor_ref(t, layer_ids)}}


def functional_to_keras3(model) -> dict:
    """A functional model's config in Keras 3's layout."""
    from tapeflow.keras.layers.node import is_keras_tensor
    from tapeflow.keras.saving.tapeflow_format import _tensor_ref
    from tapeflow.utils import nest
    nodes_used = {}
    for node in model._plan:
        _check_savable(model, node)
        nodes_used.setdefault(id(node.layer), (node.layer, []))[1].append(
            node.layer._inbound_nodes.index(node))
    for t in model._flat_inputs:
        nodes_used.setdefault(id(t._keras_history[0]), (t._keras_history[0], [0]))
    from tapeflow.train.trackable import functional_layers
    layers = []
    for layer in functional_layers(model):
        if type(layer).__name__ == "InputLayer":
            layers.append({**input_layer_to_keras3(layer), "name": layer.name,
                           "inbound_nodes": []})
            continue
        entry = to_keras3(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = []
        for node_index in nodes_used[id(layer)][1]:
            node = layer._inbound_nodes[node_index]

            def ref(x):
                return _keras_tensor(x, nodes_used) if is_keras_tensor(x) else x
            entry["inbound_nodes"].append({"args": nest.map_structure(ref, list(node.args)),
                                           "kwargs": nest.map_structure(ref, dict(node.kwargs))})
        layers.append(entry)

    def refs(structure):
        return nest.map_structure(lambda t: _tensor_ref(t, nodes_used), structure)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": refs(model._nested_inputs),
            "output_layers": refs(model._nested_outputs)}


def _check_savable(model, node):
    # Functional plans hold layer calls only: a tapeflow function applied to Keras
    # tensors is a TFOpLambda layer (keras/layers/tf_op_layer.py).
    if type(node.layer).__name__ == "TFOpLambda":
        raise ValueError(f'Cannot save the architecture of model "{model.name}": it applies '
                         f"tf.{node.layer.symbol} to Keras tensors (layer \"{node.layer.name}\"), "
                         "a recorded call that tapeflow cannot rebuild from a file. Do it in a "
                         "Layer subclass (passed to load_model in custom_objects), or save the "
                         "weights with save_weights().")


def input_layer_to_keras3(layer) -> dict:
    cfg = layer.get_config()
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": cfg["batch_input_shape"], "dtype": cfg["dtype"],
                       "sparse": False, "ragged": False, "name": cfg["name"],
                       "optional": False},
            "registered_name": None}


def sequential_to_keras3(model) -> dict:
    layers = []
    if model._input_tensor is not None:
        layers.append(input_layer_to_keras3(model._input_tensor._keras_history[0]))
    layers += [to_keras3(layer) for layer in model._seq_layers]
    config = {"name": model.name, "trainable": model.trainable, "dtype": _policy("float32"),
              "layers": layers}
    if model._input_tensor is not None:
        config["build_input_shape"] = model._input_tensor.shape.as_list()
    return config


def to_keras3(obj) -> dict:
    """Any layer or model as Keras 3 serializes it (without compile_config)."""
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.model import Model
    from tapeflow.keras.models.sequential import Sequential
    from tapeflow.keras.saving.registry import registered_name
    if isinstance(obj, Sequential) and type(obj) is Sequential:
        return {"module": "keras", "class_name": "Sequential",
                "config": sequential_to_keras3(obj), "registered_name": None,
                "build_config": {"input_shape": obj._input_tensor.shape.as_list()
                                 if obj._input_tensor is not None else None}}
    if isinstance(obj, Functional) and type(obj).__name__ in ("Functional", "Model"):
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": functional_to_keras3(obj), "registered_name": "Functional",
                "build_config": {"input_shape": None}}
    if isinstance(obj, Model):
        # Unregistered classes are named by class name: load_model needs custom_objects.
        name = registered_name(obj) or type(obj).__name__
        config = {k: v for k, v in obj.get_config().items() if k != "name"}
        config.setdefault("trainable", obj.trainable)
        config.setdefault("dtype", _policy("float32"))
        return {"module": type(obj).__module__, "class_name": type(obj).__name__,
                "config": config, "registered_name": name,
                "build_config": obj.get_build_config()}
    return layer_to_keras3(obj)


# -- reading -------------------------------------------------------------------------------

def _strip(value):
    """Keras 3 bookkeeping removed from nested serialized objects (initializers, ...)."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            cfg = value["config"]
            if isinstance(cfg, dict):
                cfg = {k: _strip(v) for k, v in cfg.items()
                       if not (k in _DEFAULTS and v == _DEFAULTS[k])}
            if value["class_name"] == "DTypePolicy":
                return cfg.get("name", "float32") if isinstance(cfg, dict) else "float32"
            return {"class_name": value["class_name"], "config": cfg}
        return {k: _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


# Taken by Layer.__init__ from **kwargs (not in its signature).
_LAYER_KWARGS = {"activity_regularizer", "autocast", "weights", "input_length", "implementation"}


def _accepted(cls) -> set:
    import inspect
    names = set(_LAYER_KWARGS)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names


def layer_config_from_keras3(cls, config: dict, where: str, safe_mode: bool) -> dict:
    """A Keras 3 layer config as `cls(**config)` accepts it (checked)."""
    accepted = _accepted(cls)
    out = {}
    for key, value in config.items():
        if key == "function" and cls.__name__ == "Lambda":
            out[key] = load_lambda(value, where, safe_mode)
            continue
        if key == "backward_layer" and _mirrors(value, config.get("layer")):
            continue        # tapeflow's Bidirectional makes this mirror of `layer` itself
        if key in ("layer", "backward_layer", "forward_layer") and isinstance(value, dict) \
                and "class_name" in value:       # a wrapped layer (Bidirectional, ...)
            from tapeflow.keras.saving.registry import lookup
            sub = lookup(value["class_name"], value.get("registered_name"))
            if sub is None:
                raise ConfigError(f"{where}: unknown class {value['class_name']!r} in {key}")
            out[key] = {"class_name": value["class_name"], "config": layer_config_from_keras3(
                sub, value.get("config") or {}, f"{where} {key}", safe_mode)}
            continue
        if key not in accepted and key not in ("name", "trainable", "dtype"):
            # None/False mean "off" for an option tapeflow lacks: nothing is lost.
            if value is None or value is False or (
                    key in _DEFAULTS and _strip(value) == _DEFAULTS[key]):
                continue
            raise ConfigError(f"{where}: layer {config.get('name')!r} ({cls.__name__}) has the "
                              f"Keras option {key}={value!r}, which tapeflow's "
                              f"{cls.__name__} does not support")
        out[key] = _strip(value)
    return out


def _mirrors(backward, forward) -> bool:
    """Whether a Bidirectional's backward layer is the reversed copy of its forward one."""
    if not (isinstance(backward, dict) and isinstance(forward, dict)):
        return False
    skip = ("name", "go_backwards")
    b, f = _strip(backward.get("config") or {}), _strip(forward.get("config") or {})
    return backward.get("class_name") == forward.get("class_name") and \
        {k: v for k, v in b.items() if k not in skip} == \
        {k: v for k, v in f.items() if k not in skip}


def load_lambda(value, where, safe_mode):
    if not (isinstance(value, dict) and value.get("class_name") == "__lambda__"):
        raise ConfigError(f"{where}: a Lambda layer's function must be a serialized lambda; "
                          f"found {str(value)[:80]!r}")
    if safe_mode:
        raise ValueError(f"{where}: Requested the deserialization of a Lambda layer's Python "
                         "code. Loading it runs code from the file, which can do anything, so "
                         "it is refused by default. If you trust the source of this file, pass "
                         "`safe_mode=False` to load_model.")
    cfg = value.get("config") or {}
    try:
        code = marshal.loads(base64.b64decode(cfg["code"]))
    except (KeyError, ValueError, EOFError, TypeError) as e:
        raise ConfigError(f"{where}: a Lambda layer's code cannot be read ({e}); it may come "
                          "from another Python version") from None
    import tapeflow
    defaults = cfg.get("defaults")
    return types.FunctionType(code, {"tf": tapeflow, "tapeflow": tapeflow},
                              argdefs=tuple(defaults) if defaults else None)


def _tensor_refs(value):
    """Keras 3 `__keras_tensor__` objects -> tapeflow's {'__keras_tensor__': history}."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return {"__keras_tensor__": list(value["config"]["keras_history"])}
        return {k: _tensor_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tensor_refs(v) for v in value]
    return value


def _node_kwargs(kwargs):
    # Keras 3 records `mask=None` for layers that take a mask; tapeflow passes masks itself.
    return {k: _tensor_refs(v) for k, v in kwargs.items() if not (k == "mask" and v is None)}


def _legacy_node(node):
    """A Keras 2 inbound node ([[layer, node, tensor, kwargs], ...]) as args/kwargs."""
    refs = [{"__keras_tensor__": [n[0], n[1], n[2]]} for n in node]
    kwargs = node[0][3] if node and len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    return {"args": [refs[0] if len(refs) == 1 else refs], "kwargs": kwargs}


def from_keras3(entry: dict, where: str, custom_objects=None, safe_mode=True) -> dict:
    """A Keras 3 (or Keras 2) serialized layer/model as tapeflow's config, classes
    resolved: returns {'cls': class, 'config': ..., 'build_config': ...} for plain layers,
    and tapeflow's functional/sequential configs (with resolved 'cls') for models."""
    from tapeflow.keras.saving.registry import lookup
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ConfigError(f"{where}: expected a serialized layer {{'class_name', 'config'}}, "
                          f"found {str(entry)[:100]!r}")
    class_name = entry["class_name"]
    config = entry.get("config")
    if config is None and class_name not in ("Sequential", "Functional", "Model", "InputLayer"):
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: the config of {class_name!r} must be an object")
    cls = lookup(class_name, entry.get("registered_name"), custom_objects)
    if cls is None:
        raise ConfigError(f"{where}: unknown class {entry.get('registered_name') or class_name!r}."
                          " Pass it in custom_objects={name: class} or register it with "
                          "@keras.saving.register_keras_serializable(); tapeflow never imports "
                          "a module that a file names.")
    out = {"cls": cls, "class_name": class_name}
    if class_name in ("Functional", "Model") and "layers" in config:
        layers = []
        for i, layer in enumerate(config["layers"]):
            sub = from_keras3(layer, f"{where} layer {i}", custom_objects, safe_mode)
            sub["name"] = layer.get("name") or (layer.get("config") or {}).get("name")
            nodes = layer.get("inbound_nodes") or []
            sub["inbound_nodes"] = [_legacy_node(n) if isinstance(n, list) else
                                    {"args": _tensor_refs(n.get("args", [])),
                                     "kwargs": _node_kwargs(n.get("kwargs", {}))}
                                    for n in nodes]
            layers.append(sub)
        out["config"] = {"name": config.get("name"), "trainable": config.get("trainable", True),
                         "layers": layers, "input_layers": config["input_layers"],
                         "output_layers": config["output_layers"]}
        return out
    if class_name == "Sequential":
        out["config"] = {"name": config.get("name"), "trainable": config.get("trainable", True),
                         "layers": [from_keras3(x, f"{where} layer {i}", custom_objects,
                                                safe_mode)
                                    for i, x in enumerate(config.get("layers", []))]}
        return out
    if class_name == "InputLayer":
        cfg = dict(config)
        shape = cfg.pop("batch_shape", None) or cfg.pop("batch_input_shape", None)
        out["config"] = {"batch_input_shape": shape, "dtype": _strip(cfg.get("dtype")),
                         "name": cfg.get("name")}
        return out
    out["config"] = layer_config_from_keras3(cls, config, where, safe_mode)
    out["build_config"] = entry.get("build_config")
    return out
