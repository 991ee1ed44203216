"""tapeflow.testing: helpers for testing ops, layers and models.

`check_gradients` compares tape gradients with central differences (first
and second order); `tf_parity` runs the same expression with tapeflow and,
where it is installed, TensorFlow, and compares values and gradients.
"""
from tapeflow.testing.gradient_check import GradientCheckError, check_gradients  # noqa: F401
from tapeflow.testing import tf_parity  # noqa: F401,E402
