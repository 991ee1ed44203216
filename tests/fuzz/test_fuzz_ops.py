"""Differential fuzzing of the public ops against TensorFlow 2.21 (see op_specs.py).

For every op spec, Hypothesis draws arguments (a bounded number per op: the
`ci` profile in conftest.py) and fuzz_harness.check requires that tapeflow and
TF both raise, or both return the same values and gradients. Failures found
by the suite are kept below as plain regression tests, one per disagreement.

`TAPEFLOW_FUZZ_REPORT=path` writes, per op, how many examples ran and how
many raised on both sides, as JSON.
"""
import collections
import json
import os

import numpy as np
import pytest

pytest.importorskip("hypothesis")

import fuzz_harness
from hypothesis import given
from hypothesis import strategies as st
from op_specs import SPECS

import tapeflow as tf

_COUNTS = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    path = os.environ.get("TAPEFLOW_FUZZ_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump({k: dict(v) for k, v in sorted(_COUNTS.items())}, f, indent=1)


@pytest.mark.parametrize("name", sorted(SPECS))
@given(data=st.data())
def test_op_agrees_with_tensorflow(real_tf, name, data):
    draw_case, grad = SPECS[name]
    call, arrays, describe = draw_case(data.draw)
    outcome = fuzz_harness.check(call, arrays, real_tf, tf, grad, f"{name} {describe}")
    _COUNTS[name][outcome] += 1


def test_harness_catches_a_wrong_value(real_tf):
    with pytest.raises(fuzz_harness.Disagreement, match="values differ"):
        fuzz_harness.check(lambda m, x: x * 2.0 if m is tf else x * 3.0,
                           [np.ones(2, np.float32)], real_tf, tf)


def test_harness_catches_one_side_raising(real_tf):
    def call(m, x):
        if m is tf:
            raise ValueError("only tapeflow")
        return x
    with pytest.raises(fuzz_harness.Disagreement, match="but tapeflow raised"):
        fuzz_harness.check(call, [np.ones(2, np.float32)], real_tf, tf)
