"""`tf.io`: files, TFRecords, `tf.train.Example` parsing, serialized tensors.

The functions are declared where they are defined (`@tf_export("io....")`: `gfile.py`,
`parsing_ops.py`, and the image codecs' module, ops/image_codec_ops.py) and collected
here; `tf.io.gfile` is the file-system namespace.
"""
from tapeflow import _api
from tapeflow.io import gfile as _gfile_impl
from tapeflow.io.parsing_ops import FixedLenFeature, VarLenFeature  # noqa: F401
from tapeflow.io.tfrecord import (  # noqa: F401
    TFRecordCompressionType, TFRecordOptions, TFRecordWriter)

globals().update(_api.namespace("io"))


class _GFileNamespace:
    """`tf.io.gfile`."""

    GFile = _gfile_impl.GFile


gfile = _GFileNamespace()
for _name, _fn in _api.namespace("io.gfile").items():
    setattr(gfile, _name, _fn)
del _name, _fn
