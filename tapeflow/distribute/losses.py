"""`tf.nn.compute_average_loss` and `tf.nn.scale_regularization_loss`.

Under a strategy each replica sees part of the global batch and the replicas' gradients
are summed, so a replica's loss is its examples' loss sum divided by the GLOBAL batch
size: the summed gradient is then the gradient of the mean over the global batch.

    >>> import tapeflow as tf
    >>> tf.nn.compute_average_loss(tf.constant([1.0, 2.0, 3.0, 6.0])).numpy()
    np.float32(3.0)
    >>> tf.nn.compute_average_loss(tf.constant([1.0, 2.0]), global_batch_size=4).numpy()
    np.float32(0.75)
"""
from __future__ import annotations

from tapeflow.distribute import context
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.op import convert_to_tensor
from tapeflow.ops import array_ops, math_ops, reduce_ops


def _num_replicas() -> int:
    replica = context.state.replica
    if replica is not None:
        return replica.num_replicas_in_sync
    strategy = context.current_strategy()
    return strategy.num_replicas_in_sync if strategy is not None else 1


@tf_export("nn.compute_average_loss")
def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None):
    """Sum of `per_example_loss` (times `sample_weight`) divided by the global batch size.

    Args:
        per_example_loss: the loss of each example of this replica's batch.
        sample_weight: optional weights, broadcast against `per_example_loss`.
        global_batch_size: by default this replica's batch size times
            `num_replicas_in_sync`.
    """
    loss = convert_to_tensor(per_example_loss)
    if not loss.dtype.is_floating:
        raise TypeError(f"compute_average_loss: per_example_loss must be floating; received "
                        f"dtype {loss.dtype.name}")
    if loss.shape.rank == 0:
        raise ValueError("Invalid value passed for `per_example_loss`. Expected a tensor with "
                         f"at least rank 1; received {loss!r}")
    if sample_weight is not None:
        loss = loss * math_ops.cast(convert_to_tensor(sample_weight), loss.dtype)
    total = reduce_ops.reduce_sum(loss)
    if global_batch_size is None:
        if context.in_cross_replica_context():
            raise RuntimeError("You are calling `compute_average_loss` in cross replica "
                               "context, while it was expected to be called in replica "
                               "context (inside strategy.run).")
        batch = array_ops.shape(loss)[0]
        global_batch_size = math_ops.cast(batch, loss.dtype) * float(_num_replicas())
    else:
        if isinstance(global_batch_size, float) or (
                hasattr(global_batch_size, "dtype") and not global_batch_size.dtype.is_integer):
            raise TypeError(f"compute_average_loss: global_batch_size must be an integer; "
                            f"received {global_batch_size!r}")
        if isinstance(global_batch_size, int) and global_batch_size < 0:
            raise ValueError(f"compute_average_loss: global_batch_size must be non-negative; "
                             f"received {global_batch_size}")
        global_batch_size = math_ops.cast(convert_to_tensor(global_batch_size), loss.dtype)
    return math_ops.divide_no_nan(total, global_batch_size)


@tf_export("nn.scale_regularization_loss")
def scale_regularization_loss(regularization_loss):
    """The (summed) regularization loss divided by `num_replicas_in_sync`, so that summing
    the replicas' gradients counts it once."""
    if isinstance(regularization_loss, (list, tuple)):
        regularization_loss = math_ops.add_n([convert_to_tensor(x)
                                              for x in regularization_loss])
    loss = convert_to_tensor(regularization_loss)
    return loss / math_ops.cast(convert_to_tensor(float(_num_replicas())), loss.dtype)
