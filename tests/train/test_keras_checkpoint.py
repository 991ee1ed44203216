"""Checkpoints of Keras models and optimizers, exchanged with TensorFlow 2.21 both ways."""
import numpy as np
import pytest

import tapeflow as tf


def _seed_cnn_functional(mod):
    """The seed tutorial's CNN (functional API)."""
    keras = mod.keras
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(32, 3, activation="relu")(inputs)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def _seed_cnn_subclassed(mod):
    """The seed tutorial's CNN (subclassed), built on the seed's input shape."""
    keras = mod.keras

    class CustomModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv1 = keras.layers.Conv2D(32, 3, activation="relu")
            self.conv2 = keras.layers.Conv2D(64, 3, activation="relu")
            self.flatten = keras.layers.Flatten()
            self.fc1 = keras.layers.Dense(128, activation="relu")
            self.fc2 = keras.layers.Dense(10, activation="softmax")

        def call(self, x):
            return self.fc2(self.fc1(self.flatten(self.conv2(self.conv1(x)))))
    model = CustomModel()
    model(np.zeros((1, 28, 28, 1), np.float32))
    return model


def _small(mod):
    keras = mod.keras
    inputs = keras.Input((4,))
    x = keras.layers.Dense(5, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def _data(shape, classes, n=8):
    rng = np.random.default_rng(0)
    return rng.random((n,) + shape, dtype=np.float32), rng.integers(0, classes, n)


def _compile(mod, model):
    opt = mod.keras.optimizers.Adam(1e-3)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    return opt


def _weights(model):
    return [w.numpy() for w in model.trainable_weights + model.non_trainable_weights]


def _exchange(real_tf, tmp_path, make, tf_first):
    """The writer trains two steps and saves; the reader restores; both take one more step:
    same loss and same weights."""
    x, y = _data((28, 28, 1), 10)
    writer_mod, reader_mod = (real_tf, tf) if tf_first else (tf, real_tf)
    writer = make(writer_mod)
    w_opt = _compile(writer_mod, writer)
    for _ in range(2):
        writer.train_on_batch(x, y)
    writer_mod.train.Checkpoint(model=writer, optimizer=w_opt).save(str(tmp_path / "ckpt"))
    reader = make(reader_mod)
    r_opt = _compile(reader_mod, reader)
    status = reader_mod.train.Checkpoint(model=reader, optimizer=r_opt).restore(
        reader_mod.train.latest_checkpoint(str(tmp_path)))
    for a, b in zip(_weights(writer), _weights(reader)):
        np.testing.assert_array_equal(a, b)
    loss_w = float(writer.train_on_batch(x, y))
    loss_r = float(reader.train_on_batch(x, y))
    status.assert_consumed()            # the optimizer's slots were restored at its first step
    assert int(r_opt.iterations.numpy()) == 3
    np.testing.assert_allclose(loss_r, loss_w, rtol=1e-5)
    # Adam divides by sqrt(v) + 1e-7: where a gradient is near zero, float32 rounding
    # differences between the frameworks' gradients move a weight by up to ~2e-5 (seen);
    # unrestored slots would move it by ~1e-3 (a full first Adam step).
    for a, b in zip(_weights(writer), _weights(reader)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=5e-5)


@pytest.mark.parametrize("make", [_seed_cnn_functional, _seed_cnn_subclassed],
                         ids=["functional", "subclassed"])
def test_tensorflow_checkpoint_restores_into_tapeflow(tmp_path, real_tf, make):
    _exchange(real_tf, tmp_path, make, tf_first=True)


@pytest.mark.parametrize("make", [_seed_cnn_functional, _seed_cnn_subclassed],
                         ids=["functional", "subclassed"])
def test_tapeflow_checkpoint_restores_into_tensorflow(tmp_path, real_tf, make):
    _exchange(real_tf, tmp_path, make, tf_first=False)


_STACKS = {
    "dense-dropout": (lambda L: [L.Dense(3), L.Dropout(0.1), L.Dense(2)], (1, 4), "float32"),
    "conv-bn-pool": (lambda L: [L.Conv2D(2, 3), L.BatchNormalization(), L.MaxPooling2D(),
                                L.Flatten(), L.Dense(2)], (1, 6, 6, 1), "float32"),
    "embedding-lstm": (lambda L: [L.Embedding(10, 4), L.LSTM(3)], (1, 5), "int32"),
    "bidirectional-gru": (lambda L: [L.Embedding(10, 4), L.Bidirectional(L.GRU(3)),
                                     L.LayerNormalization()], (1, 5), "int32"),
    "simple-rnn-conv1d": (lambda L: [L.Conv1D(2, 2), L.SimpleRNN(3)], (1, 5, 2), "float32"),
}


@pytest.mark.parametrize("stack", sorted(_STACKS))
def test_sequential_keys_and_values_exchange_with_tensorflow(tmp_path, real_tf, stack):
    layers, shape, dtype = _STACKS[stack]
    x = np.ones(shape, dtype)

    def make(mod):
        model = mod.keras.Sequential(layers(mod.keras.layers))
        model(x)
        return model
    ours, theirs = make(tf), make(real_tf)
    path = tf.train.Checkpoint(model=ours).write(str(tmp_path / "ours"))
    theirs_path = real_tf.train.Checkpoint(model=theirs).write(str(tmp_path / "theirs"))
    assert [n for n, _ in tf.train.list_variables(path)] == \
        [n for n, _ in real_tf.train.list_variables(theirs_path)]
    real_tf.train.Checkpoint(model=theirs).read(path).assert_consumed()
    np.testing.assert_allclose(theirs(x).numpy(), ours(x).numpy(), rtol=1e-5, atol=1e-6)


def test_optimizer_keys_match_tensorflow(tmp_path, real_tf):
    def run(mod, opt):
        v = mod.Variable([1.0, 2.0])
        w = mod.Variable([[3.0]])
        opt.apply_gradients([(mod.constant([0.5, 0.5]), v), (mod.constant([[1.0]]), w)])
        return mod.train.Checkpoint(opt=opt, v=v, w=w)
    for name, kwargs in [("SGD", {"momentum": 0.9}), ("Adam", {"amsgrad": True}),
                         ("RMSprop", {"momentum": 0.5, "centered": True}), ("Adagrad", {})]:
        ours = run(tf, getattr(tf.keras.optimizers, name)(**kwargs)).write(
            str(tmp_path / f"o{name}"))
        theirs = run(real_tf, getattr(real_tf.keras.optimizers, name)(**kwargs)).write(
            str(tmp_path / f"t{name}"))
        assert tf.train.list_variables(ours) == [
            (n, s) for n, s in real_tf.train.list_variables(theirs)], name
        r_ours, r_theirs = tf.train.load_checkpoint(ours), real_tf.train.load_checkpoint(theirs)
        for n, _ in tf.train.list_variables(ours):
            if n != "_CHECKPOINTABLE_OBJECT_GRAPH":
                np.testing.assert_allclose(r_ours.get_tensor(n), r_theirs.get_tensor(n),
                                           rtol=1e-6, err_msg=f"{name} {n}")


def test_delayed_restoration_before_build(tmp_path):
    source = tf.keras.Sequential([tf.keras.layers.Dense(3), tf.keras.layers.Dense(2)])
    source(np.ones((1, 4), np.float32))
    path = tf.train.Checkpoint(model=source).write(str(tmp_path / "c"))
    target = tf.keras.Sequential([tf.keras.layers.Dense(3), tf.keras.layers.Dense(2)])
    status = tf.train.Checkpoint(model=target).restore(path)
    with pytest.raises(AssertionError):
        status.assert_consumed()                 # nothing to restore into yet
    target(np.ones((1, 4), np.float32))         # builds: the waiting values apply now
    status.assert_consumed()
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_delayed_restoration_from_tensorflow_subclassed(tmp_path, real_tf):
    def make(mod):
        class Net(mod.keras.Model):
            def __init__(self):
                super().__init__()
                self.hidden = mod.keras.layers.Dense(4, activation="relu")
                self.out = mod.keras.layers.Dense(1)

            def call(self, x):
                return self.out(self.hidden(x))
        return Net()
    theirs = make(real_tf)
    theirs(np.ones((2, 3), np.float32))
    real_tf.train.Checkpoint(net=theirs).save(str(tmp_path / "c"))
    ours = make(tf)
    tf.train.Checkpoint(net=ours).restore(tf.train.latest_checkpoint(str(tmp_path)))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-6)


def test_optimizer_slots_restored_when_created(tmp_path):
    model = _small(tf)
    opt = tf.keras.optimizers.Adam(0.1)
    model.compile(opt, "mse")
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 4), np.float32), rng.random((4, 2), np.float32)
    model.train_on_batch(x, y)
    path = tf.train.Checkpoint(model=model, optimizer=opt).write(str(tmp_path / "c"))
    slots = [v.numpy() for v in opt._momentums]
    model2 = _small(tf)
    opt2 = tf.keras.optimizers.Adam(0.1)
    model2.compile(opt2, "mse")
    tf.train.Checkpoint(model=model2, optimizer=opt2).restore(path)
    assert not opt2.built
    model2.train_on_batch(x, y)
    model.train_on_batch(x, y)
    for a, b in zip(opt._momentums, opt2._momentums):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert not np.array_equal(slots[-1], opt._momentums[-1].numpy())


def test_checkpoint_of_another_model_is_refused_and_assigns_nothing(tmp_path):
    other = tf.keras.Sequential([tf.keras.layers.Dense(3), tf.keras.layers.Dense(2)])
    other(np.ones((1, 5), np.float32))
    path = tf.train.Checkpoint(model=other).write(str(tmp_path / "c"))
    model = tf.keras.Sequential([tf.keras.layers.Dense(3), tf.keras.layers.Dense(2)])
    model(np.ones((1, 4), np.float32))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"kernel.*\(4, 3\).*\(5, 3\).*another model"):
        tf.train.Checkpoint(model=model).restore(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_optimizer_compiled_after_restore_gets_its_state(tmp_path):
    model = _small(tf)
    opt = tf.keras.optimizers.Adam(0.1)
    model.compile(opt, "mse")
    rng = np.random.default_rng(1)
    x, y = rng.random((4, 4), np.float32), rng.random((4, 2), np.float32)
    model.train_on_batch(x, y)
    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "c"))
    fresh = _small(tf)
    tf.train.Checkpoint(model=fresh).restore(path)      # no optimizer yet
    fresh.compile(tf.keras.optimizers.Adam(0.1), "mse")
    fresh.train_on_batch(x, y)                            # builds it: its state arrives
    model.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_unrelated_builds_do_not_replay_a_failed_restore(tmp_path):
    source = tf.keras.Sequential([tf.keras.layers.Dense(3)])
    source(np.ones((1, 5), np.float32))
    path = tf.train.Checkpoint(model=source).write(str(tmp_path / "c"))
    target = tf.keras.Sequential([tf.keras.layers.Dense(3)])
    tf.train.Checkpoint(model=target).restore(path)       # waits for target's build
    other = tf.keras.layers.Dense(2)
    other(np.ones((1, 4), np.float32))                     # unrelated: nothing happens
    with pytest.raises(ValueError, match="shape"):
        target(np.ones((1, 4), np.float32))                # (4, 3) vs the file's (5, 3)
