"""`tf.test`: what TF programs ask about the build and device (`tf.test.is_gpu_available()`,
`gpu_device_name()`) and `TestCase` with TF's array assertions.

tapeflow runs on the CPU (NumPy and oneDNN kernels), so no GPU is ever reported.

    >>> import tapeflow as tf
    >>> tf.test.is_gpu_available(), tf.test.gpu_device_name(), tf.test.is_built_with_cuda()
    (False, '', False)
"""
from __future__ import annotations

import unittest

import numpy as np


def _gpus():
    from tapeflow import config
    return config.list_physical_devices("GPU")


def is_gpu_available(cuda_only=False, min_cuda_compute_capability=None) -> bool:
    """Whether a GPU is visible (deprecated in TF in favour of
    `tf.config.list_physical_devices('GPU')`, which this reads)."""
    return bool(_gpus())


def gpu_device_name() -> str:
    """The name of the first GPU ('/device:GPU:0'), or '' when there is none."""
    return "/device:GPU:0" if _gpus() else ""


def is_built_with_cuda() -> bool:
    return False


def is_built_with_rocm() -> bool:
    return False


def is_built_with_gpu_support() -> bool:
    return False


def is_built_with_xla() -> bool:
    return False


def _numpy(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


class TestCase(unittest.TestCase):
    """`unittest.TestCase` with TF's assertions on tensors, arrays and nested lists."""

    def evaluate(self, tensors):
        """Tensors (or a structure of them) as NumPy values."""
        from tapeflow.utils import nest
        return nest.map_structure(_numpy, tensors)

    def assertAllClose(self, a, b, rtol=1e-6, atol=1e-6, msg=None):  # noqa: N802
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=rtol, atol=atol,
                                   err_msg=msg or "")

    def assertAllEqual(self, a, b, msg=None):  # noqa: N802
        np.testing.assert_array_equal(_numpy(a), _numpy(b), err_msg=msg or "")

    def assertAllInRange(self, target, lower_bound, upper_bound):  # noqa: N802
        values = _numpy(target)
        self.assertTrue(np.all((values >= lower_bound) & (values <= upper_bound)),
                        f"values outside [{lower_bound}, {upper_bound}]: {values}")

    def assertShapeEqual(self, np_array, tf_tensor, msg=None):  # noqa: N802
        self.assertEqual(tuple(np.shape(np_array)), tuple(_numpy(tf_tensor).shape), msg)
