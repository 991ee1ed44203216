"""tf.optimizers, tf.losses, tf.metrics and tf.initializers are tf.keras's modules, as in TF."""
import tapeflow as tf


def test_top_level_aliases_are_the_keras_modules(real_tf):
    for name in ["optimizers", "losses", "metrics", "initializers"]:
        assert getattr(tf, name) is getattr(tf.keras, name)
        assert hasattr(real_tf, name)
    assert tf.optimizers.SGD is tf.keras.optimizers.SGD
    assert tf.losses.MSE is tf.keras.losses.MSE
