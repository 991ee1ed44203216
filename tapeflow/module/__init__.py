"""`tf.Module`: named containers of Variables and other Modules."""
from tapeflow.module.module import Module  # noqa: F401
