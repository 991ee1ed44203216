"""`model.save` / `load_model` / `save_weights` / `load_weights` in Keras 3's formats.

A `.keras` file is a zip (members stored) of `metadata.json`, `config.json` (the model
in Keras 3's serialization, plus `compile_config`) and `model.weights.h5` (the weights
and optimizer state, `h5_weights.py`). `save_weights` writes the `.weights.h5` alone.
Loading also reads Keras 2's `.h5` files and, for one release, tapeflow's previous
zip/npz files. See docs/keras_saving.md.
"""
# Files with the wrong content are ValueErrors, as in Keras, even when a type is wrong.
# ruff: noqa: TRY004
from __future__ import annotations

import datetime
import io
import json
import os
import zipfile

from tapeflow.keras.saving import h5_weights, keras3_config
from tapeflow.train.files import atomic_write

KERAS_FORMAT = "3.15.1"          # the Keras release (TF 2.21's) whose file format this is
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_MAX_JSON = 64 << 20              # config.json / metadata.json: far above any real model
_H5_SLACK = 16 << 20              # HDF5 bookkeeping beyond the raw variable bytes


def _is_hdf5(path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == _HDF5_MAGIC


# -- saving ----------------------------------------------------------------------------------

def _compile_config(model):
    if not getattr(model, "_is_compiled", False):
        return None
    from tapeflow.keras import losses as losses_mod
    opt = model.optimizer
    out = {"optimizer": {"module": "keras.optimizers", "class_name": type(opt).__name__,
                         "config": opt.get_config(), "registered_name": None},
           "loss": None, "loss_weights": None, "metrics": None, "weighted_metrics": None,
           "run_eagerly": bool(model._run_eagerly), "steps_per_execution": 1,
           "jit_compile": False}
    loss = model.compiled_loss
    if loss is not None:
        ser = []
        for fn in loss.losses:
            if fn is None or type(fn).__name__ not in losses_mod._CLASSES:
                ser = None
                break
            ser.append({"module": "keras.losses", **losses_mod.serialize(fn),
                        "registered_name": None})
        if ser is not None:
            out["loss"] = ser if len(ser) > 1 else ser[0]
            out["loss_weights"] = loss.loss_weights
    if len(model.compiled_metrics.output_names) == 1:
        names = [m.name for m in model.compiled_metrics.metrics]
        out["metrics"] = names or None
    return out


def _model_config(model) -> dict:
    config = keras3_config.to_keras3(model)
    config["compile_config"] = _compile_config(model)
    return config


def _weights_h5_bytes(model) -> bytes:
    buf = io.BytesIO()
    h5_weights.write_h5(model, buf)
    return buf.getvalue()


def save_model(model, filepath, overwrite=True):
    """Writes a `.keras` zip in Keras 3's format (atomically)."""
    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")):
        raise ValueError(f"Cannot save to {filepath}: tapeflow writes the native Keras format; "
                         "use a name ending in '.keras' (legacy .h5 model files are read, "
                         "not written).")
    if not filepath.endswith(".keras"):
        raise ValueError(f"Invalid filepath extension for saving. Please add the `.keras` "
                         f"extension (native Keras format). Received: filepath={filepath}")
    if not model.built:
        raise ValueError(f'Model "{model.name}" is not built yet: call it on data or call '
                         "model.build(input_shape) before saving.")
    config = json.dumps(_model_config(model), indent=1)      # fails before any file is touched
    metadata = json.dumps({"keras_version": KERAS_FORMAT, "date_saved":
                           datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                           "tapeflow": True})
    weights = _weights_h5_bytes(model)

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("metadata.json", metadata)
            z.writestr("config.json", config)
            z.writestr("model.weights.h5", weights)
    atomic_write(filepath, write, overwrite)


def save_weights(model, filepath, overwrite=True):
    """Writes the weights (and optimizer state) as a Keras 3 `.weights.h5` file."""
    filepath = os.fspath(filepath)
    if filepath.endswith(".npz"):
        from tapeflow.keras.saving import tapeflow_format
        return tapeflow_format.save_weights(model, filepath, overwrite)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: "
                         f"filepath={filepath}")
    if not model.built:
        raise ValueError(f'Model "{model.name}" has no weights yet: build it (call it on data) '
                         "before save_weights().")
    data = _weights_h5_bytes(model)
    atomic_write(filepath, lambda f: f.write(data), overwrite)
    return None


# -- loading -------------------------------------------------------------------------------

def _variable_bytes(model) -> int:
    from tapeflow.train.trackable import optimizer_variables
    total = sum(v._value.nbytes for v in model.weights)
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        # Slots not built yet: at most a few per weight (Adam with AMSGrad: three).
        total += 4 * total + sum(v._value.nbytes for v in optimizer_variables(opt))
    return total


def _read_member(z, name, limit, source):
    """A zip member's bytes, refused before reading when it declares more than `limit`."""
    try:
        info = z.getinfo(name)
    except KeyError:
        raise ValueError(f"{source}: the archive has no {name}") from None
    if info.file_size > limit:
        raise ValueError(f"{source}: {name} would inflate to {info.file_size} bytes, more than "
                         f"the {limit} this model can need; the file is corrupted or hostile")
    with z.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{source}: {name} inflates past {limit} bytes")
    return data


def _parse_json(data, source, member):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(f"{source}: {member} is not valid JSON ({type(e).__name__}: "
                         f"{str(e)[:200]})") from None


def _load_pairs(model, h5_target, source):
    h5py = h5_weights._h5py()
    try:
        with h5py.File(h5_target, "r") as f:
            if h5_weights.is_legacy(f):
                return h5_weights.read_legacy(model, f, source)
            return h5_weights.read_h5(model, f, source)
    except OSError as e:
        raise ValueError(f"{source}: not a readable HDF5 weights file ({e})") from None


def _build_optimizer(model):
    opt = getattr(model, "optimizer", None)
    if opt is not None and not opt.built and model.trainable_variables:
        from tapeflow.framework.context import init_scope
        from tapeflow.train import deferred
        with init_scope():
            opt.build(model.trainable_variables)
        deferred.notify(opt)


def load_weights(model, filepath, skip_mismatch=False):
    """Loads weights from a `.weights.h5`, `.keras`, Keras 2 `.h5`, a TF checkpoint prefix or
    tapeflow's previous `.npz`; everything is checked before anything is assigned."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        if os.path.exists(filepath + ".index"):      # a tf.train.Checkpoint prefix
            from tapeflow.train import Checkpoint
            return Checkpoint(model).restore(filepath)
        raise FileNotFoundError(f"No weights file at {filepath}")
    if _is_hdf5(filepath):
        _build_optimizer(model)
        h5_weights.assign_all(_load_pairs(model, filepath, filepath))
        return None
    if zipfile.is_zipfile(filepath):
        with zipfile.ZipFile(filepath) as z:
            if "model.weights.h5" in z.namelist():
                limit = _variable_bytes(model) + _H5_SLACK
                data = _read_member(z, "model.weights.h5", limit, filepath)
                _build_optimizer(model)
                h5_weights.assign_all(_load_pairs(model, io.BytesIO(data), filepath))
                return None
    from tapeflow.keras.saving import tapeflow_format
    return tapeflow_format.load_weights(model, filepath)


def _instantiate(resolved, where):
    """A tapeflow object from `keras3_config.from_keras3`'s resolved entry."""
    from tapeflow.keras.saving import tapeflow_format
    cls, class_name, config = resolved["cls"], resolved["class_name"], resolved["config"]
    if class_name in ("Functional", "Model") and "layers" in config:
        return tapeflow_format.functional_from_config(
            config, make_layer=lambda e: _instantiate(e, f"{where} layer {e.get('name')!r}"))
    if class_name == "Sequential":
        from tapeflow.keras.models.sequential import Sequential
        model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
        for i, entry in enumerate(config["layers"]):
            model.add(_instantiate(entry, f"{where} layer {i}"))
        return model
    if class_name == "InputLayer":
        return cls(**config)
    from tapeflow.keras.models.model import Model
    try:
        if issubclass(cls, Model) and "from_config" not in vars(cls):
            kwargs = {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")}
            obj = cls(**kwargs)
        else:
            obj = cls.from_config(config)
    except TypeError as e:
        raise TypeError(f"{where}: could not rebuild {class_name} from its config: {e}") \
            from None
    build = resolved.get("build_config")
    if build and build.get("input_shape") is not None and not obj.built:
        from tapeflow.keras.layers.base import _shape_from_json
        if isinstance(obj, Model):
            obj.build(_shape_from_json(build["input_shape"]))
        else:
            obj.build_from_config(build)
    return obj


def model_from_config(config, source, custom_objects=None, safe_mode=True):
    """A model from a Keras 3 (or Keras 2) config dict; errors name `source`."""
    try:
        resolved = keras3_config.from_keras3(config, source, custom_objects, safe_mode)
        return _instantiate(resolved, source)
    except (KeyError, IndexError, AttributeError, TypeError) as e:
        raise ValueError(f"{source}: malformed model config ({type(e).__name__}: {e})") \
            from None
    except RecursionError:
        raise ValueError(f"{source}: malformed model config (nested too deeply)") from None


def _compile_from_config(model, cc, source):
    from tapeflow.keras import losses as losses_mod
    from tapeflow.keras import optimizers

    def loss_of(x):
        if isinstance(x, dict):
            return losses_mod.get({"class_name": x.get("class_name"),
                                   "config": x.get("config", {})})
        return losses_mod.get(x)
    try:
        opt = cc.get("optimizer")
        if isinstance(opt, dict):
            opt = {"class_name": opt.get("class_name"), "config": opt.get("config", {})}
        loss = cc.get("loss")
        loss = [loss_of(x) for x in loss] if isinstance(loss, list) else (
            loss_of(loss) if loss is not None else None)
        metrics = cc.get("metrics")
        if isinstance(metrics, list):
            metrics = [m if isinstance(m, str) else (m or {}).get("config", {}).get("name")
                       for m in metrics]
            metrics = [m for m in metrics if m] or None
        model.compile(optimizer=optimizers.get(opt), loss=loss, metrics=metrics,
                      loss_weights=cc.get("loss_weights"))
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{source}: cannot compile the model from its compile_config: {e}") \
            from None


def _load_keras_zip(z, filepath, custom_objects, compile, safe_mode):
    config = _parse_json(_read_member(z, "config.json", _MAX_JSON, filepath), filepath,
                         "config.json")
    if not isinstance(config, dict):
        raise ValueError(f"{filepath}: config.json must hold an object")
    model = model_from_config(config, f"{filepath} (config.json)", custom_objects, safe_mode)
    cc = config.get("compile_config")
    if compile and cc:
        _compile_from_config(model, cc, f"{filepath} (config.json)")
        _build_optimizer(model)
    limit = _variable_bytes(model) + _H5_SLACK
    data = _read_member(z, "model.weights.h5", limit, filepath)
    h5_weights.assign_all(_load_pairs(model, io.BytesIO(data), filepath))
    return model


def _load_legacy_h5(filepath, custom_objects, compile, safe_mode):
    h5py = h5_weights._h5py()
    with h5py.File(filepath, "r") as f:
        config, training = h5_weights.legacy_model_config(f, filepath)
        model = model_from_config(config, filepath, custom_objects, safe_mode)
        h5_weights.assign_all(h5_weights.read_legacy(model, f, filepath))
    if compile and training:
        cc = {"optimizer": training.get("optimizer_config"), "loss": training.get("loss"),
              "metrics": [m for m in (training.get("metrics") or []) if isinstance(m, str)],
              "loss_weights": training.get("loss_weights")}
        _compile_from_config(model, cc, filepath)
    return model


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuilds a model from a `.keras` file (Keras 3's format or tapeflow's previous one)
    or a Keras 2 `.h5` model file."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No model file at {filepath}")
    if os.path.isdir(filepath):
        raise ValueError(f"{filepath} is a folder: TensorFlow SavedModel folders cannot be "
                         "loaded by tapeflow; save the model as a .keras file.")
    if _is_hdf5(filepath):
        return _load_legacy_h5(filepath, custom_objects, compile, safe_mode)
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{filepath} is not a Keras model file (a .keras zip or a legacy .h5 "
                         "file); for a weights file use model.load_weights().")
    with zipfile.ZipFile(filepath) as z:
        names = z.namelist()
        if "model.weights.h5" in names and "config.json" in names:
            return _load_keras_zip(z, filepath, custom_objects, compile, safe_mode)
    from tapeflow.keras.saving import tapeflow_format
    return tapeflow_format.load_model(filepath, custom_objects, compile, safe_mode)

