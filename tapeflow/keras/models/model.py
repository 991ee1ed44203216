"""`keras.Model`: a Layer with training (compile/fit/...), summary and saving.

Three ways to make one, as in Keras:

* functional: `Model(inputs, outputs)` (returns a `Functional`);
* Sequential: `Sequential([...])` (see `sequential.py`);
* subclassing: define layers in `__init__` and the forward pass in `call`.

    >>> import tapeflow as tf
    >>> class Tiny(tf.keras.Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = tf.keras.layers.Dense(2)
    ...     def call(self, x):
    ...         return self.fc(x)
    >>> m = Tiny()
    >>> m(tf.ones([1, 3])).shape
    TensorShape([1, 2])
    >>> len(m.trainable_variables)
    2
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework.tensor_shape import TensorShape
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.models import summary as summary_mod
from tapeflow.keras.models.training import Trainer


class Model(Trainer, Layer):
    """A trainable stack of layers; see the module docstring for the three styles."""

    # Layers inside a model name their weights by their own name ('dense/kernel:0').
    _scoped_build = False
    # Float data is cast once at the model's door; integer ids reach the layers (Embedding)
    # that want them, and other layers cast them themselves.
    _autocast_kinds = "f"

    def __new__(cls, *args, **kwargs):
        if cls is Model and _functional_arguments(args, kwargs):
            from tapeflow.keras.models.functional import Functional
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if _functional_arguments(args, kwargs):
            # `Model(inputs, outputs)` was turned into a Functional by __new__; a subclass
            # that passes inputs and outputs up (to override train_step, say) becomes a
            # functional model that keeps the subclass's methods, as in Keras.
            from tapeflow.keras.models.functional import Functional
            if not isinstance(self, Functional):
                self.__class__ = _functional_subclass(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        Layer.__init__(self, trainable=trainable, name=name, dtype=dtype, **kwargs)
        self._init_trainer()

    def call(self, inputs, training=None):
        raise NotImplementedError(
            f"Model {type(self).__name__} has no call(): subclass keras.Model and define "
            "`call(self, inputs)`, or build the model functionally with "
            "keras.Model(inputs, outputs).")

    def build(self, input_shape):
        """Builds a subclassed model by running it once on zeros of `input_shape`."""
        if self.built:
            return
        if type(self).call is Model.call:
            super().build(input_shape)
            return
        shape = [1 if d is None else d for d in TensorShape(input_shape).as_list()]
        self.__dict__["built"] = True
        self.__dict__["_build_input_shape"] = TensorShape(input_shape)
        self(np.zeros(shape, np.float32))

    def _maybe_build_shape(self, shapes):
        # A subclassed model's layers build during its first call; a build() of its own
        # (creating weights directly on the model) runs first, as for any layer.
        if self.built:
            return
        self.__dict__["_build_input_shape"] = shapes
        self.__dict__["built"] = True
        if type(self).build is not Model.build:
            from tapeflow.framework.context import init_scope
            with init_scope():
                self.build(shapes)

    # -- introspection -------------------------------------------------------------
    def _summary_layers(self):
        return list(self._layers)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints the layer table (Keras 2 format) and the parameter counts; layers not
        built yet show '?' and 'unbuilt' (Keras 3 prints a table for them too)."""
        summary_mod.print_summary(self, line_length, positions, print_fn)

    def get_layer(self, name=None, index=None):
        layers = self._summary_layers()
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in layers]}.")

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds a model from `get_config()`: a functional graph, or `cls(**config)`."""
        if "layers" in config and "input_layers" in config:
            from tapeflow.keras import saving
            return saving.functional_from_config(config, custom_objects)
        return cls(**config)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (`keras.models.model_from_json` rebuilds it)."""
        import json

        from tapeflow.keras import saving
        return json.dumps(saving.serialize_layer(self), **kwargs)

    # -- saving (see keras/saving.py) ----------------------------------------------------
    def save_weights(self, filepath, overwrite=True, save_format=None):
        from tapeflow.keras import saving
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        from tapeflow.keras import saving
        saving.load_weights(self, filepath)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None):
        from tapeflow.keras import saving
        saving.save_model(self, filepath, overwrite=overwrite)

    def __reduce__(self):
        raise TypeError("Keras models cannot be pickled; use model.save(path) and "
                        "keras.models.load_model(path).")



_FUNCTIONAL_SUBCLASSES: dict = {}


def _functional_arguments(args, kwargs) -> bool:
    """Whether Model's arguments describe a functional model (Keras's rule)."""
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or (
        "inputs" in kwargs and "outputs" in kwargs)


def _functional_subclass(cls):
    """`cls` with Functional's graph building and replay mixed in (one class per `cls`)."""
    made = _FUNCTIONAL_SUBCLASSES.get(cls)
    if made is None:
        from tapeflow.keras.models.functional import Functional
        made = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__,
                                                      "__qualname__": cls.__qualname__})
        _FUNCTIONAL_SUBCLASSES[cls] = made
    return made
