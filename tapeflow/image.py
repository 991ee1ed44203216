"""`tf.image`: image codecs, resizing, crops, flips and colour adjustments.

Filled with the functions that declare an 'image.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api
from tapeflow.ops.image_ops import ResizeMethod  # noqa: F401

globals().update(_api.namespace("image"))
