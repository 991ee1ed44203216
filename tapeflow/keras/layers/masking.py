"""Keras masks: which timesteps of a sequence are padding.

`Embedding(mask_zero=True)` marks the steps whose id is 0. A mask travels with the
tensor it describes in a side table (tensors have no room for one): `mask_of(t)`.
A layer whose `call` takes `mask` receives it; layers with `supports_masking` pass
it on; recurrent layers and GlobalAveragePooling1D skip or exclude the padded
steps. Entries vanish with their tensor (weakref callback).
"""
from __future__ import annotations

import weakref

_MASKS: dict = {}


def set_mask(tensor, mask) -> None:
    key = id(tensor)

    def drop(_ref, key=key):
        _MASKS.pop(key, None)
    _MASKS[key] = (weakref.ref(tensor, drop), mask)


def mask_of(tensor):
    """The mask attached to `tensor`, or None."""
    entry = _MASKS.get(id(tensor))
    if entry is not None and entry[0]() is tensor:
        return entry[1]
    return None


def any_masks() -> bool:
    return bool(_MASKS)


def input_mask(inputs):
    """The mask of a tensor, or a list of masks for a list of tensors (None if none)."""
    if isinstance(inputs, (list, tuple)):
        masks = [mask_of(x) for x in inputs]
        return masks if any(m is not None for m in masks) else None
    return mask_of(inputs)


def attach(outputs, mask) -> None:
    """Attaches `mask` to a single output tensor, or one mask each to a list of outputs
    (a layer that splits a sequence splits its mask too); other structures are left alone."""
    if mask is None or isinstance(outputs, dict):
        return
    if isinstance(outputs, (list, tuple)):
        if isinstance(mask, (list, tuple)) and len(mask) == len(outputs):
            for out, m in zip(outputs, mask):
                if m is not None:
                    set_mask(out, m)
        return
    set_mask(outputs, mask)


def _drop_mask(tensor) -> None:
    _MASKS.pop(id(tensor), None)


def _install_keras_mask_attribute() -> None:
    """Gives tensors Keras's `_keras_mask` attribute, read from and written to the side
    table. Installed from here because the framework knows nothing of Keras masks and
    tensors have `__slots__` (no instance attributes of their own)."""
    from tapeflow.framework.tensor import Tensor

    def setter(tensor, mask):
        if mask is None:
            _drop_mask(tensor)
        else:
            set_mask(tensor, mask)
    Tensor._keras_mask = property(mask_of, setter, _drop_mask,
                                  "The Keras mask of this tensor (None when it has none).")


_install_keras_mask_attribute()
