"""`tf.random`: seeded random tensors (re-exports)."""
import types

from tapeflow.ops.random_generator import (
    Algorithm,
    Generator,
    create_rng_state,
    get_global_generator,
    set_global_generator,
)
from tapeflow.ops.random_ops import (  # noqa: F401
    categorical,
    normal,
    set_seed,
    shuffle,
    truncated_normal,
    uniform,
)
from tapeflow.ops.stateless_random_ops import (  # noqa: F401
    fold_in,
    split,
    stateless_categorical,
    stateless_truncated_normal,
)
from tapeflow.ops.stateless_random_ops import stateless_random_normal as stateless_normal  # noqa: F401
from tapeflow.ops.stateless_random_ops import stateless_random_uniform as stateless_uniform  # noqa: F401

# tf.random.experimental keeps the older spellings of the same functions.
experimental = types.SimpleNamespace(
    Algorithm=Algorithm, Generator=Generator, create_rng_state=create_rng_state,
    get_global_generator=get_global_generator, set_global_generator=set_global_generator,
    stateless_split=split, stateless_fold_in=fold_in)
