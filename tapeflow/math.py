"""`tf.math`: elementwise math, reductions, scans and segment sums.

Filled with the functions that declare a 'math.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api

globals().update(_api.namespace("math"))
