"""`tf.sparse`: `SparseTensor` and its conversions to and from dense tensors.

Filled with the functions that declare a 'sparse.*' name where they are defined
(see `framework/api_export.py`).
"""
from tapeflow import _api
from tapeflow.ops.sparse_ops import SparseTensor  # noqa: F401

globals().update(_api.namespace("sparse"))
