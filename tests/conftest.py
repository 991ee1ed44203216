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
