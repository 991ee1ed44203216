"""Hypothesis profiles for the differential fuzz suite.

`ci` (default): a bounded number of examples per op, derandomized (the same
examples every run, so CI never fails on a new draw) and without a saved
database. `long`: many more random examples, for an on-demand hunt:

    TAPEFLOW_FUZZ=long python -m pytest tests/fuzz -p no:cacheprovider

`TAPEFLOW_FUZZ_EXAMPLES=N` overrides the examples per op of either profile.
Without Hypothesis installed, test_fuzz_ops.py skips itself and the kept
regression cases still run.
"""
import os

# Helper modules, not tests (and op_specs needs Hypothesis to import): not collected,
# so that --doctest-modules without Hypothesis installed does not fail on them.
collect_ignore = ["op_specs.py", "fuzz_harness.py"]

try:
    from hypothesis import HealthCheck, settings
except ImportError:
    settings = None


def _register():
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
              HealthCheck.function_scoped_fixture]
    settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                              database=None, suppress_health_check=checks, print_blob=True)
    settings.register_profile("long", max_examples=400, deadline=None,
                              suppress_health_check=checks, print_blob=True)
    profile = os.environ.get("TAPEFLOW_FUZZ", "ci")
    if os.environ.get("TAPEFLOW_FUZZ_EXAMPLES"):
        settings.register_profile(f"{profile}-n", settings.get_profile(profile),
                                  max_examples=int(os.environ["TAPEFLOW_FUZZ_EXAMPLES"]))
        profile = f"{profile}-n"
    settings.load_profile(profile)


if settings is not None:
    _register()
