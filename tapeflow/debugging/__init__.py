"""`tf.debugging`: numeric checks, assertions, device placement logs.

See `numerics.py` for `check_numerics` / `enable_check_numerics` (which name the user's
line that produced the first NaN or Inf) and `asserts.py` for the `assert_*` family.
"""
from tapeflow.debugging.asserts import (  # noqa: F401
    Assert,
    assert_all_finite,
    assert_equal,
    assert_greater,
    assert_greater_equal,
    assert_integer,
    assert_less,
    assert_less_equal,
    assert_near,
    assert_negative,
    assert_non_negative,
    assert_non_positive,
    assert_none_equal,
    assert_positive,
    assert_rank,
    assert_rank_at_least,
    assert_same_float_dtype,
    assert_scalar,
    assert_shapes,
    assert_type,
    is_numeric_tensor,
)
from tapeflow.debugging.numerics import (  # noqa: F401
    check_numerics,
    disable_check_numerics,
    enable_check_numerics,
    get_log_device_placement,
    set_log_device_placement,
)
