"""Smaller tf.math / tf.nn functions (in math_ops, nn_ops) against TF and numeric gradients."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

FUNCS = {
    "asinh": (lambda m, x: m.math.asinh(x), lambda r: r.uniform(-2, 2, (2, 3))),
    "acosh": (lambda m, x: m.math.acosh(x), lambda r: r.uniform(1.2, 3, (2, 3))),
    "atanh": (lambda m, x: m.math.atanh(x), lambda r: r.uniform(-0.8, 0.8, (2, 3))),
    "log_sigmoid": (lambda m, x: m.math.log_sigmoid(x), lambda r: r.uniform(-5, 5, (2, 3))),
    "softsign": (lambda m, x: m.nn.softsign(x),
                 lambda r: r.uniform(0.2, 2, (2, 3)) * r.choice([-1, 1], (2, 3))),
    "xlogy": (lambda m, x: m.math.xlogy(x, x * x + 0.5), lambda r: r.uniform(-2, 2, (2, 3))),
    "multiply_no_nan": (lambda m, x: m.math.multiply_no_nan(x, m.sin(x)),
                        lambda r: r.uniform(-2, 2, (2, 3))),
    "reciprocal_no_nan": (lambda m, x: m.math.reciprocal_no_nan(x),
                          lambda r: r.uniform(0.5, 2, (2, 3))),
    "embedding_lookup": (lambda m, x: m.nn.embedding_lookup(x, [[1, 0], [1, 1]]),
                         lambda r: r.normal(size=(2, 3))),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_values_gradients_and_parity(name, rng, real_tf):
    expr, sample = FUNCS[name]
    x = sample(rng)
    check_gradients(lambda x: expr(tf, x), [x])
    tf_parity.check(expr, [x.astype(np.float32)], real_tf=real_tf)


def test_no_nan_variants_at_zero(real_tf):
    def expr(m):
        z = m.constant([0.0, 2.0])
        return (m.math.xlogy(z, z), m.math.multiply_no_nan(m.constant([np.inf, 1.0]), z),
                m.math.reciprocal_no_nan(z))
    tf_parity.check(expr, [], real_tf=real_tf)


def test_top_level_aliases_exist():
    for name in ["acos", "asin", "atan", "atan2", "cosh", "sinh", "cumsum", "scalar_mul"]:
        assert callable(getattr(tf, name)), name
    assert tf.nn.top_k is tf.math.top_k and tf.nn.in_top_k is tf.math.in_top_k
