"""`keras.models`: Model, Sequential, load_model, clone_model."""
from tapeflow.keras.models.functional import Functional  # noqa: F401
from tapeflow.keras.models.model import Model  # noqa: F401
from tapeflow.keras.models.sequential import Sequential  # noqa: F401
from tapeflow.keras.saving import load_model, save_model  # noqa: F401


def model_from_json(json_string, custom_objects=None):
    """A model (new weights) from `model.to_json()`."""
    import json

    from tapeflow.keras.saving import deserialize_layer
    return deserialize_layer(json.loads(json_string), custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture (and layer names) and fresh weights."""
    from tapeflow.keras.saving import deserialize_layer, serialize_layer
    return deserialize_layer(serialize_layer(model))


# The implementation modules are reached by their paths (`from tapeflow.keras.models import
# training`), not as attributes of the public keras.models namespace.
del compile_utils, data_adapter, functional, model, sequential, summary, training  # noqa: F821
