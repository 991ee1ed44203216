"""Every registered op is differentiable with a rule checked by `check_gradients`,
or declared not differentiable (`NO_GRADIENT`).

The checker notes the ops whose rules each passing check went through
(`gradient_check.exercised_ops`). This test runs last in the session (see
tests/conftest.py) and judges each differentiable op whose tests ran in full: the op
is defined in `tapeflow/<package>/...` (where its rule is), and every test module
of `tests/<package>/` was part of this session. Run alone, it judges none and
skips.
"""
import pathlib

import pytest

import tapeflow as tf  # noqa: F401  (registers every op)
from tapeflow.framework.op import NO_GRADIENT, registered_ops
from tapeflow.testing.gradient_check import exercised_ops

TESTS = pathlib.Path(__file__).resolve().parents[1]


def _test_dir(op):
    """tests/<package> for an op whose rule is defined in tapeflow.<package>...."""
    parts = op.grad.__module__.split(".")
    return TESTS / parts[1] if len(parts) > 2 and parts[0] == "tapeflow" else None


def _user_defined(name):
    """Ops a program registered (`register_op` outside tapeflow): they may get their
    gradient later, or never."""
    from tapeflow.ops import custom_ops
    module = custom_ops._ORIGINS.get(name, ("tapeflow",))[0] or ""
    return not module.startswith("tapeflow")


def test_every_registered_op_has_a_rule_or_is_declared_not_differentiable():
    undeclared = sorted(name for name, op in registered_ops().items()
                        if op.grad is None and not _user_defined(name))
    assert not undeclared, (f"ops with neither a gradient rule nor NO_GRADIENT: {undeclared}; "
                            "give each a rule, or declare it NO_GRADIENT")


# Ops whose rule only raises, as TF's does (no gradient for lstsq with fast=False, none
# registered for AdjustContrastv2): tests/ops/test_linalg_extra.py and
# test_image_color_ops.py check the errors instead.
RULE_ONLY_RAISES = {"MatrixSolveLs", "AdjustContrastv2"}


def test_every_differentiable_op_is_gradient_checked(request):
    ran = {pathlib.Path(str(item.path)).resolve() for item in request.session.items}
    judged, missing = [], []
    for name, op in sorted(registered_ops().items()):
        if op.grad is NO_GRADIENT or op.grad is None or name in RULE_ONLY_RAISES:
            continue
        folder = _test_dir(op)
        if folder is None or not set(folder.rglob("test_*.py")) <= ran:
            continue
        judged.append(name)
        if name not in exercised_ops():
            missing.append(f"{name} (rule in {op.grad.__module__}; tests in {folder.name}/)")
    if not judged:
        pytest.skip("no op's test modules all ran in this session: run the op tests with it")
    assert not missing, ("differentiable ops whose rules no check_gradients call exercised: "
                         + ", ".join(missing))
