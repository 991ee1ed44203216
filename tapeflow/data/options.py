"""`tf.data.Options` and the `Optional` of `get_next_as_optional` (no stage: the
Dataset base reads them)."""
from __future__ import annotations

import numpy as np

from tapeflow.framework.tensor import Tensor


class Optional:
    """The result of `get_next_as_optional`: a value, or none at the end."""

    def __init__(self, value, has=True):
        self._value, self._has = value, has

    def has_value(self):
        return Tensor(np.bool_(self._has))

    def get_value(self):
        if not self._has:
            from tapeflow.framework.errors import InvalidArgumentError
            raise InvalidArgumentError(None, None, "The optional does not have a value.")
        return self._value


class _OptionGroup:
    """A group of `tf.data.Options` settings: any attribute can be set and read back."""

    def __getattr__(self, name):
        """Settings never set read as None (TF's "use the default")."""
        if name.startswith("__"):
            raise AttributeError(name)

    def __repr__(self):
        return f"{type(self).__name__}({vars(self)})"


class Options:
    """`tf.data.Options`: settings for threading, optimisation and distribution.

    tapeflow produces elements on demand in one thread, so these settings are
    kept (and returned by `Dataset.options()`) but change nothing.

        >>> import tapeflow as tf
        >>> options = tf.data.Options()
        >>> options.experimental_distribute.auto_shard_policy = (
        ...     tf.data.experimental.AutoShardPolicy.OFF)
        >>> ds = tf.data.Dataset.range(3).with_options(options)
        >>> ds.options().experimental_distribute.auto_shard_policy.name
        'OFF'
    """

    def __init__(self):
        self.deterministic = None
        self.experimental_deterministic = None
        self.experimental_distribute = _OptionGroup()
        self.experimental_optimization = _OptionGroup()
        self.threading = _OptionGroup()
        self.autotune = _OptionGroup()
