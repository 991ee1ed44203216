"""`tf.random`: seeded random tensors (re-exports)."""
from tapeflow.ops.random_ops import (  # noqa: F401
    categorical, normal, set_seed, shuffle, truncated_normal, uniform)
