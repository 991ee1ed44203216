"""`tf.config`: the devices tapeflow runs on (the CPU; no GPU backend yet).

    >>> import tapeflow as tf
    >>> tf.config.list_physical_devices('GPU')
    []
"""
from __future__ import annotations

import collections
import types

from tapeflow.framework import device as _device

PhysicalDevice = collections.namedtuple("PhysicalDevice", ["name", "device_type"])
LogicalDevice = collections.namedtuple("LogicalDevice", ["name", "device_type"])

_CPU = PhysicalDevice("/physical_device:CPU:0", "CPU")
_memory_growth: dict = {}


def list_physical_devices(device_type=None):
    """The CPU, when `device_type` is None or 'CPU'; no other device exists."""
    if device_type is None or device_type.upper() == "CPU":
        return [_CPU]
    return []


def list_logical_devices(device_type=None):
    """The logical CPUs: one, or those set by `set_logical_device_configuration`.

    Listing them initializes the runtime: the configuration is fixed from then on.
    """
    _device.mark_initialized()
    if not list_physical_devices(device_type):
        return []
    count = _device.logical_cpu_count()
    return [LogicalDevice(f"/device:CPU:{i}", "CPU") for i in range(count)]


# -- logical (virtual) devices ---------------------------------------------------------

class LogicalDeviceConfiguration(collections.namedtuple(
        "LogicalDeviceConfiguration",
        ["memory_limit", "experimental_priority", "experimental_device_ordinal"])):
    """One logical device to make from a physical one. `memory_limit` concerns GPUs, which
    tapeflow has none of: a virtual CPU is a device name that `tf.device` accepts."""

    def __new__(cls, memory_limit=None, experimental_priority=None,
                experimental_device_ordinal=None):
        return super().__new__(cls, memory_limit, experimental_priority,
                               experimental_device_ordinal)


_virtual_cpus = _device.virtual_cpus


def _reset_devices_for_tests():
    """Forgets the virtual CPUs and the initialization (a fresh process, for tests)."""
    _virtual_cpus.clear()
    _memory_growth.clear()
    _device.runtime["initialized"] = False


def set_logical_device_configuration(device, logical_devices):
    """Splits the CPU into `len(logical_devices)` logical CPUs ('/device:CPU:0', ...).

    Must run before the runtime is initialized (before devices are listed or a device
    scope is entered); afterwards only the configuration already in force is accepted.

    Raises:
        ValueError: `device` is not a physical device of this machine.
        RuntimeError: the configuration changes after initialization.
    """
    _check_device(device)
    configs = list(logical_devices or [])
    for c in configs:
        if not isinstance(c, LogicalDeviceConfiguration):
            raise TypeError("logical_devices must be LogicalDeviceConfiguration objects; got "
                            f"{type(c).__name__}")
    if configs == _virtual_cpus:
        return
    if _device.runtime["initialized"]:
        raise RuntimeError("Virtual devices cannot be modified after being initialized")
    _virtual_cpus[:] = configs


def get_logical_device_configuration(device):
    """The configurations set for `device`, or None."""
    _check_device(device)
    return list(_virtual_cpus) if _virtual_cpus else None


def _check_device(device):
    if not isinstance(device, PhysicalDevice) or device not in list_physical_devices():
        raise ValueError(f"Unrecognized device: {device!r}")


def set_memory_growth(device, enable):
    _check_device(device)
    if _virtual_cpus:
        raise ValueError("Cannot set memory growth on device when virtual devices configured")
    _memory_growth[device.name] = bool(enable)


def get_memory_growth(device):
    _check_device(device)
    return _memory_growth.get(device.name, False)


def set_visible_devices(devices, device_type=None):
    for d in (devices if isinstance(devices, (list, tuple)) else [devices]):
        _check_device(d)


def get_visible_devices(device_type=None):
    return list_physical_devices(device_type)


def run_functions_eagerly(run_eagerly: bool):
    from tapeflow.function import polymorphic
    polymorphic.RUN_EAGERLY = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    from tapeflow.function import polymorphic
    return polymorphic.RUN_EAGERLY


def experimental_run_functions_eagerly(run_eagerly):
    """The older name of `run_functions_eagerly`, which TF 2 still accepts."""
    run_functions_eagerly(run_eagerly)


def _set_intra_op(n):
    from tapeflow.backend import blas
    blas.set_intra_op_parallelism_threads(n)


def _get_intra_op():
    from tapeflow.backend import blas
    return blas.get_intra_op_parallelism_threads()


# Intra-op threads are the matrix products' (backend/blas.py): 0 lets tapeflow decide.
threading = types.SimpleNamespace(
    set_intra_op_parallelism_threads=_set_intra_op,
    set_inter_op_parallelism_threads=lambda n: None,
    get_intra_op_parallelism_threads=_get_intra_op,
    get_inter_op_parallelism_threads=lambda: 0)

experimental = types.SimpleNamespace(
    list_physical_devices=list_physical_devices, list_logical_devices=list_logical_devices,
    set_memory_growth=set_memory_growth, get_memory_growth=get_memory_growth,
    set_visible_devices=set_visible_devices, get_visible_devices=get_visible_devices,
    # The TF 2.0-2.3 names of the logical-device functions, which guides still use.
    set_virtual_device_configuration=set_logical_device_configuration,
    get_virtual_device_configuration=get_logical_device_configuration,
    VirtualDeviceConfiguration=LogicalDeviceConfiguration)
