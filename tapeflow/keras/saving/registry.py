"""Classes a model file may name: `register_keras_serializable` and the lookups.

Loading a file never imports a module or calls a function that the file names: a
class is found only among tapeflow's own layers, models, losses and optimizers, the
classes registered here, and the `custom_objects` the caller passes.

    >>> import tapeflow as tf
    >>> @tf.keras.saving.register_keras_serializable(package="demo")
    ... class Twice(tf.keras.layers.Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> tf.keras.saving.get_registered_name(Twice)
    'demo>Twice'
    >>> tf.keras.saving.get_registered_object('demo>Twice') is Twice
    True
"""
from __future__ import annotations

_REGISTERED: dict = {}        # 'package>Name' -> class
_NAMES: dict = {}             # class -> 'package>Name'


def register_keras_serializable(package="Custom", name=None):
    """Decorator: makes a class loadable from model files under 'package>name'."""
    if ">" in str(package):
        raise ValueError(f"Invalid package name {package!r}: it cannot contain '>'")

    def decorate(obj):
        key = f"{package}>{name or obj.__name__}"
        if not hasattr(obj, "get_config") and not callable(obj):
            raise ValueError(f"Cannot register {obj!r}: it has no get_config()")
        _REGISTERED[key] = obj
        _NAMES[obj] = key
        return obj
    return decorate


def get_registered_name(obj) -> str:
    """'package>Name' for a registered class, else its class name."""
    return _NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class registered (or passed in custom_objects) under `name`, or None."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def registered_name(obj):
    """'package>Name' when `obj`'s class is registered, else None."""
    return _NAMES.get(type(obj))


def lookup(class_name, registered=None, custom_objects=None):
    """A class by its registered name or plain name: custom_objects, the registry, then
    tapeflow's own layers and models. None when unknown."""
    custom_objects = custom_objects or {}
    for key in (registered, class_name):
        if not key:
            continue
        if key in custom_objects:
            return custom_objects[key]
        if key in _REGISTERED:
            return _REGISTERED[key]
    for key, cls in _REGISTERED.items():            # registered under another package
        if key.split(">", 1)[-1] == class_name:
            return cls
    from tapeflow.keras.saving.tapeflow_format import _registry
    return _registry().get(class_name)
