"""`keras.optimizers`: optimizer classes, `get` by name, learning-rate schedules."""
from tapeflow.keras.optimizers import schedules  # noqa: F401
from tapeflow.keras.optimizers.algorithms import SGD, Adagrad, Adam, AdamW, RMSprop
from tapeflow.keras.optimizers.base import Optimizer

_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from a name ('adam'), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: {identifier!r}. Expected one of "
                             f"{sorted(_BY_NAME)} or a keras.optimizers.Optimizer instance.")
        return cls()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name", "").lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer class {identifier.get('class_name')!r}")
        return cls.from_config(identifier.get("config", {}))
    raise TypeError(f"Could not interpret optimizer identifier: expected a string or an "
                    f"Optimizer, received {identifier!r} of type {type(identifier).__name__}")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    return get(config)


# TF 2.11+ code spells some optimizers keras.optimizers.legacy.Adam / .experimental.AdamW.
class _Namespace:
    SGD, Adam, AdamW, RMSprop, Adagrad, Optimizer = SGD, Adam, AdamW, RMSprop, Adagrad, Optimizer


legacy = experimental = _Namespace


# The implementation modules are reached by their paths, not as attributes of the public
# keras.optimizers namespace (`schedules` is public).
del algorithms, base  # noqa: F821
