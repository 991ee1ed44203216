"""Traced `tf.cond`/`tf.while_loop` (AutoGraph `if`/`while`/`for`) saved by tapeflow run as
TensorFlow's If/While in TensorFlow's loaded functions.
"""
import numpy as np

import tapeflow as tf


class _Branchy(tf.Module):
    def __init__(self):
        super().__init__()
        self.scale = tf.Variable(2.0)
        self.skipped = tf.Variable(0)
        self.ticks = tf.Variable(0.0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def branch(self, x):
        if x > 0:
            y = x * self.scale
        else:
            self.skipped.assign_add(1)
            y = -x
        return y

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def loop(self, xs):
        total = tf.constant(0.0)
        for i in tf.range(tf.shape(xs)[0]):
            if xs[i] > 1.0:
                total += xs[i] * self.scale
            else:
                total -= 1.0
        return total

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def count(self, n):
        i = tf.constant(0)
        while i < n:
            self.ticks.assign_add(0.5)
            i += 1
        return i


def test_autograph_if_and_loops_run_as_tensorflows_if_and_while(save_load, real_tf, tmp_path):
    model = _Branchy()
    loaded = save_load(model, tmp_path / "cf")
    for x in (3.0, -2.0):
        assert loaded.branch(real_tf.constant(x)).numpy() == model.branch(tf.constant(x)).numpy()
    xs = np.array([0.5, 2.0, 3.0, 1.0], np.float32)
    assert loaded.loop(xs).numpy() == model.loop(tf.constant(xs)).numpy()
    assert loaded.count(real_tf.constant(5)).numpy() == model.count(tf.constant(5)).numpy()


def test_variables_written_inside_branches_and_loops_change_in_tensorflow(save_load, real_tf,
                                                                         tmp_path):
    model = _Branchy()
    loaded = save_load(model, tmp_path / "cf")
    loaded.branch(real_tf.constant(-1.0))
    loaded.branch(real_tf.constant(4.0))
    loaded.count(real_tf.constant(3))
    assert loaded.skipped.numpy() == 1 and loaded.ticks.numpy() == 1.5
