"""The executor: dead code, freed intermediates, folding, specialisation, errors."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.function import fastpath


def _concrete(fn, *args):
    return tf.function(fn).get_concrete_function(*args)


def test_unused_pure_ops_are_dropped_but_side_effects_kept():
    v = tf.Variable(0.0)

    def f(x):
        _ = tf.exp(x) * 3.0               # dead: nothing uses it
        v.assign_add(1.0)                 # stateful: kept although its result is unused
        return x + 1.0

    cf = _concrete(f, tf.constant(1.0))
    ops = [s.node.op.name for s in cf.plan.steps]
    assert "Exp" not in ops and "Mul" not in ops
    assert "AssignAddVariableOp" in ops
    cf(tf.constant(1.0))
    assert float(v) == 1.0


def test_intermediates_are_freed_after_their_last_use():
    cf = _concrete(lambda x: tf.tanh(tf.sin(x) * 2.0) + x, tf.ones([3]))
    freed = [s for step in cf.plan.steps for s in step.free]
    # Everything but the input (used by the last op) is freed as soon as it is consumed.
    assert len(freed) == len(cf.plan.steps) and "del s1" in cf.plan.source


def test_constants_and_shape_only_ops_fold_at_trace_time():
    def f(x):
        c = tf.constant([1.0, 2.0]) * 2.0 + 1.0          # all constant: folded
        seed = tf.ones_like(x) * tf.cast(tf.size(x), tf.float32)   # shape-only: folded
        return x * c + seed

    cf = _concrete(f, tf.ones([2]))
    assert [s.node.op.name for s in cf.plan.steps] == ["Mul", "AddV2"]
    np.testing.assert_array_equal(cf(tf.constant([1.0, 1.0])).numpy(), [5.0, 7.0])


def test_variables_are_read_when_the_plan_runs_not_when_traced():
    v = tf.Variable([1.0, 2.0])
    f = tf.function(lambda x: tf.reduce_sum(x * v))
    assert float(f(tf.ones([2]))) == 3.0
    v.assign([10.0, 20.0])
    assert float(f(tf.ones([2]))) == 30.0


def test_returned_views_of_variables_do_not_change_on_assign():
    v = tf.Variable([1.0, 2.0])
    f = tf.function(lambda: tf.reshape(v, [2, 1]))
    out = f()
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(out.numpy().ravel(), [1.0, 2.0])


def _train_mlp(steps, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    model = tf.keras.Sequential([tf.keras.layers.Input(shape=(6,)),
                                 tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(3)])
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.weights])
    opt = tf.keras.optimizers.Adam(0.01)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x)) + tf.reduce_sum(tf.square(model.weights[0])) * 1e-3
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                model.trainable_variables))
        return loss

    x = tf.constant(rng.normal(size=(5, 6)).astype(np.float32))
    y = tf.constant(rng.integers(0, 3, 5))
    losses = [step(x, y).numpy() for _ in range(steps)]
    return losses, [w.numpy() for w in model.weights], step


def test_specialised_plans_are_bit_identical_to_kernel_calls(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")      # fused steps bypass the inline forms
    fast_losses, fast_weights, step = _train_mlp(4)
    source = step.get_concrete_function(tf.zeros([5, 6]), tf.zeros([5], tf.int64)).plan.source
    assert "_maximum(" in source and "_add_reduce(" in source and "_matmul(" in source
    monkeypatch.setattr(fastpath, "ENABLED", False)
    slow_losses, slow_weights, step = _train_mlp(4)
    source = step.get_concrete_function(tf.zeros([5, 6]), tf.zeros([5], tf.int64)).plan.source
    assert "_add_reduce(" not in source
    np.testing.assert_array_equal(fast_losses, slow_losses)
    for a, b in zip(fast_weights, slow_weights):
        np.testing.assert_array_equal(a, b)


def test_kernel_error_at_run_time_names_op_function_and_traced_shapes():
    @tf.function
    def lookup(table, i):
        return tf.gather(table, i)

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        lookup(tf.constant([1.0, 2.0]), tf.constant(5))
    msg = str(info.value)
    assert "GatherV2" in msg or "Gather" in msg
    assert "lookup" in msg


def test_plan_of_a_graph_with_a_foreign_tensor_is_rejected():
    outer = {}

    @tf.function
    def leak(x):
        outer["t"] = x * 2.0
        return x

    leak(tf.constant(1.0))

    @tf.function
    def use(y):
        return y + outer["t"]

    with pytest.raises(tf.errors.InvalidArgumentError, match="cannot be used in another"):
        use(tf.constant(1.0))


def _train_convnet(steps):
    rng = np.random.default_rng(3)
    model = tf.keras.Sequential([tf.keras.layers.Input(shape=(8, 8, 1)),
                                 tf.keras.layers.Conv2D(4, 3, activation="relu"),
                                 tf.keras.layers.Conv2D(3, 3, activation="relu"),
                                 tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(2)])
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.weights])
    opt = tf.keras.optimizers.Adam(0.01)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x)))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                model.trainable_variables))
        return loss

    x = tf.constant(rng.random((4, 8, 8, 1)).astype(np.float32))
    losses = [step(x).numpy() for _ in range(steps)]
    return losses, [w.numpy() for w in model.weights], step.get_concrete_function(x)


def test_conv_patches_are_a_residual_slot_read_by_the_filter_backprop_in_the_same_plan(
        monkeypatch):
    from tapeflow.ops import conv_ops
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")      # fused, the conv is a Conv2D+AddV2+Relu step
    fast = _train_convnet(3)
    plan = fast[2].plan
    convs = [s for s in plan.steps if s.node.op is conv_ops._CONV]
    assert len(convs) == 2 and all(s.kernel is conv_ops._conv_residual_kernel for s in convs)
    for conv in convs:
        patches = conv.outputs[1]
        readers = [s for s in plan.steps if ("slot", patches) in s.inputs]
        assert [s.node.op.name for s in readers] == ["Conv2DBackpropFilter"]
        assert patches in readers[0].free          # freed right after its one reader
    monkeypatch.setattr(fastpath, "ENABLED", False)
    slow = _train_convnet(3)
    np.testing.assert_array_equal(fast[0], slow[0])
    for a, b in zip(fast[1], slow[1]):
        np.testing.assert_array_equal(a, b)


def test_specialisation_is_dropped_when_a_kernel_computes_something_else(monkeypatch):
    from tapeflow.ops import nn_ops
    cf = _concrete(lambda x: tf.nn.relu(x), tf.ones([3]))
    assert "_maximum(" in cf.plan.source
    # A Relu kernel that (deliberately) differs from the expression the rule would write.
    def odd_relu(x):
        return np.maximum(x, 0.5).astype(x.dtype)
    monkeypatch.setattr(nn_ops, "_relu_kernel", odd_relu)
    monkeypatch.setattr(nn_ops._RELU, "kernel", odd_relu)
    cf = _concrete(lambda x: tf.nn.relu(x), tf.ones([3]))
    assert "_maximum(" not in cf.plan.source
    np.testing.assert_array_equal(cf(tf.constant([0.0, 1.0, -1.0])).numpy(), [0.5, 1.0, 0.5])


def test_compiling_a_plan_while_another_thread_takes_the_last_dead_file(monkeypatch):
    # The race the thread tests once hit: the list of dead plans' linecache names is seen
    # non-empty, then another thread compiling a plan takes its last name first.
    from tapeflow.function import plan as plan_mod

    class TakenMeanwhile(list):
        def __bool__(self):
            return True              # what this thread saw before the other one popped

        def __len__(self):
            return 1
    monkeypatch.setattr(plan_mod, "_dead_files", TakenMeanwhile())
    f = tf.function(lambda x: x * 2.0 + 1.0)
    assert float(f(tf.constant(3.0))) == 7.0
