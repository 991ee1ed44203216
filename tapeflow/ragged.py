"""`tf.ragged`: ragged tensors built from nested lists (`tf.ragged.constant`).

Filled with the functions that declare a 'ragged.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api
from tapeflow.ops import ragged_ops  # noqa: F401  (declares the names)

globals().update(_api.namespace("ragged"))
