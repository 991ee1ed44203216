"""Fixtures of the tf.distribute tests."""
import pytest

import tapeflow as tf
from tapeflow import config

# The worker scripts run under mpirun (mpi_run.py), never imported by pytest (the
# doctest collection would import them as modules).
collect_ignore = ["workers"]


@pytest.fixture
def two_cpus():
    """Two virtual CPUs for this test only (the device configuration is process-wide)."""
    config._reset_devices_for_tests()
    cpu = tf.config.list_physical_devices("CPU")[0]
    config._reset_devices_for_tests()
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    yield
    config._reset_devices_for_tests()
