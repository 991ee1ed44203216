"""`tf.random`: seeded random tensors, Generators and the stateless (seed-pair) functions.

Filled with the functions that declare a 'random.*' name where they are defined
(see `framework/api_export.py`), plus the Generator API re-exported below.
"""
import types as _types

from tapeflow import _api
from tapeflow.ops.random_generator import (  # noqa: F401
    Algorithm,
    Generator,
    create_rng_state,
    get_global_generator,
    set_global_generator,
)
from tapeflow.ops.stateless_random_ops import (  # noqa: F401
    fold_in,
    split,
    stateless_categorical,
    stateless_truncated_normal,
)
from tapeflow.ops.stateless_random_ops import (  # noqa: F401
    stateless_random_normal as stateless_normal,
    stateless_random_uniform as stateless_uniform,
)

globals().update(_api.namespace("random"))

# tf.random.experimental keeps the older spellings of the same functions.
experimental = _types.SimpleNamespace(
    Algorithm=Algorithm, Generator=Generator, create_rng_state=create_rng_state,
    get_global_generator=get_global_generator, set_global_generator=set_global_generator,
    stateless_split=split, stateless_fold_in=fold_in)
