"""Weights in HDF5: Keras 3's `.weights.h5` layout, and Keras 2's legacy `.h5`.

Keras 3 layout (`model.weights.h5` inside a `.keras` zip, or a `.weights.h5` file):
each object that owns variables has a group `<path>/vars` (attribute `name`: the
object's name) with one dataset per variable, named '0', '1', ... in the object's
order. Paths follow the objects: the model's own variables at `vars`; a Sequential or
functional model's layers under `layers/<snake_case class name>` (made unique in
order: `dense`, `dense_1`); other sublayers under their attribute name (public ones
first, each sorted), lists of layers as a group of class names; a recurrent layer's
weights in its `cell`; the optimizer at `optimizer` (iterations, learning rate, then
slots in Keras 3's order). An object reached twice is stored once, at its first path.

Keras 2 layout (TensorFlow 2.2's `model.save('m.h5')` / `save_weights('w.h5')`):
the root (weights files) or the `model_weights` group (model files) lists
`layer_names`; each layer's group lists `weight_names` and holds them as datasets.
Layers with weights are matched to the model's in order, as Keras 2 did.

Loading checks every variable (presence, shape, dtype kind) before assigning any.
"""
# Files with the wrong content are ValueErrors, as in Keras, even when a type is wrong.
# ruff: noqa: TRY004
from __future__ import annotations

import numpy as np

from tapeflow.train import trackable


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Keras weight files (.weights.h5, .keras, .h5) need the `h5py` "
                          "package: pip install h5py (or tapeflow's `fast`/`test` extra)."
                          ) from None
    return h5py


def _name_key(name):
    return ("~" + name) if name.startswith("_") else name


def _layer_like(x):
    from tapeflow.keras.layers.base import Layer
    from tapeflow.keras.optimizers.base import Optimizer
    return isinstance(x, (Layer, Optimizer))


def _own_variables(obj):
    from tapeflow.keras.optimizers.base import Optimizer
    if isinstance(obj, Optimizer):
        return trackable.optimizer_variables(obj)
    if isinstance(obj, _Cell):
        return obj.variables
    if _is_recurrent(obj):
        return []
    return list(obj._trainable_weights + obj._non_trainable_weights + obj._tracked_variables)


def _is_recurrent(obj):
    return type(obj).__name__ in trackable._RECURRENT


class _Cell:
    """A recurrent layer's weights, which Keras 3 keeps in a `cell` sublayer."""

    def __init__(self, layer):
        self.name = layer.name + "_cell"
        self.variables = list(layer._trainable_weights + layer._non_trainable_weights)


def _children(obj):
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential
    from tapeflow.keras.optimizers.base import Optimizer
    if isinstance(obj, (Optimizer, _Cell)):
        return []
    out = []
    if isinstance(obj, Sequential):
        out.append(("layers", list(obj._seq_layers)))
    elif isinstance(obj, Functional):
        out.append(("layers", trackable.functional_layers(obj)))
    if _is_recurrent(obj):
        out.append(("cell", _Cell(obj)))
    attrs = [(k, v) for k, v in vars(obj).items()
             if not k.startswith("__") and k not in ("_layers", "_seq_layers")]
    for name, value in sorted(attrs, key=lambda kv: _name_key(kv[0])):
        if value is obj:
            continue
        if _layer_like(value):
            out.append((name, value))
        elif isinstance(value, (list, tuple)) and any(_layer_like(v) for v in value):
            out.append((name, list(value)))
        elif isinstance(value, dict) and any(_layer_like(v) for v in value.values()):
            out.append((name, list(value.values())))
    return out


def saveables(model) -> list:
    """[(path, object)] of every object whose variables the file holds, Keras 3's paths."""
    out, seen = [], set()

    def visit(obj, path):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        out.append((path, obj))
        for name, child in _children(obj):
            sub = f"{path}/{name}" if path else name
            if isinstance(child, list):
                used = {}
                for item in child:
                    if not _layer_like(item):
                        continue
                    base = trackable.snake_case(type(item).__name__)
                    if base in used:
                        used[base] += 1
                        key = f"{base}_{used[base]}"
                    else:
                        used[base] = 0
                        key = base
                    visit(item, f"{sub}/{key}")
            else:
                visit(child, sub)
    visit(model, "")
    return out


def write_h5(model, target) -> None:
    """Writes the Keras 3 layout into `target` (a path or a binary file object)."""
    h5py = _h5py()
    with h5py.File(target, "w") as f:
        for path, obj in saveables(model):
            group = f.require_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = getattr(obj, "name", "")
            for i, v in enumerate(_own_variables(obj)):
                group.create_dataset(str(i), data=np.asarray(v._value))


def _check(var, array, where, source):
    want = tuple(var.shape.as_list())
    if tuple(array.shape) != want:
        raise ValueError(f"Cannot load {source}: variable '{var.name}' has shape {want} in the "
                         f"model but {tuple(array.shape)} in the file (at {where}). Nothing "
                         "was loaded.")
    have, got = var._value.dtype, array.dtype
    ok = got.kind == have.kind or (got.kind in "iub" and have.kind in "iub") or (
        got.kind in "iu" and have.kind == "f")
    if not ok:
        raise ValueError(f"Cannot load {source}: variable '{var.name}' ({have}) cannot take "
                         f"the file's {got} values at {where} (e.g. complex into real). "
                         "Nothing was loaded.")


def _read_dataset(ds, where, source):
    h5py = _h5py()
    if not isinstance(ds, h5py.Dataset):
        raise ValueError(f"Cannot load {source}: {where} is not an array")
    if ds.dtype.kind not in "biufc":
        raise ValueError(f"Cannot load {source}: {where} holds {ds.dtype} data, not numbers")
    return ds[()]


def read_h5(model, source_file, source, skip_optimizer_mismatch=True) -> list:
    """Checks the Keras 3 layout in an open h5py File against `model`; returns the
    (variable, array) pairs to assign."""
    from tapeflow.keras.optimizers.base import Optimizer
    pairs, read = [], set()
    for path, obj in saveables(model):
        variables = _own_variables(obj)
        where = f"{path}/vars" if path else "vars"
        read.add(where)
        group = source_file.get(where)
        stored = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1) \
            if group is not None else []
        if isinstance(obj, Optimizer):
            if not stored:
                continue
            if len(stored) != len(variables):
                import logging
                logging.getLogger("tapeflow").warning(
                    "Skipping variable loading for optimizer '%s', because it has %d "
                    "variables whereas the saved optimizer has %d variables.", obj.name,
                    len(variables), len(stored))
                continue
        if len(stored) != len(variables):
            raise ValueError(f"Cannot load {source}: layer '{getattr(obj, 'name', path)}' "
                             f"expects {len(variables)} variables "
                             f"{[v.name for v in variables]}, but the file has {len(stored)} "
                             f"at '{where}'. Nothing was loaded.")
        for key, var in zip(stored, variables):
            array = _read_dataset(group[key], f"{where}/{key}", source)
            _check(var, array, f"{where}/{key}", source)
            pairs.append((var, array))
    extra = [w for w in _groups_with_values(source_file) if w not in read
             and not w.startswith("optimizer/")]
    if extra:
        raise ValueError(f"Cannot load {source}: it holds variables at {extra[:5]} that the "
                         f"model '{model.name}' has no layer for (a file of another model?). "
                         "Nothing was loaded.")
    return pairs


def _groups_with_values(f) -> list:
    h5py = _h5py()
    out = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and name.endswith("vars") and len(obj):
            out.append(name)
    f.visititems(visit)
    return out


def assign_all(pairs) -> None:
    """Assigns checked arrays (all checks passed before this is called)."""
    for var, array in pairs:
        np.copyto(var._value, array, casting="unsafe")


# -- Keras 2 (legacy .h5) ---------------------------------------------------------------------

def _decode(names):
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def is_legacy(f) -> bool:
    return "layer_names" in f.attrs or "model_weights" in f


def _weighted_layers(model):
    from tapeflow.keras.models.functional import Functional
    layers = model._seq_layers if hasattr(model, "_seq_layers") else (
        trackable.functional_layers(model) if isinstance(model, Functional)
        else model._flatten_layers())
    return [layer for layer in layers if layer.weights]


def read_legacy(model, f, source) -> list:
    """(variable, array) pairs from a Keras 2 HDF5 file, every shape checked."""
    group = f.get("model_weights", f)
    names = _decode(group.attrs.get("layer_names", []))
    file_layers = []
    for name in names:
        weight_names = _decode(group[name].attrs.get("weight_names", []))
        if weight_names:
            file_layers.append((name, weight_names))
    layers = _weighted_layers(model)
    if len(layers) != len(file_layers):
        raise ValueError(f"Cannot load {source}: it holds weights for {len(file_layers)} layers "
                         f"({[n for n, _ in file_layers]}) but the model has {len(layers)} "
                         f"layers with weights ({[x.name for x in layers]}). Nothing was loaded.")
    pairs = []
    for layer, (name, weight_names) in zip(layers, file_layers):
        variables = layer.weights
        if len(variables) != len(weight_names):
            raise ValueError(f"Cannot load {source}: layer '{layer.name}' has "
                             f"{len(variables)} weights, the file's layer '{name}' has "
                             f"{len(weight_names)}. Nothing was loaded.")
        for var, wname in zip(variables, weight_names):
            where = f"{name}/{wname}"
            array = _read_dataset(group[name][wname], where, source)
            _check(var, array, where, source)
            pairs.append((var, array))
    return pairs


def legacy_model_config(f, source):
    """(model config dict, training config dict or None) of a Keras 2 model file."""
    import json
    raw = f.attrs.get("model_config")
    if raw is None:
        raise ValueError(f"{source} is a weights-only HDF5 file (no model_config): build the "
                         "model and call model.load_weights() instead.")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        config = json.loads(raw)
        training = f.attrs.get("training_config")
        training = json.loads(training.decode("utf-8") if isinstance(training, bytes)
                              else training) if training is not None else None
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{source}: malformed model_config JSON ({e})") from None
    return config, training
