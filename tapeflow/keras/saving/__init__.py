"""`keras.saving`: model and weight files in Keras 3's formats (see docs/keras_saving.md).

    >>> import tempfile, os
    >>> import tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), 'm.keras')
    >>> m.save(path)
    >>> m2 = tf.keras.models.load_model(path)
    >>> bool((m2.get_weights()[0] == m.get_weights()[0]).all())
    True
"""
from tapeflow.keras.saving.keras_file import (  # noqa: F401
    load_model,
    load_weights,
    model_from_config,
    save_model,
    save_weights,
)
from tapeflow.keras.saving.registry import (  # noqa: F401
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from tapeflow.keras.saving.tapeflow_format import (  # noqa: F401
    _registry,
    deserialize_layer,
    functional_config,
    functional_from_config,
    sequential_config,
    sequential_from_config,
    serialize_layer,
)
