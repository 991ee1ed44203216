"""`tf.experimental`: tapeflow's own additions (re-exports): defining an op and its
gradient from Python (`register_op`, `defvjp`; see docs/defining_ops.md)."""
from tapeflow.ops.custom_ops import CustomOp, defvjp, register_op  # noqa: F401
