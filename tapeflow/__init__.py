"""tapeflow: TensorFlow 2's eager API, Keras, tf.data and tf.function on NumPy.

    >>> import tapeflow as tf
    >>> x = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x ** 2
    >>> tape.gradient(y, x).numpy()
    np.float32(6.0)
"""
# Re-exports only: the code lives in framework/, ops/, autodiff/, keras/, data/, function/.
from tapeflow import config, data, dtypes, errors, keras, linalg, math, nest, nn, random  # noqa: F401
from tapeflow.autodiff.custom_gradient import custom_gradient  # noqa: F401
from tapeflow.autodiff.tape import GradientTape, UnconnectedGradients  # noqa: F401
from tapeflow.framework.context import executing_eagerly, init_scope, name_scope  # noqa: F401
from tapeflow.framework.dtypes import (  # noqa: F401
    DType, as_dtype, bool, complex64, complex128, double, float16, float32, float64, half,
    int8, int16, int32, int64, uint8, uint16, uint32, uint64)
from tapeflow.framework.op import convert_to_tensor  # noqa: F401
from tapeflow.framework.tensor import Tensor, is_tensor  # noqa: F401
from tapeflow.framework.tensor_shape import TensorShape  # noqa: F401
from tapeflow.framework.tensor_spec import TensorSpec  # noqa: F401
from tapeflow.framework.variables import Variable  # noqa: F401
from tapeflow.function import cond, function, print_v2 as print, while_loop  # noqa: F401,A001
from tapeflow.function import autograph  # noqa: F401
from tapeflow.function.tensor_array import TensorArray  # noqa: F401
from tapeflow.function.map_fn import map_fn  # noqa: F401
from tapeflow.function.map_fn import vectorized_map  # noqa: F401
from tapeflow.function.py_func import group  # noqa: F401
from tapeflow.function.py_func import numpy_function  # noqa: F401
from tapeflow.function.py_func import py_function  # noqa: F401
from tapeflow.function.graph_inspect import Graph  # noqa: F401
from tapeflow.function.trace_type import types  # noqa: F401
from tapeflow.ops.array_ops import (  # noqa: F401
    boolean_mask, broadcast_to, concat, constant, expand_dims, eye, fill, gather, gather_nd,
    identity, linspace, one_hot, ones, ones_like, pad, range, rank, reshape, reverse, shape,
    size, slice, split, squeeze, stack, stop_gradient, tile, transpose, unstack, zeros,
    zeros_like)
from tapeflow.ops.math_ops import (  # noqa: F401
    abs, add, add_n, cast, clip_by_value, cos, divide, equal, exp, floor, greater, greater_equal,
    less, less_equal, log, logical_and, logical_not, logical_or, maximum, minimum, multiply,
    negative, not_equal, pow, round, rsqrt, saturate_cast, sigmoid, sign, sin, sqrt, square,
    realdiv, subtract, tan, tanh, tensordot, truediv, where)
from tapeflow.ops.clip_ops import clip_by_global_norm, clip_by_norm, norm  # noqa: F401
from tapeflow.ops.einsum_ops import einsum  # noqa: F401
from tapeflow.ops.math_ops import (  # noqa: F401
    acos, acosh, asin, asinh, atan, atan2, atanh, cosh, scalar_mul, sinh)
from tapeflow.ops.array_ops import shape_n  # noqa: F401
from tapeflow.ops.manip_ops import (  # noqa: F401
    ensure_shape, meshgrid, repeat, roll, scatter_nd, sequence_mask, tensor_scatter_nd_add,
    tensor_scatter_nd_update, unique)
from tapeflow.ops.scan_ops import cumsum  # noqa: F401
from tapeflow.ops.sort_ops import argsort, sort  # noqa: F401
from tapeflow.ops.math_ops import matmul  # noqa: F401
from tapeflow.ops.reduce_ops import (  # noqa: F401
    argmax, argmin, reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean,
    reduce_min, reduce_prod, reduce_std, reduce_sum, reduce_variance)

__version__ = "2.21.0"          # the TensorFlow API version tapeflow follows
newaxis = None
