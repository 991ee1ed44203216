"""tapeflow: TensorFlow 2's eager API, Keras, tf.data and tf.function on NumPy.

    >>> import tapeflow as tf
    >>> x = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x ** 2
    >>> tape.gradient(y, x).numpy()
    np.float32(6.0)
"""
# Re-exports only: the code lives in framework/, ops/, autodiff/, keras/, data/, function/.
from tapeflow import _api
from tapeflow import autodiff  # noqa: F401  (tf.autodiff: ForwardAccumulator, GradientTape)
from tapeflow import config, data, dtypes, errors, keras, linalg, math, nest, nn, random  # noqa: F401
from tapeflow import experimental  # noqa: F401  (tapeflow's own: register_op, defvjp)
from tapeflow import train  # noqa: F401
from tapeflow import image, io, strings  # noqa: F401
from tapeflow import distribute  # noqa: F401
from tapeflow import debug, debugging, saved_model, summary  # noqa: F401
from tapeflow import profiler  # noqa: F401
from tapeflow import test  # noqa: F401
from tapeflow.autodiff.custom_gradient import custom_gradient  # noqa: F401
from tapeflow.autodiff.tape import GradientTape, UnconnectedGradients  # noqa: F401
from tapeflow.framework.context import executing_eagerly, init_scope, name_scope  # noqa: F401
from tapeflow.framework.dtypes import (  # noqa: F401
    DType, as_dtype, bool, complex64, complex128, double, float16, float32, float64, half,
    int8, int16, int32, int64, string, uint8, uint16, uint32, uint64)
from tapeflow.framework.op import convert_to_tensor  # noqa: F401
from tapeflow.framework.tensor import Tensor, is_tensor  # noqa: F401
from tapeflow.framework.tensor_shape import TensorShape  # noqa: F401
from tapeflow.framework.tensor_spec import TensorSpec  # noqa: F401
from tapeflow.framework.sparse_tensor_spec import SparseTensorSpec  # noqa: F401
from tapeflow.framework.variables import Variable  # noqa: F401
from tapeflow.module import Module  # noqa: F401
from tapeflow import version  # noqa: F401
from tapeflow import sparse  # noqa: F401
from tapeflow.ops.sparse_ops import SparseTensor  # noqa: F401
from tapeflow import ragged  # noqa: F401
from tapeflow.ops.ragged_ops import RaggedTensor  # noqa: F401
from tapeflow.framework.device import DeviceSpec, device  # noqa: F401
from tapeflow.keras import initializers, losses, metrics, optimizers  # noqa: F401 (tf.optimizers, ... as TF)
from tapeflow.keras.initializers import Constant as constant_initializer, Ones as ones_initializer, RandomNormal as random_normal_initializer, RandomUniform as random_uniform_initializer, Zeros as zeros_initializer  # noqa: E501,F401 (TF's tf.*_initializer aliases)
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

# The op functions: every function that declares a top-level name where it is defined
# (`@tf_export("math.add", "add")`, see framework/api_export.py).
globals().update(_api.namespace(""))

__version__ = version.VERSION   # the TensorFlow API version tapeflow follows (version.py)
newaxis = None

# Internal subpackages are reached by their module paths (`from tapeflow.ops import
# math_ops`), not as attributes of the public namespace, which holds TF's names only.
del backend, framework, module, ops, utils  # noqa: F821
# tf.autodiff is the autodiff package: its implementation modules are not attributes.
for _name in ("backprop", "custom_gradient", "forward", "tape"):
    vars(autodiff).pop(_name, None)
del _name
_INTERNAL = frozenset({"backend", "examples", "framework", "module", "ops", "utils"})


def __dir__():
    # A subpackage imported later (`tapeflow.examples`, the training CLI) becomes an
    # attribute again; it stays out of the listing of the public namespace.
    return sorted(name for name in globals() if name not in _INTERNAL)
