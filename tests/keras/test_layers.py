"""Layer behaviour: names, weights, dtypes, configs, shapes against TF, gradient checks."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

L = keras.layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


# -- names and weights -------------------------------------------------------------------

def test_layer_names_are_unique_per_class_in_creation_order():
    names = [L.Dense(1).name, L.Dense(1).name, L.Conv2D(1, 1).name, L.Flatten().name,
             L.MaxPool2D().name, L.BatchNormalization().name, L.Dense(1).name]
    assert names == ["dense", "dense_1", "conv2d", "flatten", "max_pooling2d",
                     "batch_normalization", "dense_2"]


def test_input_layers_are_numbered_from_one():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(3,))
    assert [a._keras_history[0].name, b._keras_history[0].name] == ["input_1", "input_2"]


def test_dense_weight_names_and_gradient_shapes_match_seed_001():
    layer = L.Dense(2, activation="relu")
    x = tf.constant([[1., 2., 3.]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(layer(x) ** 2)
    grads = tape.gradient(loss, layer.trainable_variables)
    lines = [f"{v.name}, shape:{g.shape}" for v, g in zip(layer.trainable_variables, grads)]
    assert lines == ["dense/kernel:0, shape:(3, 2)", "dense/bias:0, shape:(2,)"]


def test_default_initializers_are_glorot_uniform_kernel_and_zero_bias():
    layer = L.Dense(300)
    layer.build(tf.TensorShape([None, 200]))
    limit = np.sqrt(6 / (200 + 300))
    k = layer.kernel.numpy()
    assert abs(k).max() <= limit and abs(k).max() > 0.9 * limit
    assert abs(k.std() - limit / np.sqrt(3)) < 0.02 * limit     # uniform's std
    assert not layer.bias.numpy().any()


def test_float64_inputs_are_cast_to_float32():
    layer = L.Dense(2)
    out = layer(np.ones((1, 3), np.float64))
    assert out.dtype == tf.float32


def test_trainable_false_moves_weights_to_non_trainable():
    layer = L.Dense(2)
    layer(np.ones((1, 3)))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_batchnorm_weights_split_trainable_and_non_trainable():
    bn = L.BatchNormalization()
    bn(np.ones((4, 3)))
    assert [w.name for w in bn.trainable_weights] == ["batch_normalization/gamma:0",
                                                     "batch_normalization/beta:0"]
    assert [w.name for w in bn.non_trainable_weights] == [
        "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]


def test_batchnorm_training_flag_decides_statistics_and_updates():
    bn = L.BatchNormalization(momentum=0.5)
    x = np.array([[1.0], [3.0]], np.float32)
    y_inf = bn(x).numpy()
    np.testing.assert_allclose(y_inf, x / np.sqrt(1 + 1e-3), rtol=1e-6)
    y_train = bn(x, training=True).numpy()
    np.testing.assert_allclose(y_train, [[-1 / np.sqrt(1 + 1e-3)], [1 / np.sqrt(1 + 1e-3)]],
                               rtol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [1.0])        # 0.5*0 + 0.5*2
    np.testing.assert_allclose(bn.moving_variance.numpy(), [1.0])    # 0.5*1 + 0.5*1


def test_training_argument_propagates_to_nested_layers():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.drop = L.Dropout(0.5)

        def call(self, x):
            return self.drop(x)

    net = Net()
    x = np.ones((200, 10), np.float32)
    assert (net(x).numpy() == 1).all()
    y = net(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7


def test_layer_call_on_wrong_last_dim_names_expected_and_received():
    layer = L.Dense(2)
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r'layer "dense".*expected axis -1 of input shape to '
                                         r"have value 3.*\(2, 4\)"):
        layer(np.ones((2, 4)))


def test_conv2d_rejects_inputs_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3.*\(2, 5, 5\)"):
        L.Conv2D(2, 3)(np.ones((2, 5, 5)))


def test_unknown_activation_says_what_is_accepted():
    with pytest.raises(ValueError, match=r"Unknown activation.*received 'rellu'"):
        L.Dense(2, activation="rellu")


# -- configs ------------------------------------------------------------------------------

CONFIG_LAYERS = [
    lambda: L.Dense(3, activation="relu", use_bias=False),
    lambda: L.Conv2D(4, (3, 2), strides=2, padding="same", activation="tanh"),
    lambda: L.MaxPooling2D((2, 2), strides=1, padding="same"),
    lambda: L.AveragePooling2D(3),
    lambda: L.GlobalAveragePooling2D(),
    lambda: L.Flatten(),
    lambda: L.Reshape((2, -1)),
    lambda: L.Dropout(0.25, seed=3),
    lambda: L.BatchNormalization(momentum=0.9, epsilon=1e-5),
    lambda: L.LayerNormalization(epsilon=1e-4),
    lambda: L.Activation("sigmoid"),
    lambda: L.Embedding(10, 4),
    lambda: L.Concatenate(axis=1),
    lambda: L.Add(),
    lambda: L.Rescaling(1 / 255, offset=-0.5),
]


@pytest.mark.parametrize("make", CONFIG_LAYERS)
def test_get_config_round_trips(make):
    layer = make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


# -- output shapes and values against TensorFlow --------------------------------------------

SHAPE_CASES = [
    ("Dense", {"units": 5}, (2, 3)),
    ("Dense", {"units": 5}, (2, 4, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 8, 8, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 3)),
    ("MaxPooling2D", {"pool_size": (2, 2)}, (2, 7, 7, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 3)),
    ("GlobalAveragePooling2D", {}, (2, 5, 5, 3)),
    ("Flatten", {}, (2, 3, 4, 5)),
    ("Reshape", {"target_shape": (6, -1)}, (2, 3, 4)),
    ("LayerNormalization", {}, (2, 3, 4)),
    ("BatchNormalization", {}, (2, 5, 5, 3)),
    ("Rescaling", {"scale": 0.5, "offset": 1.0}, (2, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 9, 3)),
    ("MaxPooling1D", {"pool_size": 2}, (2, 9, 3)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 3)),
    ("GlobalAveragePooling1D", {}, (2, 9, 3)),
    ("GlobalMaxPooling1D", {}, (2, 9, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3}, (2, 4, 4, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": (2, 3), "strides": (2, 1)}, (2, 4, 5, 3)),
    ("UpSampling2D", {"size": (2, 3)}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}, (2, 3, 4, 2)),
    ("Dropout", {"rate": 0.0}, (2, 3)),
    ("Activation", {"activation": "softmax"}, (2, 3)),
]


@pytest.mark.parametrize("name,kwargs,shape", SHAPE_CASES)
def test_layer_matches_tensorflow(real_tf, name, kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours = getattr(L, name)(**kwargs)
    theirs = getattr(real_tf.keras.layers, name)(**kwargs)
    out = ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    for training in (False, True):
        np.testing.assert_allclose(ours(x, training=training).numpy(),
                                   theirs(x, training=training).numpy(), rtol=1e-4, atol=1e-5)
    assert tuple(out.shape.as_list()) == tuple(theirs.compute_output_shape(shape))
    symbolic = ours(keras.Input(shape=shape[1:]))
    assert symbolic.shape.as_list() == [None] + list(theirs.compute_output_shape(shape))[1:]


def test_embedding_matches_tensorflow(real_tf):
    ids = np.array([[1, 2], [3, 0]])
    ours = L.Embedding(5, 3)
    theirs = real_tf.keras.layers.Embedding(5, 3)
    ours(ids), theirs(ids)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(ids).numpy(), theirs(ids).numpy())


# -- gradient checks of every layer's weights ------------------------------------------------

def _check_layer(layer, x, order=2):
    """Checks d(output)/d(input) and d(output)/d(weights) via tensor arguments."""
    layer(x.astype(np.float32))
    names = [n for n in ("kernel", "bias", "gamma", "beta", "embeddings")
             if getattr(layer, n, None) is not None and any(
                 getattr(layer, n) is w for w in layer.trainable_weights)]

    def f(inp, *ws):
        saved = {n: getattr(layer, n) for n in names}
        for n, w in zip(names, ws):
            layer.__dict__[n] = w
        try:
            return layer.call(inp)
        finally:
            layer.__dict__.update(saved)
    args = [x] + [getattr(layer, n).numpy().astype(np.float64) for n in names]
    check_gradients(f, args, order=order)
    assert names or not layer.trainable_weights


@pytest.mark.parametrize("make,shape", [
    (lambda: L.Dense(3, activation="tanh"), (2, 4)),
    (lambda: L.Dense(2, activation="softmax"), (3, 2, 4)),
    (lambda: L.Conv2D(2, 2, activation="sigmoid"), (1, 4, 4, 2)),
    (lambda: L.Conv2D(2, 3, strides=2, padding="same"), (1, 5, 5, 1)),
    (lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same"), (1, 3, 3, 2)),
    (lambda: L.Conv1D(2, 2), (1, 5, 2)),
    (lambda: L.UpSampling2D(), (1, 2, 2, 2)),
    (lambda: L.LayerNormalization(), (3, 4)),
    (lambda: L.AveragePooling2D(2), (1, 4, 4, 2)),
    (lambda: L.MaxPooling2D(2), (1, 4, 4, 2)),
    (lambda: L.Flatten(), (2, 2, 3)),
    (lambda: L.Reshape((3, 2)), (2, 6)),
    (lambda: L.GlobalAveragePooling2D(), (1, 3, 3, 2)),
])
def test_layer_gradients_numeric_vs_analytic(make, shape):
    x = np.random.default_rng(1).standard_normal(shape)
    _check_layer(make(), x)


def test_batchnorm_training_gradients_numeric_vs_analytic():
    bn = L.BatchNormalization(dtype="float64")
    x = np.random.default_rng(2).standard_normal((4, 3))
    bn(x)

    def f(inp, gamma, beta):
        bn.__dict__.update(gamma=gamma, beta=beta)
        return bn.call(inp, training=True)
    check_gradients(f, [x, bn.gamma.numpy() + 0.5, bn.beta.numpy()])


def test_embedding_gradient_numeric_vs_analytic():
    emb = L.Embedding(5, 3)
    emb(np.array([0]))
    ids = np.array([[1, 4], [1, 0]])
    check_gradients(lambda table: tf.gather(table, ids),
                    [emb.embeddings.numpy().astype(np.float64)])


@pytest.mark.parametrize("name", ["Concatenate", "Add", "Subtract", "Multiply", "Average",
                                  "Maximum", "Minimum"])
def test_merge_layers_match_tensorflow(real_tf, name):
    r = np.random.default_rng(0)
    a, b = r.standard_normal((2, 3)).astype(np.float32), r.standard_normal((2, 3)).astype(
        np.float32)
    np.testing.assert_allclose(getattr(L, name)()([a, b]).numpy(),
                               getattr(real_tf.keras.layers, name)()([a, b]).numpy(), rtol=1e-6)


def test_merge_layers():
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    assert L.Concatenate()([a, b]).shape == tf.TensorShape([2, 6])
    np.testing.assert_allclose(L.Add()([a, b]).numpy(), 3.0)
    with pytest.raises(ValueError, match=r"list of at least 2 inputs; received 1"):
        L.Add()(a)


def test_integer_inputs_are_cast_except_for_embedding():
    assert L.Dense(2)(np.array([[1, 2]])).dtype == tf.float32
    inp = keras.Input(shape=(3,), dtype="int32")
    model = keras.Model(inp, L.Dense(1)(L.Flatten()(L.Embedding(10, 2)(inp))))
    assert model(np.array([[1, 2, 9]])).shape == tf.TensorShape([1, 1])


def test_dropout_gradient_is_the_scaled_mask():
    x = tf.constant(np.ones((50, 4), np.float32))
    drop = L.Dropout(0.3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = drop(x, training=True)
        total = tf.reduce_sum(y)
    g = tape.gradient(total, x)
    np.testing.assert_allclose(g.numpy(), y.numpy())        # y = 1 * mask
    np.testing.assert_allclose(np.unique(y.numpy()), [0.0, 1 / 0.7], rtol=1e-6)


def test_dropout_gradient_passes_the_checker_with_a_fixed_mask():
    drop = L.Dropout(0.3, seed=4)

    def f(x):
        tf.random.set_seed(0)          # the same mask at every evaluation
        return drop(x, training=True)
    check_gradients(f, [np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)])


def test_frozen_batchnorm_runs_in_inference_mode():
    bn = L.BatchNormalization()
    x = np.array([[1.0], [3.0]], np.float32)
    bn.trainable = False
    np.testing.assert_allclose(bn(x, training=True).numpy(), bn(x).numpy())
    np.testing.assert_allclose(bn.moving_mean.numpy(), [0.0])


def test_activity_regularizer_and_initial_weights_as_keras(real_tf):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    w = [np.full((3, 2), 0.5, np.float32), np.ones(2, np.float32)]
    ours = L.Dense(2, activity_regularizer="l2", weights=w)
    theirs = real_tf.keras.layers.Dense(2, activity_regularizer="l2")
    ours(x), theirs(x)
    theirs.set_weights(w)
    np.testing.assert_array_equal(ours.kernel.numpy(), w[0])
    ours(x), theirs(x)
    assert len(ours.losses) == 1
    np.testing.assert_allclose(float(ours.losses[0]), float(theirs.losses[0]), rtol=1e-5)
    assert L.Dense.from_config(ours.get_config()).get_config()["activity_regularizer"] == {
        "class_name": "L2", "config": {"l2": 0.01}}


def test_building_by_hand_then_calling_builds_once():
    class Custom(L.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1], 2))

        def call(self, x):
            return tf.matmul(x, self.w)

    layer = Custom()
    layer.build(tf.TensorShape([None, 3]))
    assert layer.built
    layer(np.ones((1, 3)))
    assert len(layer.weights) == 1


def test_normalization_adapt_matches_tensorflow(real_tf):
    data = np.random.default_rng(0).standard_normal((50, 3)) * [1, 10, 100] + [0, 5, -5]
    ours, theirs = L.Normalization(), real_tf.keras.layers.Normalization()
    ours.adapt(data)
    theirs.adapt(data)
    x = data[:4].astype(np.float32)
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-4, atol=1e-5)
    assert [w.name for w in ours.weights] == ["normalization/mean:0", "normalization/variance:0",
                                             "normalization/count:0"]
    assert ours.count_params() == 7


def test_leaky_relu_layer_matches_tensorflow():
    tf_real = pytest.importorskip("tensorflow")
    x = np.array([[-2.0, -0.5, 0.0, 1.5]], dtype=np.float32)
    for kwargs in ({}, {"negative_slope": 0.1}):
        ours = tf.keras.layers.LeakyReLU(**kwargs)(x).numpy()
        theirs = tf_real.keras.layers.LeakyReLU(**kwargs)(x).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_leaky_relu_layer_rejects_a_negative_slope():
    with pytest.raises(ValueError, match="negative_slope"):
        tf.keras.layers.LeakyReLU(negative_slope=-1.0)
