"""`tf.function` and the ops that need graphs: tracing, plans, tf.print, cond, while_loop."""
from tapeflow.function.control_flow import cond, while_loop  # noqa: F401
from tapeflow.function.polymorphic import Function, function  # noqa: F401
from tapeflow.function.print_op import print_v2  # noqa: F401
from tapeflow.function.tensor_array import TensorArray  # noqa: F401
