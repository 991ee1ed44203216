"""`tf.train`: object-graph checkpoints in TensorFlow's file format.

`Checkpoint` saves and restores models, optimizers, modules and variables;
`CheckpointManager` numbers checkpoints and keeps the recent ones;
`latest_checkpoint`, `load_checkpoint`, `list_variables` and `load_variable` read
them. Files are TensorFlow's own (tensor bundle + object graph): checkpoints move
between tapeflow and TensorFlow both ways. Needs the `protobuf` package.
"""
from tapeflow.train.checkpoint import Checkpoint, CheckpointLoadStatus  # noqa: F401
from tapeflow.train.manager import (  # noqa: F401
    CheckpointManager,
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
)
from tapeflow.train.reader import CheckpointReader, list_variables, load_checkpoint, load_variable  # noqa: F401


class CheckpointOptions:
    """Accepted for compatibility; tapeflow writes every checkpoint the same way."""

    def __init__(self, experimental_io_device=None, experimental_enable_async_checkpoint=False,
                 **kwargs):
        self.experimental_io_device = experimental_io_device
        self.experimental_enable_async_checkpoint = experimental_enable_async_checkpoint
from tapeflow.io.protos import (  # noqa: F401,E402  (tf.train.Example & co, io/protos.py)
    BytesList, Example, Feature, Features, FloatList, Int64List)
