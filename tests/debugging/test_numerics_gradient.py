"""The gradient of tf.debugging.check_numerics: the incoming gradient, itself checked."""
import numpy as np

import tapeflow as tf
from tapeflow.testing import check_gradients


def test_check_numerics_passes_gradients_through_first_and_second_order(rng):
    check_gradients(lambda x: tf.debugging.check_numerics(x * x, "squares") * x,
                    [rng.normal(size=(3, 4))])


def test_check_numerics_names_a_nan_gradient():
    x = tf.Variable([0.0, 1.0])
    with tf.GradientTape() as tape:
        y = tf.debugging.check_numerics(tf.sqrt(x) * 0.0 + x, "checked")
        z = tf.reduce_sum(tf.math.log(y))
    try:
        tape.gradient(z, x)
    except tf.errors.InvalidArgumentError as e:
        assert "gradient" in str(e)
    else:
        raise AssertionError("an Inf gradient passed check_numerics' backward check")
    assert np.isfinite(x.numpy()).all()
