"""Runs one function body under tapeflow and under TensorFlow 2.21 and compares them.

Each test writes a factory `make(tf)` returning a `tf.function`; the factory
is called once per framework, so the same source is converted by each
framework's AutoGraph. Values, gradients (a tape outside the call) and
tracing counts must agree.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import tapeflow

try:
    import tensorflow as real_tf
except ImportError:          # the parity half of each test is skipped without TF
    real_tf = None

FRAMEWORKS = [tapeflow] + ([real_tf] if real_tf is not None else [])


def _to_numpy(x):
    if isinstance(x, (list, tuple)):
        return [_to_numpy(v) for v in x]
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def run(tf, make, calls, grad=False):
    """(results, gradients, tracing count) of `make(tf)` called on each argument tuple."""
    f = make(tf)
    values, grads = [], []
    for args in calls:
        tensors = [tf.constant(a) for a in args]
        if grad:
            with tf.GradientTape() as tape:
                tape.watch(tensors[0])
                out = f(*tensors)
            grads.append(_to_numpy(tape.gradient(out, tensors[0])))
        else:
            out = f(*tensors)
        values.append(_to_numpy(out))
    return values, grads, f.experimental_get_tracing_count()


def check(make, calls, grad=False, rtol=1e-6):
    """Asserts tapeflow and TF agree on `make`'s values, gradients and tracing count."""
    ours = run(tapeflow, make, calls, grad)
    if real_tf is None:
        return ours
    theirs = run(real_tf, make, calls, grad)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64),
                                   np.asarray(b, dtype=np.float64), rtol=rtol)
    assert ours[2] == theirs[2], f"tracing counts differ: tapeflow {ours[2]}, TF {theirs[2]}"
    return ours


def error_of(tf, make, args):
    f = make(tf)
    with pytest.raises(Exception) as info:
        f(*[tf.constant(a) for a in args])
    return info.value


def check_error(make, args, cls, message):
    """Both frameworks raise `cls` whose text holds `message` and the same user line."""
    ours = error_of(tapeflow, make, args)
    assert isinstance(ours, cls), repr(ours)
    assert message in str(ours), str(ours)
    line = re.search(r"line (\d+), in (\w+)", str(ours))
    assert line is not None, str(ours)
    if real_tf is not None:
        theirs = error_of(real_tf, make, args)
        assert isinstance(theirs, cls), repr(theirs)
        assert message in str(theirs), str(theirs)
        assert line.group(0) in str(theirs), (str(ours), str(theirs))
    return ours
