"""`tf.nn`: activations, losses, convolution and pooling.

Filled with the functions that declare an 'nn.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api

globals().update(_api.namespace("nn"))
