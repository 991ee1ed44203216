"""`tf.nest` (re-exports)."""
from tapeflow.utils.nest import (  # noqa: F401
    assert_same_structure, flatten, is_nested, map_structure, pack_sequence_as)
