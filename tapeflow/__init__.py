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
    DType,
    as_dtype,
    bool,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from tapeflow.framework.op import convert_to_tensor  # noqa: F401
from tapeflow.framework.tensor import Tensor, is_tensor  # noqa: F401
from tapeflow.framework.tensor_shape import TensorShape  # noqa: F401
from tapeflow.framework.tensor_spec import TensorSpec  # noqa: F401
from tapeflow.framework.variables import Variable  # noqa: F401
from tapeflow.function import (  # noqa: F401
    autograph,
    cond,
    function,
    while_loop,
)
from tapeflow.function import print_v2 as print
from tapeflow.function.map_fn import map_fn, vectorized_map  # noqa: F401
from tapeflow.function.py_func import group, numpy_function, py_function  # noqa: F401
from tapeflow.function.tensor_array import TensorArray  # noqa: F401
from tapeflow.ops.array_ops import (  # noqa: F401
    boolean_mask,
    broadcast_to,
    concat,
    constant,
    expand_dims,
    eye,
    fill,
    gather,
    gather_nd,
    identity,
    linspace,
    one_hot,
    ones,
    ones_like,
    pad,
    range,
    rank,
    reshape,
    reverse,
    shape,
    shape_n,
    size,
    slice,
    split,
    squeeze,
    stack,
    stop_gradient,
    tile,
    transpose,
    unstack,
    zeros,
    zeros_like,
)
from tapeflow.ops.clip_ops import clip_by_global_norm, clip_by_norm, norm  # noqa: F401
from tapeflow.ops.einsum_ops import einsum  # noqa: F401
from tapeflow.ops.manip_ops import (  # noqa: F401
    ensure_shape,
    meshgrid,
    repeat,
    roll,
    scatter_nd,
    sequence_mask,
    tensor_scatter_nd_add,
    tensor_scatter_nd_update,
    unique,
)
from tapeflow.ops.math_ops import (  # noqa: F401  # noqa: F401
    abs,
    acos,
    acosh,
    add,
    add_n,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cast,
    clip_by_value,
    cos,
    cosh,
    divide,
    equal,
    exp,
    floor,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,
    realdiv,
    round,
    rsqrt,
    saturate_cast,
    scalar_mul,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    tensordot,
    truediv,
    where,
)
from tapeflow.ops.reduce_ops import (  # noqa: F401
    argmax,
    argmin,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
)
from tapeflow.ops.scan_ops import cumsum  # noqa: F401
from tapeflow.ops.sort_ops import argsort, sort  # noqa: F401

__version__ = "2.21.0"          # the TensorFlow API version tapeflow follows
newaxis = None
