"""`tf.linalg`: the matrix functions tapeflow implements.

Filled with the functions that declare a 'linalg.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api

globals().update(_api.namespace("linalg"))
