"""tf.test: device questions answered as TF answers them on a machine without a GPU."""
import numpy as np
import pytest

import tapeflow as tf


@pytest.mark.parametrize("name", ["is_gpu_available", "gpu_device_name"])
def test_device_questions_answer_as_tensorflow_without_a_gpu(real_tf, name):
    if real_tf.config.list_physical_devices("GPU"):
        pytest.skip("TensorFlow sees a GPU here")
    assert getattr(tf.test, name)() == getattr(real_tf.test, name)()


@pytest.mark.parametrize("name", ["is_built_with_cuda", "is_built_with_rocm",
                                  "is_built_with_gpu_support", "is_built_with_xla"])
def test_build_questions_say_tapeflow_has_no_gpu_build(name):
    # (TF's pip wheel answers for its own CUDA build; tapeflow's kernels are CPU-only.)
    assert getattr(tf.test, name)() is False


class _Case(tf.test.TestCase):
    def runTest(self):  # noqa: N802
        pass


def test_test_case_assertions_read_tensors():
    case = _Case()
    case.assertAllClose(tf.constant([1.0, 2.0]), [1.0, 2.0 + 1e-8])
    case.assertAllEqual(tf.constant([[1, 2]]), np.array([[1, 2]]))
    case.assertAllInRange(tf.constant([0.1, 0.9]), 0.0, 1.0)
    assert case.evaluate({"a": tf.constant(3)})["a"] == 3
    with pytest.raises(AssertionError):
        case.assertAllEqual(tf.constant([1, 2]), [1, 3])
