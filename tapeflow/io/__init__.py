"""`tf.io`: file and image codec functions.

Filled with the functions that declare an 'io.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api

globals().update(_api.namespace("io"))
