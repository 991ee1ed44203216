"""tf.device and tf.DeviceSpec: TF's parsing, merging and soft placement."""
import pytest

import tapeflow as tf
from tapeflow import config
from tapeflow.framework import device

HOST = "/job:localhost/replica:0/task:0/device:CPU:"


@pytest.fixture(autouse=True)
def _fresh_devices():
    config._reset_devices_for_tests()
    yield
    config._reset_devices_for_tests()


@pytest.mark.parametrize("spec", ["/GPU:0", "GPU:0", "/cpu:0", "cpu:1", "/device:CPU:0", "CPU",
                                  "/job:localhost/replica:0/task:0/device:CPU:0", "gpu", "",
                                  "/TPU:0", "CPU:*", "/job:worker/task:1", "/device:XLA_CPU:0"])
def test_device_strings_parse_as_tf(real_tf, spec):
    assert tf.DeviceSpec.from_string(spec).to_string() == \
        real_tf.DeviceSpec.from_string(spec).to_string()


@pytest.mark.parametrize("spec", ["foo", "/foo:0", "GPU:0:1", "/cpu:0/gpu:1", "CPU:x"])
def test_malformed_device_strings_raise_tf_value_error(real_tf, spec):
    with pytest.raises(ValueError) as ours, tf.device(spec):
        pass
    with pytest.raises(ValueError) as theirs, real_tf.device(spec):
        pass
    assert str(ours.value) == str(theirs.value)


def test_missing_device_falls_back_to_cpu0():
    for name in ["/GPU:0", "TPU:0", "CPU:3", "/cpu"]:
        with tf.device(name):
            assert device.placed_device() == HOST + "0"


def test_ops_run_inside_a_device_scope():
    with tf.device("/GPU:0"):
        assert float(tf.constant(2.0) * 3) == 6.0


def test_nested_scopes_merge_and_restore():
    with tf.device("/job:localhost"):
        with tf.device("CPU:0"):
            assert device.current_device_name() == HOST + "0"
        assert device.current_device_name() == HOST + "0"
    assert device.current_device_name() == ""


def test_none_clears_enclosing_scopes():
    with tf.device("/GPU:0"), tf.device(None):
        assert device.current_device_name() == ""


def test_device_functions_are_refused_as_tf():
    with pytest.raises(RuntimeError, match="does not support functions"):
        tf.device(lambda op: "/cpu:0")


def test_non_string_device_raises_value_error_on_entry():
    scope = tf.device(3)
    with pytest.raises(ValueError, match="Expecting a string device name"):
        scope.__enter__()


def test_virtual_cpus_are_devices_of_their_own():
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 3)
    with tf.device("CPU:2"):
        assert device.placed_device() == HOST + "2"
    with tf.device(tf.config.list_logical_devices()[1]):
        assert device.placed_device() == HOST + "1"
    with tf.device("CPU:3"):
        assert device.placed_device() == HOST + "0"


def test_device_spec_merge_and_replace():
    spec = tf.DeviceSpec(job="ps", device_type="GPU", device_index=1)
    merged = spec.make_merged_spec(tf.DeviceSpec.from_string("/task:2/CPU:0"))
    assert merged.to_string() == "/job:ps/task:2/device:CPU:0"
    assert spec.replace(device_index=0).to_string() == "/job:ps/device:GPU:0"
