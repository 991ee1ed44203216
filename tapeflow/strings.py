"""`tf.strings` (re-exports of the string ops, `ops/string_ops.py`)."""
from tapeflow import _api

globals().update(_api.namespace("strings"))
