"""Checkpoints in Keras 2's naming (tf.keras before Keras 3; the `tf_keras` package):
`layer_with_weights-N`, `kernel`, optimizer `iter` and OptimizerV2 slot variables."""
import numpy as np
import pytest

import tapeflow as tf


@pytest.fixture(scope="module")
def k2(real_tf):
    return pytest.importorskip("tf_keras")


def _pair(k2, sequential):
    """The same small model in Keras 2 and in tapeflow."""
    def build(k):
        if sequential:
            return k.Sequential([k.Input((4,)), k.layers.Dense(3, activation="relu"),
                                 k.layers.Dropout(0.0), k.layers.Dense(2)])
        inp = k.Input((4,))
        h = k.layers.Dense(3, activation="relu")(inp)
        return k.Model(inp, k.layers.Dense(2)(k.layers.Dropout(0.0)(h)))
    return build(k2), build(tf.keras)


@pytest.mark.parametrize("sequential", [False, True], ids=["functional", "sequential"])
@pytest.mark.parametrize("legacy_optimizer", [False, True], ids=["optimizer", "optimizer_v2"])
def test_keras2_checkpoint_restores_with_optimizer_state(tmp_path, real_tf, k2, sequential,
                                                         legacy_optimizer):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)).astype(np.float32), np.ones((8, 2), np.float32)
    theirs, ours = _pair(k2, sequential)
    t_opt = (k2.optimizers.legacy.Adam if legacy_optimizer else k2.optimizers.Adam)(0.01)
    theirs.compile(t_opt, "mse")
    theirs.fit(x, y, epochs=3, verbose=0)
    path = real_tf.train.Checkpoint(model=theirs, optimizer=t_opt).write(str(tmp_path / "c"))
    o_opt = tf.keras.optimizers.Adam(0.01)
    ours.compile(o_opt, "mse")
    tf.train.Checkpoint(model=ours, optimizer=o_opt).restore(path)
    for a, b in zip(theirs.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(o_opt.iterations.numpy()) == 3
    loss_t, loss_o = theirs.train_on_batch(x, y), ours.train_on_batch(x, y)
    np.testing.assert_allclose(loss_o, loss_t, rtol=1e-6)
    for a, b in zip(theirs.get_weights(), ours.get_weights()):     # the slots came back too
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
