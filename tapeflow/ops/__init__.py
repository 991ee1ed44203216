"""Op families. Importing this package binds the Tensor operators."""
from tapeflow.framework import variables as _variables  # noqa: F401  (Variable gets operators)
from tapeflow.ops import array_ops, conv_ops, math_ops, nn_ops, random_ops, reduce_ops  # noqa: F401
