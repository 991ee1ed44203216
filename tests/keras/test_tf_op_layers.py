"""tapeflow functions called on Keras tensors become TFOpLambda layers of the model.

Each model body is written once as `body(module, ...)` and run two ways: by tapeflow
on `keras.Input` tensors (a functional model replays it) and by TensorFlow eagerly
on the data, with Dense layers holding the same weights. Predictions and gradients
must agree. TensorFlow 2.21's Keras 3 refuses TF functions on its Keras tensors, so
eager TF is the reference.
"""
import io
from contextlib import redirect_stdout

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


@pytest.fixture(scope="module")
def ref():
    return pytest.importorskip("tensorflow")


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _tf_dense(ref, layer):
    """A TF Dense layer with the weights of the tapeflow Dense `layer`."""
    kernel, bias = layer.get_weights()
    dense = ref.keras.layers.Dense(kernel.shape[1], activation=layer.get_config()["activation"])
    dense.build((None, kernel.shape[0]))
    dense.set_weights([kernel, bias])
    return dense


def _summary(model):
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.summary()
    return buf.getvalue()


def _mlp_body(m, d1, d2, x):
    """Activations, concat (list of Keras tensors), cast, reshape, reductions,
    matmul with keyword arguments, expand_dims, stack, math functions."""
    h = m.nn.relu(d1(x))                                       # (None, 6)
    positive = m.cast(x > 0.0, m.float32)                      # (None, 4)
    c = m.concat([h, x, positive], axis=-1)                    # (None, 14)
    c = m.math.tanh(c) * 0.5 + m.nn.sigmoid(c)
    r = m.reshape(c, (-1, 2, 7))
    s = m.reduce_mean(r, axis=1)                               # (None, 7)
    e = m.expand_dims(s, -1)                                   # (None, 7, 1)
    outer = m.matmul(e, e, transpose_b=True)                   # (None, 7, 7)
    p = m.reduce_sum(outer, axis=-1) + m.math.reduce_max(r, axis=[1])
    st = m.stack([p, m.math.exp(-m.math.abs(s))], axis=1)      # (None, 2, 7)
    flat = m.reshape(st, [-1, 14])
    return m.nn.softmax(d2(flat))


def _mlp_model():
    d1, d2 = L.Dense(6), L.Dense(3)
    inp = keras.Input((4,))
    model = keras.Model(inp, _mlp_body(tf, d1, d2, inp))
    # Fixed weights (not the random initial ones): the float32 comparisons with TF then
    # check the same arithmetic on every run.
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5
                       for w in model.get_weights()])
    return model, d1, d2


def test_predictions_match_tensorflow_with_the_same_weights(ref):
    model, d1, d2 = _mlp_model()
    x = _data((5, 4))
    expected = _mlp_body(ref, _tf_dense(ref, d1), _tf_dense(ref, d2), ref.constant(x))
    np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    # A traced call (tf.function: unknown batch in the plan) gives the same.
    np.testing.assert_allclose(tf.function(model)(x).numpy(), expected.numpy(), rtol=1e-5,
                               atol=1e-6)
    # Every recorded call is a layer of the model; only the Dense layers have weights.
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Dense") == 2 and kinds.count("TFOpLambda") >= 15
    assert len(model.weights) == 4


def test_gradients_through_the_model_match_tensorflow(ref):
    model, d1, d2 = _mlp_model()
    x = _data((3, 4), seed=1)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(model(xt) * tf.constant([[1.0, -2.0, 3.0]]))
    grads = tape.gradient(loss, [xt] + model.trainable_weights)
    t1, t2 = _tf_dense(ref, d1), _tf_dense(ref, d2)
    xr = ref.constant(x)
    with ref.GradientTape() as rtape:
        rtape.watch(xr)
        rloss = ref.reduce_sum(_mlp_body(ref, t1, t2, xr) * ref.constant([[1.0, -2.0, 3.0]]))
    expected = rtape.gradient(rloss, [xr] + t1.trainable_weights + t2.trainable_weights)
    assert len(grads) == 5
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-4, atol=1e-6)


ACTIVATIONS = [
    ("relu", lambda m, x: m.nn.relu(x)),
    ("relu6", lambda m, x: m.nn.relu6(x * 4.0)),
    ("sigmoid", lambda m, x: m.nn.sigmoid(x)),
    ("tanh", lambda m, x: m.nn.tanh(x)),
    ("softplus", lambda m, x: m.nn.softplus(x)),
    ("elu", lambda m, x: m.nn.elu(x)),
    ("selu", lambda m, x: m.nn.selu(x)),
    ("gelu", lambda m, x: m.nn.gelu(x)),
    ("silu", lambda m, x: m.nn.silu(x)),
    ("leaky_relu", lambda m, x: m.nn.leaky_relu(x, alpha=0.3)),
    ("softmax", lambda m, x: m.nn.softmax(x, axis=-1)),
    ("log_softmax", lambda m, x: m.nn.log_softmax(x)),
    ("l2_normalize", lambda m, x: m.math.l2_normalize(x, axis=1)),
    ("math", lambda m, x: m.math.log1p(m.math.square(x)) + m.math.sqrt(m.math.abs(x) + 1.0)),
    ("maximum", lambda m, x: m.math.maximum(x, 0.5) - m.math.minimum(x, -0.5)),
    ("logsumexp", lambda m, x: m.math.reduce_logsumexp(x, axis=1, keepdims=True) - x),
    ("cumsum", lambda m, x: m.math.cumsum(x, axis=1)),
    ("reduce", lambda m, x: m.stack([m.reduce_min(x, 1), m.reduce_prod(x, 1),
                                     m.math.reduce_std(x, 1), m.reduce_any(x > 1.0, 1) is None
                                     or m.cast(m.reduce_any(x > 1.0, 1), m.float32)], 1)),
    ("where", lambda m, x: m.where(x > 0.0, x, m.zeros_like(x))),
    ("operators", lambda m, x: (1.0 - x) / 3.0 + x ** 2 - -x + abs(x) * x[:, :1]),
]


@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_single_functions_match_tensorflow(ref, name, fn):
    inp = keras.Input((5,))
    model = keras.Model(inp, fn(tf, inp))
    x = _data((4, 5), seed=2)
    np.testing.assert_allclose(model(x).numpy(), fn(ref, ref.constant(x)).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_nested_lists_keyword_arguments_and_runtime_shapes(ref):
    def body(m, a, b):
        grid = m.stack([[a, b], [b, a]])                        # (2, 2, None, 3)
        grid = m.transpose(grid, perm=[2, 0, 1, 3])
        flat = m.reshape(grid, [m.shape(a)[0], 12])             # a list holding a tensor
        joined = m.concat(values=[flat, m.add_n([a, b, a])], axis=-1)
        return m.cast(joined, dtype=m.float64)

    a, b = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([a, b], body(tf, a, b))
    xa, xb = _data((2, 3), 3), _data((2, 3), 4)
    got = model([xa, xb])
    assert got.dtype == tf.float64 and model.output_shape == (None, 15)
    np.testing.assert_allclose(got.numpy(), body(ref, ref.constant(xa), ref.constant(xb)).numpy(),
                               rtol=1e-6)


def test_a_call_returning_several_tensors_is_replayed_whole():
    inp = keras.Input((6,))
    mean, variance = tf.nn.moments(inp, axes=[1], keepdims=True)
    model = keras.Model(inp, (inp - mean) / tf.sqrt(variance + 1e-3))
    x = _data((3, 6), 5)
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    np.testing.assert_allclose(model(x).numpy(), (x - mu) / np.sqrt(var + 1e-3), rtol=1e-5)


def test_summary_rows_name_the_functions():
    inp = keras.Input((4,), name="x")
    y = tf.nn.relu(inp)
    model = keras.Model(inp, tf.concat([y, inp], -1))
    text = _summary(model)
    assert ("tf.nn.relu (TFOpLambda)         (None, 4)            0           x[0][0]"
            in text)
    assert ("tf.concat (TFOpLambda)          (None, 8)            0           tf.nn.relu[0][0]"
            in text)
    assert [layer.name for layer in model.layers] == ["x", "tf.nn.relu", "tf.concat"]
    # A second call of the same function is a second layer, numbered as TF numbers it.
    z = tf.nn.relu(tf.reduce_sum(inp, axis=1) * 2.0)
    names = [layer.name for layer in keras.Model(inp, z).layers]
    assert names == ["x", "tf.math.reduce_sum", "tf.math.multiply", "tf.nn.relu_1"]
    # Python operators are named as TF names them: `+` and `/` apart from tf.add/divide.
    scaled = inp / 255.0 + 1.0
    out = tf.add(tf.divide(scaled, 2.0), 1.0 - scaled[:, :1])
    names = [layer.name for layer in keras.Model(inp, out).layers]
    assert names == ["x", "tf.math.truediv", "tf.__operators__.add", "tf.math.divide",
                     "tf.__operators__.getitem", "tf.math.subtract", "tf.math.add"]


def test_layers_after_recorded_calls_train_with_fit():
    inp = keras.Input((3,))
    hidden = L.Dense(8)(tf.math.l2_normalize(inp, axis=-1) * 3.0)
    out = L.Dense(1)(tf.concat([tf.nn.tanh(hidden), inp], axis=-1))
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    x = _data((64, 3), 6)
    y = x.sum(1, keepdims=True)
    losses = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_saving_names_the_recorded_function_and_weights_still_save(tmp_path):
    inp = keras.Input((4,))
    model = keras.Model(inp, L.Dense(2)(tf.nn.relu(inp)))
    with pytest.raises(ValueError, match=r"tf\.nn\.relu to Keras tensors"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    model.save_weights(tmp_path / "w.npz")
    inp2 = keras.Input((4,))
    other = keras.Model(inp2, L.Dense(2)(tf.nn.relu(inp2)))
    other.load_weights(tmp_path / "w.npz")
    x = _data((2, 4), 7)
    np.testing.assert_allclose(other(x).numpy(), model(x).numpy())


def test_ops_inside_layers_are_not_layers_of_their_own():
    class Scale(L.Layer):
        def call(self, x):
            return tf.nn.relu(x) * 2.0

    inp = keras.Input((2,))
    model = keras.Model(inp, Scale()(inp))
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Scale"]
    np.testing.assert_allclose(model(np.array([[-1.0, 3.0]], np.float32)).numpy(), [[0.0, 6.0]])


def test_a_function_that_needs_a_value_names_the_keras_tensor():
    data, ids = keras.Input((4,)), keras.Input((4,), dtype="int32")
    with pytest.raises(TypeError, match="is a Keras tensor: it has no value until the model"):
        tf.math.segment_sum(data, ids)


def test_eager_tensors_are_untouched():
    x = tf.constant([[-1.0, 2.0]])
    assert type(tf.nn.relu(x)) is tf.Tensor
    np.testing.assert_allclose(tf.concat([x, x * 2.0], -1).numpy(), [[-1.0, 2.0, -2.0, 4.0]])


def test_random_noise_shaped_like_a_keras_tensor_is_drawn_at_each_call():
    inp = keras.Input((3,))
    model = keras.Model(inp, inp + tf.random.normal(tf.shape(inp)))
    assert [layer.name for layer in model.layers[1:]] == ["tf.shape", "tf.random.normal",
                                                           "tf.__operators__.add"]
    x = np.zeros((200, 3), np.float32)
    a, b = model(x).numpy(), model(x).numpy()
    assert a.shape == (200, 3) and not np.array_equal(a, b)
    assert abs(a.std() - 1.0) < 0.15


CALLS = [
    ("nn.relu", lambda m, x: m.nn.relu(x)),
    ("concat", lambda m, x: m.concat([x, x], axis=-1)),
    ("reduce_mean", lambda m, x: m.reduce_mean(x, axis=1)),
    ("math.reduce_mean", lambda m, x: m.math.reduce_mean(x, axis=1)),
    ("add", lambda m, x: m.add(x, 1.0)),
    ("divide", lambda m, x: m.divide(x, 2.0)),
    ("matmul", lambda m, x: m.matmul(x, x, transpose_b=True)),
    ("nn.softmax", lambda m, x: m.nn.softmax(x)),
    ("math.softsign", lambda m, x: m.math.softsign(x)),
    ("nn.moments", lambda m, x: m.nn.moments(x, axes=[1])[0]),
    ("expand_dims", lambda m, x: m.expand_dims(x, -1)),
]


@pytest.mark.parametrize("path,fn", CALLS, ids=[c[0] for c in CALLS])
def test_a_call_is_one_layer_named_as_tensorflow_names_the_function(ref, path, fn):
    from tensorflow.python.util import tf_export as tf_names
    target = ref
    for part in path.split("."):
        target = getattr(target, part)
    inp = keras.Input((5,))
    model = keras.Model(inp, fn(tf, inp))
    # Keras 2 names the layer 'tf.' + TF's canonical name of the function called (one
    # layer, even when the function computes with several ops or operators inside).
    assert [layer.name for layer in model.layers[1:]] == [
        "tf." + tf_names.get_canonical_name_for_symbol(target)]
    x = _data((2, 5), 8)
    np.testing.assert_allclose(model(x).numpy(), fn(ref, ref.constant(x)).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_operators_are_named_by_the_operator_not_by_how_it_is_spelled():
    import operator
    inp = keras.Input((3,))
    out = operator.truediv(operator.add(inp, 1.0), 2.0)      # no `+` or `/` in the bytecode
    assert [layer.name for layer in keras.Model(inp, out).layers[1:]] == [
        "tf.__operators__.add", "tf.math.truediv"]


def test_operators_inside_a_public_function_belong_to_its_layer():
    inp = keras.Input((3,))
    out = tf.math.divide_no_nan(inp, inp - 1.0)          # computes with `/` and `*` inside
    names = [layer.name for layer in keras.Model(inp, out).layers[1:]]
    assert names == ["tf.math.subtract", "tf.math.divide_no_nan"]


def test_keras_activations_and_variable_operators_on_keras_tensors_are_layers():
    inp = keras.Input((3,))
    scale = tf.Variable([1.0, 2.0, 3.0])
    out = scale * tf.keras.activations.relu(inp)
    model = keras.Model(inp, out)
    assert [layer.name for layer in model.layers[1:]] == ["tf.keras.activations.relu",
                                                          "tf.math.multiply"]
    np.testing.assert_allclose(model(np.array([[-1.0, 1.0, 2.0]], np.float32)).numpy(),
                               [[0.0, 2.0, 6.0]])
