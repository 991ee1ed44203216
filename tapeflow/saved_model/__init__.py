"""`tf.saved_model`: TensorFlow's SavedModel directory format, written and read by tapeflow.

A SavedModel directory holds `saved_model.pb` (a `SavedModel` message: one `MetaGraphDef`
with the traced functions as TensorFlow `FunctionDef`s and the object graph), and
`variables/` (a checkpoint in TensorFlow's format). `save` writes what TensorFlow's own
`tf.saved_model.load` opens; `load` reads directories written by tapeflow or by TensorFlow.
"""
from tapeflow.saved_model.constants import (  # noqa: F401
    ASSETS_DIRECTORY,
    SAVED_MODEL_FILENAME_PB,
    VARIABLES_DIRECTORY,
    VARIABLES_FILENAME,
)
from tapeflow.saved_model.load import LoadOptions, contains_saved_model, load  # noqa: F401
from tapeflow.saved_model.save import SaveOptions, save  # noqa: F401
