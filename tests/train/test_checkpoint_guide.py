"""TensorFlow's "Training checkpoints" guide, run with tapeflow."""
import numpy as np
import pytest

import tapeflow as tf


class Net(tf.keras.Model):
    """A simple linear model."""

    def __init__(self):
        super().__init__()
        self.l1 = tf.keras.layers.Dense(5)

    def call(self, x):
        return self.l1(x)


def _toy_dataset():
    inputs = tf.range(10.0)[:, None]
    labels = inputs * 5.0 + tf.range(5.0)[None, :]
    return tf.data.Dataset.from_tensor_slices({"x": inputs, "y": labels}).repeat().batch(2)


def _train_step(net, example, optimizer):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(net(example["x"]) - example["y"]))
    variables = net.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


def _run(folder, steps):
    opt = tf.keras.optimizers.Adam(0.1)
    net = Net()
    iterator = iter(_toy_dataset())
    with pytest.warns(UserWarning, match="iterator"):
        ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=opt, net=net,
                                   iterator=iterator)
    manager = tf.train.CheckpointManager(ckpt, folder, max_to_keep=3)
    ckpt.restore(manager.latest_checkpoint)
    restored_step = int(ckpt.step)
    for _ in range(steps):
        _train_step(net, next(iterator), opt)
        ckpt.step.assign_add(1)
        if int(ckpt.step) % 10 == 0:
            manager.save()
    return restored_step, manager, net, opt


def test_guide_trains_saves_restores_and_reads(tmp_path):
    folder = str(tmp_path / "tf_ckpts")
    first, manager, _, _ = _run(folder, 50)
    assert first == 1 and manager.latest_checkpoint.endswith("ckpt-5")
    resumed, manager, net2, opt2 = _run(folder, 50)
    assert resumed == 50                                     # continued from ckpt-5
    assert [p.rsplit("/", 1)[-1] for p in manager.checkpoints] == ["ckpt-8", "ckpt-9",
                                                                   "ckpt-10"]
    # ckpt-5 was saved after 49 updates (the step counter starts at 1): 49 + 50
    assert int(opt2.iterations.numpy()) == 99
    to_restore = tf.Variable(tf.zeros([5]))
    fake_net = tf.train.Checkpoint(l1=tf.train.Checkpoint(bias=to_restore))
    status = tf.train.Checkpoint(net=fake_net).restore(tf.train.latest_checkpoint(folder))
    status.assert_existing_objects_matched()
    np.testing.assert_array_equal(to_restore.numpy(), net2.l1.bias.numpy())
    reader = tf.train.load_checkpoint(folder)
    key = "net/l1/_kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert reader.get_variable_to_shape_map()[key] == [1, 5]
    assert reader.get_variable_to_dtype_map()[key].name == "float32"
