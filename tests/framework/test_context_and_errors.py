"""tapeflow/framework/context.py and errors.py."""
import pytest

import tapeflow as tf


def test_name_scope_nests_and_restores():
    with tf.name_scope("a") as outer:
        with tf.name_scope("b") as inner:
            v = tf.Variable(1.0, name="v")
    assert (outer, inner, v.name) == ("a/", "a/b/", "a/b/v:0")
    assert tf.Variable(1.0, name="v").name == "v:0"


def test_name_scope_is_restored_after_an_error():
    with pytest.raises(RuntimeError):
        with tf.name_scope("broken"):
            raise RuntimeError("inside")
    assert tf.Variable(1.0, name="w").name == "w:0"


def test_init_scope_runs_unrecorded():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        with tf.init_scope():
            hidden = x * 3.0
        seen = x * 3.0
    assert tape.gradient(hidden, x) is None
    assert tf.executing_eagerly()
    with tf.GradientTape() as tape:
        seen = x * 3.0
    assert float(tape.gradient(seen, x)) == 3.0


def test_op_errors_read_like_tensorflows():
    err = tf.errors.InvalidArgumentError(None, None, "bad thing")
    assert str(err) == "bad thing" and err.message == "bad thing"
    assert isinstance(tf.errors.InvalidArgumentError("m"), tf.errors.OpError)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[Op:AddV2\]$"):
        tf.ones(2) + tf.ones(3)
