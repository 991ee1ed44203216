"""`tf.device` and `tf.DeviceSpec`: naming where ops should run.

tapeflow computes on the CPU. A device scope is parsed and merged as TF does
(a malformed name is TF's ValueError; nested scopes fill in what the outer
ones left open), and resolved with TF's soft placement: a device that does not
exist (a GPU, `CPU:7` without seven virtual CPUs) falls back to `CPU:0`. The
virtual CPUs of `tf.config.set_logical_device_configuration` exist, so
`CPU:1` resolves to itself when configured.

    >>> import tapeflow as tf
    >>> from tapeflow.framework import device
    >>> with tf.device('/GPU:0'):
    ...     device.placed_device()
    '/job:localhost/replica:0/task:0/device:CPU:0'
"""
from __future__ import annotations

import threading

_DEVICE_TYPES = frozenset({"CPU", "GPU", "TPU", "CUSTOM", "EPU"})
_HOST = "/job:localhost/replica:0/task:0/device:CPU:0"


class DeviceSpec:
    """`tf.DeviceSpec`: job, replica, task, device type and index; None where unset.

        >>> import tapeflow as tf
        >>> tf.DeviceSpec.from_string('/cpu:1').to_string()
        '/device:CPU:1'
    """

    __slots__ = ("device_index", "device_type", "job", "replica", "task")

    def __init__(self, job=None, replica=None, task=None, device_type=None, device_index=None):
        self.job = job
        self.replica = None if replica is None else int(replica)
        self.task = None if task is None else int(task)
        self.device_type = device_type.upper() if device_type in (
            "cpu", "gpu", "tpu") else device_type
        self.device_index = None if device_index is None else int(device_index)

    @classmethod
    def from_string(cls, spec) -> DeviceSpec:
        """Parses '/job:x/replica:0/task:1/device:CPU:0', 'CPU:1', '/gpu:0', ...

        Raises:
            ValueError: an unknown part, two device types, or a non-integer index.
        """
        job = replica = task = kind = index = None
        for part in (spec or "").split("/"):
            fields = part.split(":")
            n = len(fields)
            if n == 2 and fields[0] in ("job", "replica", "task"):
                value = fields[1]
                if fields[0] == "job":
                    job = value
                elif fields[0] == "replica":
                    replica = value
                else:
                    task = value
            elif n in (1, 2) and fields[0].upper() in _DEVICE_TYPES:
                if kind is not None:
                    raise ValueError("Multiple device types are not allowed while parsing the "
                                     f"device spec: {spec}.")
                kind = fields[0].upper()
                if n == 2 and fields[1] != "*":
                    index = int(fields[1])
            elif n == 3 and fields[0] == "device":
                if kind is not None:
                    raise ValueError("Multiple device types are not allowed while parsing the "
                                     f"device spec: {spec}.")
                kind = fields[1]
                if fields[2] != "*":
                    index = int(fields[2])
            elif fields[0] != "":
                raise ValueError(f"Unknown attribute '{fields[0]}' is encountered while "
                                 f"parsing the device spec: '{spec}'.")
        return cls(job, replica, task, kind, index)

    def to_string(self) -> str:
        out = []
        if self.job is not None:
            out.append(f"/job:{self.job}")
        if self.replica is not None:
            out.append(f"/replica:{self.replica}")
        if self.task is not None:
            out.append(f"/task:{self.task}")
        if self.device_type is not None:
            index = "*" if self.device_index is None else self.device_index
            out.append(f"/device:{self.device_type}:{index}")
        return "".join(out)

    def make_merged_spec(self, other: DeviceSpec) -> DeviceSpec:
        """This spec with the fields `other` sets replaced by `other`'s."""
        merged = self.replace()
        for field in self.__slots__:
            value = getattr(other, field)
            if value is not None:
                setattr(merged, field, value)
        return merged

    def replace(self, **kwargs) -> DeviceSpec:
        fields = {f: getattr(self, f) for f in self.__slots__}
        fields.update(kwargs)
        return DeviceSpec(**fields)

    @property
    def name(self) -> str:
        return self.to_string()

    def __eq__(self, other):
        return isinstance(other, DeviceSpec) and self.to_string() == other.to_string()

    def __hash__(self):
        return hash(self.to_string())

    def __repr__(self):
        return (f"<DeviceSpec(job={self.job}, replica={self.replica}, task={self.task}, "
                f"device_type={self.device_type}, device_index={self.device_index})>")


_local = threading.local()       # device scopes are per thread, as TF's
# The runtime's device set: the logical CPUs configured (none: one CPU), and whether it
# is initialized (fixed) yet. `tf.config` sets and reads them.
virtual_cpus: list = []
runtime = {"initialized": False}


def mark_initialized():
    runtime["initialized"] = True


def logical_cpu_count() -> int:
    return len(virtual_cpus) or 1


def _current() -> DeviceSpec | None:
    return getattr(_local, "spec", None)


class _DeviceScope:
    """The context manager `tf.device` returns; parses its name on entry, as TF."""

    def __init__(self, name):
        self._name = name
        self._saved = []

    def __enter__(self):
        name = self._name
        if name is not None and not isinstance(name, str):
            raise ValueError(f"Expecting a string device name. Got {type(name)}({name})")
        mark_initialized()
        outer = _current()
        if name is None:
            spec = DeviceSpec()           # None clears the enclosing scopes
        else:
            base = outer if outer is not None else DeviceSpec.from_string(_HOST)
            spec = base.make_merged_spec(DeviceSpec.from_string(name))
        self._saved.append(outer)
        _local.spec = spec

    def __exit__(self, *exc):
        _local.spec = self._saved.pop()
        return False


def device(device_name) -> _DeviceScope:
    """`tf.device`: ops inside run on the named device when it exists, else on the CPU.

    Args:
        device_name: a device string ('/GPU:0', 'CPU:1', '/job:localhost/device:CPU:0'),
            a `LogicalDevice`, a `DeviceSpec`, or None (clears enclosing scopes).

    Raises:
        RuntimeError: `device_name` is a function (TF 2 does not take device functions).
        ValueError: on entering the scope, a malformed device string.
    """
    if callable(device_name):
        raise RuntimeError("tf.device does not support functions.")  # noqa: TRY004 -- TF's
    if isinstance(device_name, DeviceSpec):
        device_name = device_name.to_string()
    elif hasattr(device_name, "device_type") and hasattr(device_name, "name"):
        device_name = device_name.name         # a LogicalDevice
    return _DeviceScope(device_name)


def current_device_name() -> str:
    """The merged device scope now in force ('' outside any scope)."""
    spec = _current()
    return "" if spec is None else spec.to_string()


def placed_device() -> str:
    """The full name of the device ops run on now: the scope's device if it exists
    (a CPU within the configured logical CPUs), else CPU:0 (soft placement)."""
    spec = _current()
    if spec is None or spec.device_type != "CPU" or spec.device_index is None:
        return _HOST
    if spec.device_index < logical_cpu_count():
        return f"/job:localhost/replica:0/task:0/device:CPU:{spec.device_index}"
    return _HOST
