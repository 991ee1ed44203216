"""`tf.linalg` (re-exports of what tapeflow implements)."""
from tapeflow.ops.array_ops import eye  # noqa: F401
from tapeflow.ops.math_ops import matmul, tensordot  # noqa: F401
from tapeflow.ops.nn_ops import l2_normalize  # noqa: F401
from tapeflow.ops.clip_ops import global_norm, norm  # noqa: F401
from tapeflow.ops.einsum_ops import einsum  # noqa: F401
