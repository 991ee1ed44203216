"""`tf.random`: seeded random tensors.

Filled with the functions that declare a 'random.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api

globals().update(_api.namespace("random"))
