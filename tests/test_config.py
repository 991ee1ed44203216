"""tf.config logical devices: virtual CPUs listed as TF lists them, fixed after initialization."""
import pytest

import tapeflow as tf
from tapeflow import config


@pytest.fixture(autouse=True)
def _fresh_devices():
    config._reset_devices_for_tests()
    yield
    config._reset_devices_for_tests()


def _cpu():
    return tf.config.list_physical_devices("CPU")[0]


def test_one_logical_cpu_by_default():
    assert tf.config.list_logical_devices() == [tf.config.LogicalDevice("/device:CPU:0", "CPU")]
    assert tf.config.list_logical_devices("GPU") == []


def test_virtual_cpus_are_listed_in_order():
    tf.config.experimental.set_virtual_device_configuration(
        _cpu(), [tf.config.experimental.VirtualDeviceConfiguration()] * 3)
    names = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert names == ["/device:CPU:0", "/device:CPU:1", "/device:CPU:2"]
    assert len(tf.config.list_physical_devices("CPU")) == 1


def test_configuration_reads_back():
    assert tf.config.get_logical_device_configuration(_cpu()) is None
    configs = [tf.config.LogicalDeviceConfiguration()] * 2
    tf.config.set_logical_device_configuration(_cpu(), configs)
    assert tf.config.get_logical_device_configuration(_cpu()) == configs
    assert repr(configs[0]) == ("LogicalDeviceConfiguration(memory_limit=None, "
                                "experimental_priority=None, experimental_device_ordinal=None)")


def test_changing_after_initialization_is_a_runtime_error():
    tf.config.set_logical_device_configuration(_cpu(), [tf.config.LogicalDeviceConfiguration()] * 3)
    tf.config.list_logical_devices()          # initializes the runtime, as in TF
    with pytest.raises(RuntimeError, match="cannot be modified after being initialized"):
        tf.config.set_logical_device_configuration(_cpu(),
                                                   [tf.config.LogicalDeviceConfiguration()] * 2)
    # The configuration already in force may be set again.
    tf.config.set_logical_device_configuration(_cpu(), [tf.config.LogicalDeviceConfiguration()] * 3)
    assert len(tf.config.list_logical_devices()) == 3


def test_unknown_device_is_a_value_error():
    with pytest.raises(ValueError, match="Unrecognized device"):
        tf.config.set_logical_device_configuration("x", [])


def test_memory_growth_conflicts_with_virtual_devices():
    tf.config.set_logical_device_configuration(_cpu(), [tf.config.LogicalDeviceConfiguration()] * 2)
    with pytest.raises(ValueError, match="virtual devices configured"):
        tf.config.experimental.set_memory_growth(_cpu(), True)
