"""A layer's `<weight>_initializer`, `_regularizer` and `_constraint` arguments, handled once.

    >>> import tapeflow as tf
    >>> dense = tf.keras.layers.Dense(2, kernel_regularizer='l2')
    >>> type(dense.kernel_regularizer).__name__, dense.kernel_constraint
    ('L2', None)
    >>> sorted(k for k in dense.get_config() if k.startswith('bias_'))
    ['bias_constraint', 'bias_initializer', 'bias_regularizer']
"""
from __future__ import annotations

from tapeflow.keras import constraints, initializers, regularizers


def _serialize_initializer(init):
    return initializers.serialize(init) if isinstance(init, initializers.Initializer) else init


_KINDS = (("initializer", initializers.get, _serialize_initializer),
          ("regularizer", regularizers.get, regularizers.serialize),
          ("constraint", constraints.get, constraints.serialize))


def set_weight_args(layer, args: dict, *weights: str) -> None:
    """Resolves `args['<weight>_<kind>']` (kind: initializer, regularizer, constraint)
    for each weight name the layer's constructor takes, onto same-named attributes.

    Called with the constructor's `locals()`: the arguments it declares are exactly
    the ones set (Keras layers differ in which of the three each weight takes).
    """
    for weight in weights:
        for kind, get, _ in _KINDS:
            key = f"{weight}_{kind}"
            if key in args:
                setattr(layer, key, get(args[key]))


def weight_kwargs(layer, weight: str) -> dict:
    """`add_weight`'s initializer, regularizer and constraint for `weight`."""
    return {kind: getattr(layer, f"{weight}_{kind}", None) for kind, _, _ in _KINDS}


def weight_config(layer, *weights: str) -> dict:
    """The serialized `<weight>_<kind>` entries of `get_config` for the layer's weights."""
    config = {}
    for weight in weights:
        for kind, _, serialize in _KINDS:
            key = f"{weight}_{kind}"
            if hasattr(layer, key):
                config[key] = serialize(getattr(layer, key))
    return config
