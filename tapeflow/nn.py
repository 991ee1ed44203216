"""`tf.nn`: activations, losses, convolution and pooling (re-exports)."""
from tapeflow.ops.nn_ops import (  # noqa: F401
    avg_pool, avg_pool2d, batch_normalization, bias_add, conv2d, convolution, dropout, elu,
    gelu, l2_loss, l2_normalize, leaky_relu, log_softmax, max_pool, max_pool2d, moments, relu,
    relu6, selu, sigmoid, sigmoid_cross_entropy_with_logits, silu, softmax,
    softmax_cross_entropy_with_logits, softplus, sparse_softmax_cross_entropy_with_logits,
    swish, tanh)
from tapeflow.ops.math_ops import softsign  # noqa: F401
from tapeflow.ops.nn_ops import embedding_lookup  # noqa: F401
from tapeflow.ops.sort_ops import in_top_k, top_k  # noqa: F401
