"""tapeflow/function/fusion.py: fused tf.function plans against unfused plans and eager."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import onednn
from tapeflow.function import fusion

ONEDNN = [pytest.param("0", id="numpy"),
          pytest.param("1", id="onednn", marks=pytest.mark.skipif(
              not onednn.available(), reason="oneDNN is not installed"))]


def _fused_names(plan):
    return ["+".join(n.op.name for n in s.fused) for s in plan.steps
            if s.fused and s.fused != ("in_place",)]


def _in_place_names(plan):
    return [s.node.op.name for s in plan.steps if s.fused == ("in_place",)]


def _seed_cnn():
    """The seed tutorial's CNN, deterministic weights."""
    inp = tf.keras.layers.Input(shape=(28, 28, 1))
    h = tf.keras.layers.Conv2D(32, 3, activation="relu")(inp)
    h = tf.keras.layers.Conv2D(64, 3, activation="relu")(h)
    h = tf.keras.layers.Flatten()(h)
    h = tf.keras.layers.Dense(128, activation="relu")(h)
    out = tf.keras.layers.Dense(10)(h)
    model = tf.keras.models.Model(inp, out)
    rng = np.random.default_rng(0)
    model.set_weights([(rng.standard_normal(w.shape) * 0.2).astype(np.float32)
                       for w in model.get_weights()])
    return model


def _seed_step(model):
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x)
            loss = loss_fn(y, logits)
        return [logits, loss] + tape.gradient(loss, model.trainable_variables)
    return step


def _seed_batch():
    rng = np.random.default_rng(1)
    return (tf.constant(rng.random((4, 28, 28, 1), dtype=np.float32)),
            tf.constant(rng.integers(0, 10, 4).astype(np.int32)))



@pytest.fixture(autouse=True)
def _fusion_on(monkeypatch):
    """These tests are about the fused plans (the default, unless TAPEFLOW_FUSE=0)."""
    monkeypatch.setenv("TAPEFLOW_FUSE", "1")

@pytest.mark.parametrize("use_onednn", ONEDNN)
def test_seed_cnn_step_fused_equals_unfused_and_eager(monkeypatch, use_onednn):
    monkeypatch.setenv("TAPEFLOW_ONEDNN", use_onednn)
    model = _seed_cnn()
    step = _seed_step(model)
    x, y = _seed_batch()
    monkeypatch.setenv("TAPEFLOW_FUSE", "1")
    fused_fn = tf.function(step)
    fused = fused_fn(x, y)
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")
    plain_fn = tf.function(step)
    plain = plain_fn(x, y)
    eager = step(x, y)
    plan = fused_fn.get_concrete_function(x, y).plan
    assert _fused_names(plan).count("Conv2D+AddV2+Relu") == 2
    assert "MatMul+AddV2+Relu" in _fused_names(plan) and "MatMul+AddV2" in _fused_names(plan)
    assert _fused_names(plan).count("Conv2DBackpropFilter+Sum") == 2
    assert "MatMul+Reshape+ReluGrad" in _fused_names(plan)
    assert "Conv2DBackpropInput+ReluGrad" in _fused_names(plan)
    assert not _fused_names(plain_fn.get_concrete_function(x, y).plan)
    assert len(fused) == len(plain) == 2 + len(model.trainable_variables)
    for f, p, e in zip(fused, plain, eager):
        assert f.shape == p.shape
        np.testing.assert_allclose(f.numpy(), p.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(f.numpy(), e.numpy(), rtol=1e-4, atol=1e-5)


def test_numpy_kernels_fuse_bit_for_bit(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    model = _seed_cnn()
    step = _seed_step(model)
    x, y = _seed_batch()
    cf = tf.function(step).get_concrete_function(x, y)
    fused = cf.plan.run(x.numpy(), y.numpy())
    plain = tf.function(step).get_concrete_function(x, y)
    plain_plan = type(cf.plan)(plain.graph, plain.plan.inputs, plain.plan.outputs, fuse=False)
    for f, p in zip(fused, plain_plan.run(x.numpy(), y.numpy())):
        np.testing.assert_array_equal(f, p)


def test_tapeflow_fuse_0_turns_fusion_off(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")
    assert not fusion.enabled() and fusion.enabled(True)
    cf = tf.function(lambda x, w, b: tf.nn.relu(tf.matmul(x, w) + b)).get_concrete_function(
        tf.ones([2, 3]), tf.ones([3, 4]), tf.ones([4]))
    assert [s.node.op.name for s in cf.plan.steps] == ["MatMul", "AddV2", "Relu"]


def test_conv_bias_relu_fuses_into_one_step():
    cf = tf.function(lambda x, w, b: tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME") + b)) \
        .get_concrete_function(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 3]), tf.ones([3]))
    assert _fused_names(cf.plan) == ["Conv2D+AddV2+Relu"] and len(cf.plan.steps) == 1


def test_intermediate_read_elsewhere_is_not_fused():
    def f(x, w, b):
        z = tf.matmul(x, w)
        return tf.nn.relu(z + b), z          # z is returned: it must exist

    cf = tf.function(f).get_concrete_function(tf.ones([2, 3]), tf.ones([3, 4]), tf.ones([4]))
    assert not _fused_names(cf.plan)


def test_bias_result_read_elsewhere_fuses_without_relu():
    def f(x, w, b):
        z = tf.matmul(x, w) + b
        return tf.nn.relu(z), z * 2.0

    x, w, b = tf.constant([[1., -2., 3.]]), tf.ones([3, 2]), tf.constant([-5., 1.])
    cf = tf.function(f).get_concrete_function(x, w, b)
    assert _fused_names(cf.plan) == ["MatMul+AddV2"]
    r, z2 = cf(x, w, b)
    np.testing.assert_array_equal(r.numpy(), [[0., 3.]])
    np.testing.assert_array_equal(z2.numpy(), [[-6., 6.]])


def test_broadcast_add_is_not_a_bias():
    def f(x, w, b):
        return tf.nn.relu(tf.matmul(x, w) + b)

    x, w, b = tf.ones([2, 3]), tf.ones([3, 4]), tf.ones([2, 1])     # not a vector bias
    cf = tf.function(f).get_concrete_function(x, w, b)
    assert not _fused_names(cf.plan)
    np.testing.assert_array_equal(cf(x, w, b).numpy(), np.full((2, 4), 4.0, np.float32))


def test_in_place_never_overwrites_inputs_or_values_read_later():
    def f(x):
        y = tf.nn.relu(x)                      # x is the caller's: never written
        z = tf.matmul(y, y)
        return tf.nn.relu(z) + z               # z read twice: no in-place relu

    x = np.array([[1., -1.], [-2., 3.]], np.float32)
    cf = tf.function(f).get_concrete_function(tf.constant(x))
    keep = x.copy()
    out = cf.plan.run(x)[0]
    np.testing.assert_array_equal(x, keep)
    r = np.maximum(keep, 0) @ np.maximum(keep, 0)
    np.testing.assert_array_equal(out, np.maximum(r, 0) + r)
    assert _in_place_names(cf.plan) == ["AddV2"]      # into relu(z), which dies there


def test_relu_grad_writes_into_dying_gradient():
    w = tf.Variable(tf.ones([3, 4]))
    v = tf.Variable(tf.ones([4, 2]))

    def f(x):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.nn.relu(tf.matmul(x, w)) - 0.5)
            loss = tf.reduce_sum(tf.matmul(h, v))
        return tape.gradient(loss, w)      # dy of the inner ReluGrad: the outer one's result

    x = tf.constant([[1., -2., 0.5], [0.5, 0.5, -3.]])
    cf = tf.function(f).get_concrete_function(x)
    assert "ReluGrad" in _in_place_names(cf.plan)
    np.testing.assert_allclose(cf(x).numpy(), f(x).numpy())


def test_nan_propagates_through_fused_relu_on_numpy(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    x = tf.constant([[np.nan, 1.0]])
    f = tf.function(lambda x, w, b: tf.nn.relu(tf.matmul(x, w) + b))
    out = f(x, tf.ones([2, 2]), tf.zeros([2])).numpy()
    assert np.isnan(out).all()


def test_unknown_batch_still_fuses():
    f = tf.function(lambda x, w, b: tf.nn.relu(tf.matmul(x, w) + b))
    cf = f.get_concrete_function(tf.TensorSpec([None, 3]), tf.ones([3, 2]), tf.ones([2]))
    assert _fused_names(cf.plan) == ["MatMul+AddV2+Relu"]
    x = np.array([[1., -2., 0.], [3., 1., 1.], [-4., 0., 0.]], np.float32)
    out = cf(tf.constant(x), tf.ones([3, 2]), tf.constant([0.5, -1.])).numpy()
    np.testing.assert_array_equal(out, np.maximum(x.sum(1, keepdims=True) + [0.5, -1.], 0))


def test_fused_step_errors_name_the_op():
    f = tf.function(lambda x, w, b: tf.nn.relu(tf.matmul(x, w) + b))
    cf = f.get_concrete_function(tf.TensorSpec([None, 3]), tf.ones([3, 2]), tf.ones([2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="MatMul"):
        cf.plan.run(np.ones([2, 4], np.float32), np.ones([3, 2], np.float32),
                    np.ones([2], np.float32))


@pytest.mark.parametrize("residuals", [False, True])
@pytest.mark.parametrize("batch", [1, 8])       # 8: image blocks on the pool, per-block epilogue
def test_numpy_conv_bias_relu_kernel_equals_the_separate_kernels(monkeypatch, residuals, batch):
    from tapeflow.ops import conv_ops
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, 26, 26, 32)).astype(np.float32)
    w = rng.standard_normal((3, 3, 32, 64)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    attrs = dict(strides=(1, 1), padding="VALID", dilations=(1, 1))
    got = conv_ops._conv_bias_act(x, w, b, relu=True, residuals=residuals, **attrs)
    y, patches = conv_ops._conv_residual_kernel(x, w, **attrs)
    want = np.maximum(y + b, np.float32(0))
    np.testing.assert_array_equal(got[0] if residuals else got, want)
    if residuals:
        np.testing.assert_array_equal(got[1], patches)


@pytest.mark.parametrize("use_onednn", ONEDNN)
def test_filter_and_bias_gradient_kernel_equals_the_separate_kernels(monkeypatch, use_onednn):
    from tapeflow.ops import conv_ops
    monkeypatch.setenv("TAPEFLOW_ONEDNN", use_onednn)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 10, 10, 8)).astype(np.float32)
    w = rng.standard_normal((3, 3, 8, 16)).astype(np.float32)
    dy = rng.standard_normal((4, 8, 8, 16)).astype(np.float32)
    attrs = dict(strides=(1, 1), padding="VALID", dilations=(1, 1))
    dw, db = conv_ops._bp_filter_and_bias(x, w, dy, **attrs)
    np.testing.assert_allclose(dw, conv_ops._bp_filter_kernel(x, w, dy, **attrs),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(db, dy.astype(np.float64).sum(axis=(0, 1, 2)), rtol=1e-5,
                               atol=1e-4)


def test_fusion_is_on_unless_turned_off(monkeypatch):
    from tapeflow.function import fusion
    monkeypatch.delenv("TAPEFLOW_FUSE")
    assert fusion.enabled() and not fusion.enabled(False)
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")
    assert not fusion.enabled() and fusion.enabled(True)


def _relu_grad_through_reshape(x, w, v):
    """A Dense -> reshape -> ReLU -> reshape -> Dense gradient: MatMul, Reshape, ReluGrad."""
    with tf.GradientTape() as tape:
        tape.watch([x, w, v])
        h = tf.nn.relu(tf.reshape(tf.matmul(x, w), [x.shape[0], 8, -1]))
        loss = tf.reduce_sum(tf.matmul(tf.reshape(h, [x.shape[0], -1]), v) ** 2)
    return tape.gradient(loss, [x, w, v])


@pytest.mark.parametrize("use_onednn", ONEDNN)
def test_relu_grad_fuses_into_the_blocks_of_the_product(monkeypatch, use_onednn):
    # (128, 256) @ (256, 512) is above the pool's threshold: the mask runs per block.
    monkeypatch.setenv("TAPEFLOW_ONEDNN", use_onednn)
    rng = np.random.default_rng(3)
    x, w, v = (tf.constant(rng.standard_normal(s).astype(np.float32))
               for s in ((128, 64), (64, 512), (512, 256)))
    fused_fn = tf.function(_relu_grad_through_reshape)
    fused = fused_fn(x, w, v)
    assert "MatMul+Reshape+ReluGrad" in _fused_names(fused_fn.get_concrete_function(x, w, v).plan)
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")
    plain = tf.function(_relu_grad_through_reshape)(x, w, v)
    for f, p in zip(fused, plain):
        np.testing.assert_array_equal(f.numpy(), p.numpy())     # the same products, masked


def test_relu_grad_does_not_fuse_through_a_transpose():
    def f(x, w, y):
        with tf.GradientTape() as tape:
            tape.watch(w)
            z = tf.transpose(tf.matmul(x, w))
            loss = tf.reduce_sum(tf.nn.relu(z) * y)
        return tape.gradient(loss, w)

    x, w, y = tf.ones([3, 4]), tf.ones([4, 3]), tf.ones([3, 3])
    assert not any("ReluGrad" in n for n in
                   _fused_names(tf.function(f).get_concrete_function(x, w, y).plan))


@pytest.mark.parametrize("use_onednn", ONEDNN)
def test_relu_grad_fuses_into_the_input_gradient_blocks(monkeypatch, use_onednn):
    monkeypatch.setenv("TAPEFLOW_ONEDNN", use_onednn)
    rng = np.random.default_rng(4)
    x = tf.constant(rng.standard_normal((16, 12, 12, 3)).astype(np.float32))
    k1 = tf.constant(rng.standard_normal((3, 3, 3, 8)).astype(np.float32))
    k2 = tf.constant(rng.standard_normal((3, 3, 8, 16)).astype(np.float32))

    def f(x, k1, k2):
        with tf.GradientTape() as tape:
            tape.watch(k1)
            h = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "SAME"))
            loss = tf.reduce_sum(tf.nn.conv2d(h, k2, 1, "VALID") ** 2)
        return tape.gradient(loss, k1)

    fused_fn = tf.function(f)
    fused = fused_fn(x, k1, k2)
    assert "Conv2DBackpropInput+ReluGrad" in _fused_names(
        fused_fn.get_concrete_function(x, k1, k2).plan)
    monkeypatch.setenv("TAPEFLOW_FUSE", "0")
    np.testing.assert_array_equal(fused.numpy(), tf.function(f)(x, k1, k2).numpy())
    np.testing.assert_allclose(fused.numpy(), f(x, k1, k2).numpy(), rtol=1e-5, atol=1e-3)


# -- overlap: large optimizer updates beside the steps after them ---------------------------

def _dense_step(model, opt):
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss, model.layers[0].kernel.read_value()   # read after the update
    return step


def _dense_model():
    model = tf.keras.Sequential([tf.keras.layers.Input((512,)),
                                 tf.keras.layers.Dense(256, activation="relu"),
                                 tf.keras.layers.Dense(4)])
    rng = np.random.default_rng(5)
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.05
                       for w in model.get_weights()])
    return model


def test_large_update_is_launched_and_waited_for_before_its_variable_is_read(monkeypatch):
    rng = np.random.default_rng(6)
    x = tf.constant(rng.standard_normal((8, 512)).astype(np.float32))
    y = tf.constant(rng.standard_normal((8, 4)).astype(np.float32))
    runs = {}
    for fuse in ("1", "0"):
        monkeypatch.setenv("TAPEFLOW_FUSE", fuse)
        model, opt = _dense_model(), tf.keras.optimizers.Adam(1e-2)
        fn = tf.function(_dense_step(model, opt))
        runs[fuse] = [[t.numpy() for t in fn(x, y)] for _ in range(3)]
        runs[fuse].append([w.copy() for w in model.get_weights()])
        if fuse == "1":
            steps = fn.get_concrete_function(x, y).plan.steps
            launched = [s for s in steps if s.launch]
            assert [s.inputs[0][1].shape.as_list() for s in launched] == [[512, 256]]
            waits = [k for k, s in enumerate(steps) if launched[0] in s.joins]
            assert waits and steps[waits[0]].node.op.stateful
            assert steps.index(launched[0]) < waits[0]
    for fused, plain in zip(runs["1"], runs["0"]):
        for f, p in zip(fused, plain):
            np.testing.assert_array_equal(f, p)


def test_update_is_not_launched_ahead_of_a_read_of_its_variable():
    # The update moves up past steps that do not touch its Variables (the Mul reads a copy).
    v = tf.Variable(tf.zeros([300, 300]))
    opt = tf.keras.optimizers.SGD(0.1)

    @tf.function
    def f(g):
        before = v.read_value() * 2.0            # must see the value before the update
        opt.apply_gradients([(g, v)])
        return before

    out = f(tf.ones([300, 300]))
    np.testing.assert_array_equal(out.numpy(), np.zeros((300, 300), np.float32))
    np.testing.assert_allclose(v.numpy(), -0.1)
    steps = f.get_concrete_function(tf.ones([300, 300])).plan.steps
    k = next(k for k, s in enumerate(steps) if s.launch)
    assert [s.node.op.name for s in steps[:k]] == ["ReadVariableOp"]     # the read stays first


def test_tapeflow_overlap_0_keeps_updates_in_program_order(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_OVERLAP", "0")
    model, opt = _dense_model(), tf.keras.optimizers.Adam(1e-2)
    x, y = tf.ones([8, 512]), tf.ones([8, 4])
    steps = tf.function(_dense_step(model, opt)).get_concrete_function(x, y).plan.steps
    assert not any(s.launch or s.joins for s in steps)
    assert any(s.fused for s in steps)                   # the fusion itself stays on
