"""`tf.math`: elementwise math and reductions (re-exports)."""
from tapeflow.ops.math_ops import (  # noqa: F401
    abs, acos, add, add_n, asin, atan, atan2, ceil, cos, cosh, divide, divide_no_nan, equal,
    erf, exp, expm1, floor, floordiv, floormod, greater, greater_equal, is_finite, is_inf,
    is_nan, less, less_equal, log, log1p, logical_and, logical_not, logical_or, logical_xor,
    maximum, minimum, mod, multiply, negative, not_equal, pow, reciprocal, rint, round, rsqrt,
    scalar_mul, sigmoid, sign, sin, sinh, softplus, sqrt, square, squared_difference, subtract,
    tan, tanh, truediv)
from tapeflow.ops.reduce_ops import (  # noqa: F401
    argmax, argmin, count_nonzero, reduce_all, reduce_any, reduce_euclidean_norm,
    reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum,
    reduce_variance)
from tapeflow.ops.scan_ops import cumsum, segment_sum, unsorted_segment_sum  # noqa: F401
from tapeflow.ops.sort_ops import in_top_k, top_k  # noqa: F401
from tapeflow.ops.math_ops import (  # noqa: F401
    acosh, asinh, atanh, log_sigmoid, multiply_no_nan, reciprocal_no_nan, softsign, xlogy)
from tapeflow.ops.nn_ops import l2_normalize, log_softmax, softmax  # noqa: F401
