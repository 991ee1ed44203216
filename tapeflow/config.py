"""`tf.config`: the devices tapeflow runs on (the CPU; no GPU backend yet).

    >>> import tapeflow as tf
    >>> tf.config.list_physical_devices('GPU')
    []
"""
from __future__ import annotations

import collections
import types

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
    return [LogicalDevice("/device:CPU:0", "CPU")] if list_physical_devices(device_type) else []


def _check_device(device):
    if not isinstance(device, PhysicalDevice) or device not in list_physical_devices():
        raise ValueError(f"Unrecognized device: {device!r}")


def set_memory_growth(device, enable):
    _check_device(device)
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
    set_visible_devices=set_visible_devices, get_visible_devices=get_visible_devices)
