"""The op-coverage test runs last, after every gradient check of the session."""

COVERAGE_TEST = "test_every_differentiable_op_is_gradient_checked"


def pytest_collection_modifyitems(session, config, items):
    last = [item for item in items if item.name == COVERAGE_TEST]
    if last:
        items[:] = [item for item in items if item.name != COVERAGE_TEST] + last
