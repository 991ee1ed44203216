"""Shared fixtures: TensorFlow for parity checks (skipped where missing), fresh seeds."""
import numpy as np
import pytest


@pytest.fixture(scope="session")
def real_tf():
    """The installed TensorFlow, for parity tests; the test is skipped without it."""
    from tapeflow.testing import tf_parity
    return tf_parity.tensorflow_or_skip()


@pytest.fixture
def rng():
    """A NumPy generator seeded per test, so test data never depends on test order."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _tapeflow_kernels_compute_inf_silently():
    """pytest resets warning filters per test; tapeflow's own (no NumPy overflow
    warnings from its kernels, as TF) is put back so tests see what users see."""
    from tapeflow.framework.op import silence_kernel_warnings
    silence_kernel_warnings()


@pytest.fixture(autouse=True)
def _fresh_global_random_seed():
    """Each test starts with no global seed (as a fresh program does), so a seed set by
    one test never changes the random streams of the next."""
    from tapeflow.ops import random_ops
    random_ops.set_seed(None)
    yield


def pytest_collection_modifyitems(session, config, items):
    """The op-coverage test (tests/testing/test_op_coverage.py) runs last: it reads what
    every gradient check of the session exercised."""
    name = "test_every_differentiable_op_is_gradient_checked"
    last = [item for item in items if item.name == name]
    if last:
        items[:] = [item for item in items if item not in last] + last
