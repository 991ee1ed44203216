"""`tf.version`: the TensorFlow API version tapeflow follows.

`tf.__version__` and `tf.version.VERSION` say "2.21.0" because tapeflow
reproduces TensorFlow 2.21's behaviour (values, errors, random streams, file
formats) and is tested against it: code that checks the version to choose an
API path then takes the path that works here. tapeflow's own release is
`TAPEFLOW_VERSION`.

    >>> import tapeflow as tf
    >>> tf.version.VERSION == tf.__version__
    True
"""
VERSION = "2.21.0"
# TensorFlow's build facts have no meaning here; they say what built tapeflow instead.
GIT_VERSION = "tapeflow-0.1.0"
COMPILER_VERSION = "Python (tapeflow runs on NumPy)"
# The GraphDef versions of TF 2.21, for code that reads them before writing graphs.
GRAPH_DEF_VERSION = 2474
GRAPH_DEF_VERSION_MIN_CONSUMER = 0
GRAPH_DEF_VERSION_MIN_PRODUCER = 0
TAPEFLOW_VERSION = "0.1.0"
