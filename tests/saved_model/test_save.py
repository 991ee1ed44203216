"""`tf.saved_model.save`: what tapeflow writes, TensorFlow 2.21's own loader opens.

Each test saves with tapeflow, loads with `tensorflow.saved_model.load` and compares
the loaded functions' values with tapeflow's (skipped when TensorFlow is missing).
"""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.saved_model import _protos, export_ops

X = np.array([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]], np.float32)


# Their references count up one list output (`output:k`), whatever its length.
_CALL_OPS = {"If", "StatelessIf", "While", "StatelessWhile", "Unpack", "SplitV"}


def _node_defs_missing_from_tensorflow(path):
    """(op, problem) for every written NodeDef whose op TF lacks, or whose attributes are
    not TF's (unknown ones, or required ones missing)."""
    from tensorflow.python.framework import op_def_registry
    _, metas = _protos.decode_saved_model((path / "saved_model.pb").read_bytes())
    problems = []
    for fdef in metas[0].graph_def.library.function:
        for node in fdef.node_def:
            op = op_def_registry.get(node.op)
            if op is None:
                problems.append((node.op, "no such TF op"))
                continue
            names = {a.name for a in op.attr}
            required = {a.name for a in op.attr if not a.HasField("default_value")}
            if set(node.attr) - names or required - set(node.attr):
                problems.append((node.op, set(node.attr) ^ (names & (set(node.attr) | required))))
            outputs = tuple(a.name for a in op.output_arg)
            if node.op not in _CALL_OPS and export_ops.output_arg_names(node.op) != outputs:
                problems.append((node.op, f"TF's outputs are {outputs}"))
    return problems


def _save_load(real_tf, obj, path, **kwargs):
    tf.saved_model.save(obj, str(path), **kwargs)
    assert _node_defs_missing_from_tensorflow(path) == []
    return real_tf.saved_model.load(str(path))


class _Dense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


class _Sequential(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = _Dense(3, 3)
        self.dense_2 = _Dense(3, 2)

    @tf.function
    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


def test_method_multiplying_by_a_variable_gives_tapeflows_values(real_tf, tmp_path):
    class MyModule(tf.Module):
        def __init__(self):
            super().__init__()
            self.weight = tf.Variable(3)

        @tf.function
        def multiply(self, x):
            return x * self.weight

    module = MyModule()
    expected = module.multiply(tf.constant([1, 2, 3])).numpy()
    loaded = _save_load(real_tf, module, tmp_path / "m")
    np.testing.assert_array_equal(loaded.multiply(real_tf.constant([1, 2, 3])).numpy(),
                                  expected)


def test_module_called_with_python_lists_is_called_the_same_way_after_loading(real_tf,
                                                                             tmp_path):
    model = _Sequential(name="the_model")
    first = model([[2.0, 2.0, 2.0]]).numpy()
    second = model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]).numpy()
    loaded = _save_load(real_tf, model, tmp_path / "seq")
    np.testing.assert_allclose(loaded([[2.0, 2.0, 2.0]]).numpy(), first, rtol=1e-6)
    np.testing.assert_allclose(loaded([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]).numpy(), second,
                               rtol=1e-6)


def test_variables_keep_values_names_and_trainability(real_tf, tmp_path):
    model = _Sequential()
    model.steps = tf.Variable(7, trainable=False, name="steps")
    model([[1.0, 2.0, 3.0]])
    loaded = _save_load(real_tf, model, tmp_path / "v")
    np.testing.assert_array_equal(loaded.dense_1.w.numpy(), model.dense_1.w.numpy())
    np.testing.assert_array_equal(loaded.dense_2.b.numpy(), model.dense_2.b.numpy())
    assert loaded.dense_1.w.name == "w:0" and loaded.dense_1.w.trainable
    assert loaded.steps.numpy() == 7 and not loaded.steps.trainable


def test_lists_and_dicts_of_modules_and_variables_are_restored(real_tf, tmp_path):
    class Holder(tf.Module):
        def __init__(self):
            super().__init__()
            self.layers = [_Dense(3, 2), _Dense(2, 1)]
            self.table = {"scale": tf.Variable(2.0), "shift": tf.Variable([1.0, -1.0])}

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def __call__(self, x):
            h = self.layers[0](x) * self.table["scale"] + self.table["shift"]
            return self.layers[1](h)

    holder = Holder()
    expected = holder(X).numpy()
    loaded = _save_load(real_tf, holder, tmp_path / "h")
    np.testing.assert_allclose(loaded(X).numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(loaded.layers[1].w.numpy(), holder.layers[1].w.numpy())
    assert float(loaded.table["scale"].numpy()) == 2.0


class _Structured(tf.Module):
    def __init__(self):
        self.v = tf.Variable([1.0, 2.0])
        self.alias = self.v

    @tf.function
    def nested(self, d, scale=2.0):
        return {"sum": d["a"] + d["b"] * scale, "pair": (d["a"], self.v)}

    @tf.function
    def constant(self):
        return tf.constant([1, 2, 3])

    @tf.function
    def variable(self):
        return self.v


def test_nested_arguments_results_literals_and_returned_variables(real_tf, tmp_path):
    module = _Structured()
    d = {"a": tf.constant([1.0, 1.0]), "b": tf.constant([3.0, 4.0])}
    expected = [module.nested(d), module.nested(d, scale=3.0)]
    module.constant(), module.variable()
    loaded = _save_load(real_tf, module, tmp_path / "nested")
    real_d = {k: real_tf.constant(v.numpy()) for k, v in d.items()}
    for got, want in zip([loaded.nested(real_d), loaded.nested(real_d, scale=3.0)], expected):
        np.testing.assert_array_equal(got["sum"].numpy(), want["sum"].numpy())
        np.testing.assert_array_equal(got["pair"][1].numpy(), want["pair"][1].numpy())
    np.testing.assert_array_equal(loaded.constant().numpy(), [1, 2, 3])
    np.testing.assert_array_equal(loaded.variable().numpy(), [1.0, 2.0])
    assert loaded.alias is loaded.v


def test_model_without_signatures_has_an_empty_signature_map(real_tf, tmp_path):
    loaded = _save_load(real_tf, _Structured(), tmp_path / "nosig")
    assert dict(loaded.signatures) == {}


def test_saving_again_into_the_directory_replaces_the_model(real_tf, tmp_path):
    module = _Structured()
    module.variable()
    tf.saved_model.save(module, str(tmp_path / "m"))
    module.v.assign([5.0, 6.0])
    loaded = _save_load(real_tf, module, tmp_path / "m")
    np.testing.assert_array_equal(loaded.variable().numpy(), [5.0, 6.0])


def test_input_signature_function_is_traced_at_save_time(real_tf, tmp_path):
    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.k = tf.Variable(1.5)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def scale(self, x):
            return x * self.k

    loaded = _save_load(real_tf, Scale(), tmp_path / "s")     # never called before saving
    np.testing.assert_allclose(loaded.scale(real_tf.constant([2.0, 4.0, 6.0])).numpy(),
                               [3.0, 6.0, 9.0])


def test_signatures_argument_gives_a_keyword_serving_default(real_tf, tmp_path):
    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.dense = _Dense(3, 2)

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def predict(self, x):
            y = self.dense(x)
            return {"scores": y, "best": tf.argmax(y, axis=1)}

    model = Model()
    expected = model.predict(X)
    loaded = _save_load(real_tf, model, tmp_path / "sig", signatures=model.predict)
    out = loaded.signatures["serving_default"](x=real_tf.constant(X))
    assert sorted(out) == ["best", "scores"]
    np.testing.assert_allclose(out["scores"].numpy(), expected["scores"].numpy(), rtol=1e-6)
    np.testing.assert_array_equal(out["best"].numpy(), expected["best"].numpy())


def test_graph_loaders_restore_variables_and_run_the_signature(real_tf, tmp_path):
    """TF 1-style loading (as TensorFlow Serving does): the SaverDef's restore, then the
    SignatureDef's tensors; the saver's save writes a checkpoint TF reads."""
    model = _Sequential()
    model.predict = tf.function(lambda x: {"y": model(x)},
                                input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    expected = model.predict(X)["y"].numpy()
    _save_load(real_tf, model, tmp_path / "v1", signatures=model.predict)
    v1 = real_tf.compat.v1
    with v1.Session(graph=real_tf.Graph()) as sess:
        meta = v1.saved_model.loader.load(sess, ["serve"], str(tmp_path / "v1"))
        sig = meta.signature_def["serving_default"]
        got = sess.run(sig.outputs["y"].name, {sig.inputs["x"].name: X})
        saver = v1.train.Saver(saver_def=meta.saver_def)
        written = saver.save(sess, str(tmp_path / "ckpt" / "model"))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    reader = real_tf.train.load_checkpoint(written)
    np.testing.assert_array_equal(
        reader.get_tensor("dense_1/w/.ATTRIBUTES/VARIABLE_VALUE"), model.dense_1.w.numpy())


def test_checkpoint_root_with_one_input_signature_function_serves_it(real_tf, tmp_path):
    v = tf.Variable(2.0)
    fn = tf.function(lambda x: x * v, input_signature=[tf.TensorSpec([], tf.float32)])
    loaded = _save_load(real_tf, tf.train.Checkpoint(v=v, f=fn), tmp_path / "ckpt")
    assert loaded.f(real_tf.constant(3.0)).numpy() == 6.0
    assert list(loaded.signatures) == ["serving_default"]


def test_several_signatures_from_functions_and_concrete_functions(real_tf, tmp_path):
    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.k = tf.Variable(3.0)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def scale(self, x):
            return x * self.k

        @tf.function
        def shift(self, x, y):
            return [x + self.k, y - self.k]

    model = Model()
    shift = model.shift.get_concrete_function(tf.TensorSpec([2], tf.float32),
                                              tf.TensorSpec([], tf.float32))
    loaded = _save_load(real_tf, model, tmp_path / "sigs",
                        signatures={"scale": model.scale, "shift": shift})
    assert sorted(loaded.signatures) == ["scale", "shift"]
    out = loaded.signatures["shift"](x=real_tf.constant([1.0, 2.0]), y=real_tf.constant(1.0))
    np.testing.assert_array_equal(out["output_0"].numpy(), [4.0, 5.0])
    assert out["output_1"].numpy() == -2.0
    np.testing.assert_array_equal(
        loaded.signatures["scale"](x=real_tf.constant([2.0]))["output_0"].numpy(), [6.0])


def test_signature_of_a_function_without_input_signature_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="has no input_signature"):
        tf.saved_model.save(_Sequential(), str(tmp_path / "bad"),
                            signatures=_Sequential().__call__)
    assert not (tmp_path / "bad").exists()


def test_single_tensor_signature_output_is_named_output_0(real_tf, tmp_path):
    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32, name="inputs")])
        def double(self, inputs):
            return inputs * 2.0

    loaded = _save_load(real_tf, Model(), tmp_path / "d")   # the only signature: default
    out = loaded.signatures["serving_default"](inputs=real_tf.constant([1.0, 2.0]))
    np.testing.assert_array_equal(out["output_0"].numpy(), [2.0, 4.0])
    out = loaded.signatures["serving_default"](real_tf.constant([3.0, 4.0]))  # positionally
    np.testing.assert_array_equal(out["output_0"].numpy(), [6.0, 8.0])


def test_assignments_run_in_program_order_in_the_loaded_function(real_tf, tmp_path):
    class Counter(tf.Module):
        def __init__(self):
            super().__init__()
            self.v = tf.Variable(1.0)

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def step(self, x):
            before = self.v.read_value()
            self.v.assign(x)
            self.v.assign_add(2.0)
            self.v.assign_sub(0.5)
            return before, self.v * 10.0

    counter = Counter()
    loaded = _save_load(real_tf, counter, tmp_path / "c")
    expected = [t.numpy() for t in counter.step(tf.constant(4.0))]
    got = [t.numpy() for t in loaded.step(real_tf.constant(4.0))]
    np.testing.assert_allclose(got, expected)
    assert float(loaded.v.numpy()) == float(counter.v.numpy()) == 5.5


def test_small_conv_net_gives_tapeflows_values(real_tf, tmp_path):
    class ConvNet(tf.Module):
        def __init__(self):
            super().__init__()
            self.filters = tf.Variable(tf.random.normal([3, 3, 1, 4], seed=1) * 0.3)
            self.bias = tf.Variable(tf.fill([4], 0.1))
            self.dense = _Dense(4 * 4 * 4, 3)

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32)])
        def __call__(self, images):
            h = tf.nn.conv2d(images, self.filters, strides=1, padding="SAME")
            h = tf.nn.relu(tf.nn.bias_add(h, self.bias))
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
            h = tf.reshape(h, [-1, 4 * 4 * 4])
            return tf.nn.softmax(self.dense.__call__(h))

    net = ConvNet()
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype(np.float32)
    expected = net(images).numpy()
    loaded = _save_load(real_tf, net, tmp_path / "conv")
    np.testing.assert_allclose(loaded(images).numpy(), expected, rtol=1e-5, atol=1e-6)


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


def test_autograph_if_and_loops_run_as_tensorflows_if_and_while(real_tf, tmp_path):
    model = _Branchy()
    loaded = _save_load(real_tf, model, tmp_path / "cf")
    for x in (3.0, -2.0):
        assert loaded.branch(real_tf.constant(x)).numpy() == model.branch(tf.constant(x)).numpy()
    xs = np.array([0.5, 2.0, 3.0, 1.0], np.float32)
    assert loaded.loop(xs).numpy() == model.loop(tf.constant(xs)).numpy()
    assert loaded.count(real_tf.constant(5)).numpy() == model.count(tf.constant(5)).numpy()


class _Accumulating(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None])])
    def doubled(self, x):
        ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(tf.shape(x)[0]):
            ta = ta.write(i, x[i] * 2.0)
        return ta.stack()

    @tf.function(input_signature=[tf.TensorSpec([None, 2])])
    def row_sums(self, x):
        ta = tf.TensorArray(tf.float32, size=2, dynamic_size=True)
        for i in tf.range(tf.shape(x)[0]):
            ta = ta.write(i, tf.reduce_sum(x[i]) + tf.cast(i, tf.float32))
        return ta.stack()

    @tf.function(input_signature=[tf.TensorSpec([3]), tf.TensorSpec([3], tf.int32)])
    def scatter(self, x, ids):
        return (tf.math.unsorted_segment_sum(x, ids, 4) + tf.scatter_nd([[1], [3]], x[:2], [4])
                + tf.tensor_scatter_nd_add(tf.zeros([4]), [[0], [0]], x[1:]))


def test_tensor_arrays_in_loops_and_scatters_give_tapeflows_values(real_tf, tmp_path):
    module = _Accumulating()
    loaded = _save_load(real_tf, module, tmp_path / "ta")
    for n in (0, 3):
        x = np.arange(n, dtype=np.float32)
        np.testing.assert_array_equal(loaded.doubled(x).numpy(), module.doubled(x).numpy())
    for n in (1, 3):
        rows = np.ones((n, 2), np.float32)
        np.testing.assert_array_equal(loaded.row_sums(rows).numpy(),
                                      module.row_sums(rows).numpy())
    x, ids = np.array([1.0, 2.0, 3.0], np.float32), np.array([0, 2, 0], np.int32)
    np.testing.assert_array_equal(loaded.scatter(x, ids).numpy(), module.scatter(x, ids).numpy())


def test_variables_written_inside_branches_and_loops_change_in_tensorflow(real_tf, tmp_path):
    model = _Branchy()
    loaded = _save_load(real_tf, model, tmp_path / "cf")
    loaded.branch(real_tf.constant(-1.0))
    loaded.branch(real_tf.constant(4.0))
    loaded.count(real_tf.constant(3))
    assert loaded.skipped.numpy() == 1 and loaded.ticks.numpy() == 1.5


def test_keras_model_gets_keras_serving_default_signature(real_tf, tmp_path):
    from tapeflow import keras
    model = keras.Sequential([
        keras.layers.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", padding="same"),
        keras.layers.Conv2DTranspose(2, 3, strides=2),
        keras.layers.MaxPooling2D(), keras.layers.BatchNormalization(),
        keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(3, activation="softmax")])
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype(np.float32)
    expected = model(images).numpy()
    loaded = _save_load(real_tf, model, tmp_path / "keras")
    out = loaded.signatures["serving_default"](inputs=real_tf.constant(images))
    assert list(out) == ["output_0"]
    np.testing.assert_allclose(out["output_0"].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_keras_recurrent_and_1d_conv_models_give_tapeflows_values(real_tf, tmp_path):
    from tapeflow import keras
    layers = keras.layers
    model = keras.Sequential([
        layers.Input((6, 2)), layers.Conv1D(4, 3, padding="same"), layers.LSTM(3,
                                                                              return_sequences=True),
        layers.GRU(3, return_sequences=True), layers.SimpleRNN(2),
        layers.LayerNormalization(), layers.Dense(2)])
    x = np.random.default_rng(1).normal(size=(2, 6, 2)).astype(np.float32)
    expected = model(x).numpy()
    loaded = _save_load(real_tf, model, tmp_path / "rnn")
    out = loaded.signatures["serving_default"](inputs=real_tf.constant(x))["output_0"]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_keras_model_with_dict_inputs_names_signature_inputs_as_tensorflow(real_tf, tmp_path):
    from tapeflow import keras
    inputs = {"a": keras.Input((3,), name="a"), "b": keras.Input((2,), name="b")}
    joined = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    model = keras.Model(inputs, keras.layers.Dense(2)(joined))
    a, b = np.ones((1, 3), np.float32), np.full((1, 2), 2.0, np.float32)
    expected = model({"a": a, "b": b}).numpy()
    loaded = _save_load(real_tf, model, tmp_path / "dict")
    out = loaded.signatures["serving_default"](inputs=real_tf.constant(a),
                                               inputs_1=real_tf.constant(b))
    np.testing.assert_allclose(out["output_0"].numpy(), expected, rtol=1e-6)


class _Trainer(tf.Module):
    def __init__(self):
        self.w = tf.Variable(tf.random.normal([3, 2], seed=3))
        self.b = tf.Variable(tf.zeros([2]))
        self.emb = tf.Variable(tf.random.normal([5, 3], seed=4))
        self.filters = tf.Variable(tf.random.normal([2, 2, 1, 2], seed=5))

    @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None, 2]),
                                  tf.TensorSpec([None], tf.int32)])
    def train(self, x, y, ids):
        weights = [self.w, self.b, self.emb, self.filters]
        with tf.GradientTape() as tape:
            x = x + tf.gather(self.emb, ids)
            p = tf.nn.relu(tf.matmul(x, self.w) + self.b)
            images = tf.reshape(tf.concat([p] * 8, 1), [-1, 4, 4, 1])
            c = tf.nn.conv2d(images, self.filters, 1, "SAME")
            c = tf.nn.max_pool2d(c, 2, 2, "VALID") + tf.nn.avg_pool2d(c, 2, 2, "VALID")
            loss = (tf.reduce_mean(tf.square(tf.nn.softmax(p) - y))
                    + tf.reduce_sum(tf.sigmoid(p)) + tf.reduce_mean(tf.tanh(p[:, 0]))
                    + tf.reduce_mean(tf.sqrt(tf.nn.softplus(p) + 1.0))
                    + tf.reduce_sum(tf.sin(p) * tf.cos(p), axis=1)[0]
                    + tf.reduce_mean(c, axis=[1, 2])[0, 1]
                    + tf.reduce_mean(tf.math.rsqrt(p + 1.0), 0, keepdims=True)[0, 0])
        for v, g in zip(weights, tape.gradient(loss, weights)):
            v.assign_sub(0.1 * g)
        return loss


def test_training_step_with_gradients_trains_the_same_in_tensorflow(real_tf, tmp_path):
    trainer = _Trainer()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = rng.normal(size=(4, 2)).astype(np.float32)
    ids = np.array([0, 2, 2, 4], np.int32)
    loaded = _save_load(real_tf, trainer, tmp_path / "train")
    for _ in range(3):
        np.testing.assert_allclose(loaded.train(x, y, ids).numpy(),
                                   trainer.train(x, y, ids).numpy(), rtol=1e-5)
    for name in ("w", "b", "emb", "filters"):
        np.testing.assert_allclose(getattr(loaded, name).numpy(),
                                   getattr(trainer, name).numpy(), rtol=1e-5, atol=1e-6)


class _Seeded(tf.Module):
    def __init__(self):
        self.generator = tf.random.Generator.from_seed(7)

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int32)])
    def draw(self, seed):
        return {"normal": tf.random.stateless_normal([2, 3], seed=seed),
                "uniform": tf.random.stateless_uniform([3], seed=seed, minval=1.0, maxval=2.0),
                "ints": tf.random.stateless_uniform([3], seed=seed, minval=0, maxval=10,
                                                    dtype=tf.int32),
                "truncated": tf.random.stateless_truncated_normal([2], seed=seed),
                "categorical": tf.random.stateless_categorical(
                    tf.math.log([[0.5, 0.5]]), 4, seed=seed),
                "generator": self.generator.normal([3])}


def test_stateless_and_generator_draws_are_tapeflows_numbers_in_tensorflow(real_tf, tmp_path):
    module = _Seeded()
    loaded = _save_load(real_tf, module, tmp_path / "seeded")
    for _ in range(2):              # the generator's state moves on in both
        expected = module.draw(tf.constant([1, 2]))
        got = loaded.draw(real_tf.constant([1, 2]))
        for key in expected:
            np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)


def test_random_ops_draw_in_tensorflow_with_tapeflows_shapes_and_ranges(real_tf, tmp_path):
    class Noisy(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2, 500], tf.float32)])
        def draw(self, x):
            return {"normal": tf.random.normal([2, 500], mean=3.0, stddev=0.5, seed=1),
                    "uniform": tf.random.uniform([2, 500], 1.0, 2.0),
                    "ints": tf.random.uniform([2, 500], 0, 5, dtype=tf.int32),
                    "truncated": tf.random.truncated_normal([2, 500]),
                    "dropped": tf.nn.dropout(x, 0.5)}

    noisy = Noisy()
    expected = noisy.draw(tf.ones([2, 500]))
    got = _save_load(real_tf, noisy, tmp_path / "noisy").draw(np.ones([2, 500], np.float32))
    for key in expected:
        assert got[key].shape == expected[key].shape
        assert got[key].dtype.name == expected[key].dtype.name
    assert abs(float(np.mean(got["normal"])) - 3.0) < 0.1
    assert 1.0 <= np.min(got["uniform"]) and np.max(got["uniform"]) < 2.0
    assert set(np.unique(got["ints"])) <= set(range(5))
    assert np.max(np.abs(got["truncated"])) <= 2.0
    assert set(np.unique(got["dropped"])) == {0.0, 2.0}


class _OptimizerStep(tf.Module):
    def __init__(self, optimizer):
        self.w = tf.Variable([[1.0, -2.0], [0.5, 3.0]])
        self.optimizer = optimizer

    @tf.function(input_signature=[tf.TensorSpec([None, 2])])
    def step(self, x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.matmul(x, self.w) - 1.0))
        self.optimizer.apply_gradients([(tape.gradient(loss, self.w), self.w)])
        return loss


def _optimizers():
    from tapeflow import keras
    opt = keras.optimizers
    return {"sgd": lambda: opt.SGD(0.1),
            "nesterov": lambda: opt.SGD(0.1, momentum=0.9, nesterov=True),
            "adam": lambda: opt.Adam(0.01), "amsgrad": lambda: opt.Adam(0.01, amsgrad=True),
            "rmsprop": lambda: opt.RMSprop(0.01, momentum=0.5, centered=True),
            "adagrad": lambda: opt.Adagrad(0.1), "adamw": lambda: opt.AdamW(0.01, weight_decay=0.1)}


@pytest.mark.parametrize("kind", sorted(_optimizers()))
def test_keras_optimizer_steps_update_the_same_in_tensorflow(real_tf, tmp_path, kind):
    trainer = _OptimizerStep(_optimizers()[kind]())
    x = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    trainer.step(x)                                  # slots exist once a step is traced
    loaded = _save_load(real_tf, trainer, tmp_path / kind)
    for _ in range(3):
        np.testing.assert_allclose(loaded.step(x).numpy(), trainer.step(x).numpy(), rtol=1e-5)
    np.testing.assert_allclose(loaded.w.numpy(), trainer.w.numpy(), rtol=1e-5, atol=1e-6)
    assert loaded.optimizer._iterations.numpy() == trainer.optimizer.iterations.numpy()


# -- every op the writer translates, checked by TensorFlow's loader and kernels ---------------

def _spec(shape=(2, 3), dtype=tf.float32):
    return tf.TensorSpec(shape, dtype)


_OPS = {
    "add_sub_mul_div": (lambda a: (a + 1.0) * a / 3.0 - a, _spec()),
    "neg_square_sqrt_rsqrt": (lambda a: -tf.square(a) + tf.sqrt(a) + tf.math.rsqrt(a), _spec()),
    "exp_log_pow": (lambda a: tf.exp(a) + tf.math.log(a) + a ** 2.5, _spec()),
    "max_min_abs": (lambda a: tf.maximum(a, 1.0) + tf.minimum(a, 1.0) + tf.abs(a - 1.0),
                    _spec()),
    "activations": (lambda a: tf.tanh(a) + tf.sigmoid(a) + tf.nn.relu(a - 1.0)
                    + tf.nn.relu6(a * 4.0) + tf.nn.elu(a - 1.0) + tf.nn.selu(a - 1.0)
                    + tf.nn.softplus(a), _spec()),
    "softmax": (lambda a: tf.nn.softmax(a) + tf.nn.log_softmax(a, axis=0), _spec()),
    "matmul": (lambda a: tf.matmul(a, a, transpose_b=True)
               + tf.matmul(a, a, transpose_a=True)[:2, :2], _spec()),
    "batch_matmul": (lambda a: tf.matmul(tf.reshape(a, [1, 2, 3]), tf.reshape(a, [1, 3, 2])),
                     _spec()),
    "bias_add": (lambda a: tf.nn.bias_add(a, tf.constant([1.0, 2.0, 3.0])), _spec()),
    "reshape_transpose": (lambda a: tf.transpose(tf.reshape(a, [3, -1])), _spec()),
    "reshape_to_traced_shape": (lambda a: tf.reshape(a, tf.stack([tf.shape(a)[0] * 3, -1])),
                                _spec((None, 3))),
    "concat_stack": (lambda a: tf.concat([a, a * 2.0], 1)[:, 2:5]
                     + tf.reduce_sum(tf.stack([a, a], 1), 1), _spec()),
    "unstack": (lambda a: tf.unstack(a, axis=1)[2], _spec()),
    "squeeze_expand": (lambda a: tf.squeeze(tf.expand_dims(a, 0), axis=0) + tf.squeeze(a[:1]),
                       _spec()),
    "shape_fill_zeros": (lambda a: tf.fill(tf.shape(a), 2.0) + tf.zeros_like(a) + tf.ones_like(a),
                         _spec((None, 3))),
    "strided_slice": (lambda a: a[0, 1:] + a[-1, ::-2][:1] + a[..., 1][tf.newaxis, 1], _spec()),
    "slice_gather": (lambda a: tf.slice(a, [0, 1], [2, 2]) + tf.gather(a, [2, 0], axis=1),
                     _spec()),
    "cast": (lambda a: tf.cast(tf.cast(a * 2.0, tf.int32), tf.float32), _spec()),
    "reductions": (lambda a: tf.reduce_sum(a, 1, keepdims=True) + tf.reduce_mean(a)
                   + tf.reduce_max(a, 0) + tf.reduce_min(a) + tf.reduce_prod(a, [0, 1]),
                   _spec((None, 3))),
    "arg_reductions": (lambda a: tf.argmax(a, 1) + tf.argmin(a, 0)[:2], _spec()),
    "comparisons": (lambda a: tf.cast(tf.logical_or(tf.logical_and(a > 1.0, a <= 2.0),
                                                    tf.logical_not(a >= 0.3)), tf.float32)
                    + tf.cast(tf.equal(a, 1.0), tf.float32) - tf.cast(a < 1.0, tf.float32)
                    + tf.cast(tf.not_equal(a, 0.5), tf.float32), _spec()),
    "all_any": (lambda a: tf.logical_and(tf.reduce_all(a > 0.0, 1), tf.reduce_any(a > 2.5, 1)),
                _spec()),
    "where_identity_tile": (lambda a: tf.tile(tf.identity(tf.where(a > 1.0, a, -a)), [2, 1]),
                            _spec()),
    "avg_pool": (lambda a: tf.nn.avg_pool2d(tf.reshape(tf.tile(a, [2, 2]), [1, 4, 3, 2]), 2, 1,
                                            "SAME"), _spec()),
    "one_hot": (lambda a: tf.one_hot(tf.cast(a * 2.0, tf.int64), 4, on_value=2.0,
                                     off_value=-1.0, axis=0), _spec()),
    "cumsum": (lambda a: tf.cumsum(a, axis=1) + tf.cumsum(a, 0, exclusive=True, reverse=True),
               _spec()),
    "split": (lambda a: tf.split(a, [1, 2], axis=1)[1] * tf.split(a, 3, axis=1)[2], _spec()),
    "broadcast_to": (lambda a: tf.broadcast_to(a[0], [4, 3]), _spec()),
    "pad": (lambda a: tf.pad(a, [[1, 0], [0, 2]], constant_values=1.5)
            + tf.pad(a, [[1, 0], [1, 1]], mode="REFLECT"), _spec()),
    "einsum": (lambda a: tf.einsum("ij,kj->ik", a, a), _spec()),
    "top_k": (lambda a: tf.math.top_k(a, 2).values
              + tf.cast(tf.math.top_k(a, 2).indices, tf.float32), _spec()),
    "gather_nd": (lambda a: tf.gather_nd(a, [[0, 1], [1, 2]]), _spec()),
    "where_indices": (lambda a: tf.where(a > 1.0), _spec()),
    "sparse_xent": (lambda a: tf.nn.sparse_softmax_cross_entropy_with_logits([0, 2], a),
                    _spec()),
    "range": (lambda a: tf.cast(tf.range(1, tf.shape(a)[0] * 3, 2), tf.float32), _spec((None, 3))),
}


class _OpModule(tf.Module):
    pass


@pytest.fixture(scope="module")
def saved_ops(real_tf, tmp_path_factory):
    module = _OpModule()
    for name, (fn, spec) in _OPS.items():
        setattr(module, name, tf.function(fn, input_signature=[spec]))
    expected = {name: getattr(module, name)(X).numpy() for name in _OPS}
    path = tmp_path_factory.mktemp("ops") / "ops"
    tf.saved_model.save(module, str(path))
    return real_tf.saved_model.load(str(path)), expected, path


@pytest.mark.parametrize("name", sorted(_OPS))
def test_translated_op_gives_tapeflows_value_in_tensorflow(saved_ops, name):
    loaded, expected, _ = saved_ops
    got = getattr(loaded, name)(X).numpy()
    assert got.dtype == expected[name].dtype
    np.testing.assert_allclose(got, expected[name], rtol=2e-6, atol=1e-6)


_SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], np.float32)


def test_linear_algebra_gives_tapeflows_values_in_tensorflow(real_tf, tmp_path):
    module = _OpModule()
    module.linalg = tf.function(lambda m: {
        "inv": tf.linalg.inv(m), "det": tf.linalg.det(m), "chol": tf.linalg.cholesky(m),
        "solve": tf.linalg.solve(m, m[:, :1]),
        "tri": tf.linalg.triangular_solve(m, m, lower=False),
        "band": tf.linalg.band_part(m, 1, 0), "logdet": tf.linalg.slogdet(m)[1],
        "r_abs": tf.abs(tf.linalg.qr(m)[1]), "s": tf.linalg.svd(m, compute_uv=False),
        "eig": tf.linalg.eigh(m)[0], "diag_part": tf.linalg.diag_part(m),
        "diag": tf.linalg.diag(m[0]), "set_diag": tf.linalg.set_diag(m, m[1]),
        "trace": tf.linalg.trace(m)}, input_signature=[tf.TensorSpec([3, 3], tf.float32)])
    expected = module.linalg(_SPD)
    got = _save_load(real_tf, module, tmp_path / "linalg").linalg(_SPD)
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key].numpy(), expected[key].numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=key)


def test_numbers_as_strings_give_tapeflows_text_in_tensorflow(real_tf, tmp_path):
    module = _OpModule()
    module.text = tf.function(lambda a: tf.strings.as_string(a, precision=2),
                              input_signature=[_spec()])
    expected = module.text(X).numpy()
    loaded = _save_load(real_tf, module, tmp_path / "text")
    np.testing.assert_array_equal(loaded.text(X).numpy(), expected)


def test_string_ops_give_tapeflows_text_in_tensorflow(real_tf, tmp_path):
    module = _OpModule()
    module.text = tf.function(lambda s: {
        "upper": tf.strings.upper(s), "lower": tf.strings.lower(s),
        "length": tf.strings.length(s, unit="UTF8_CHAR"),
        "replaced": tf.strings.regex_replace(s, "a+", "b"),
        "matches": tf.strings.regex_full_match(s, "A.*"),
        "joined": tf.strings.join([s, s], separator="-") + s,
        "number": tf.strings.to_number(tf.strings.regex_replace(s, "[^0-9]", "")),
        "stripped": tf.strings.strip(s), "all": tf.strings.reduce_join(s, separator=",")},
        input_signature=[tf.TensorSpec([2], tf.string)])
    text = np.array([b" Aab12 ", "\u00e9t\u00e98".encode()], dtype=object)
    expected = module.text(text)
    got = _save_load(real_tf, module, tmp_path / "strings").text(real_tf.constant(text))
    for key in expected:
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)


def test_tf_print_prints_tapeflows_text_from_tensorflow(real_tf, tmp_path):
    target = tmp_path / "printed.txt"

    class Printer(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([3])])
        def show(self, a):
            stream = f"file://{target}"
            tf.print("x is", a, {"k": a * 2, "s": "lit{}"}, [1, a], summarize=2, end="!\n",
                     output_stream=stream)
            tf.print(tf.strings.format("a={} b={}", (a, a + 1)), output_stream=stream)
            return a + 1

    printer = Printer()
    printer.show(tf.constant([1.0, 2.0, 3.0]))
    by_tapeflow = target.read_text()
    target.unlink()
    _save_load(real_tf, printer, tmp_path / "print").show(real_tf.constant([1.0, 2.0, 3.0]))
    assert target.read_text() == by_tapeflow


def test_every_written_node_has_tensorflows_op_and_required_attrs(saved_ops):
    _, _, path = saved_ops
    assert _node_defs_missing_from_tensorflow(path) == []
    _, metas = _protos.decode_saved_model((path / "saved_model.pb").read_bytes())
    written = {n.op for f in metas[0].graph_def.library.function for n in f.node_def}
    assert {"MatMul", "BatchMatMulV2", "StridedSlice", "Sum", "ConcatV2", "Fill"} <= written


def test_function_aliases_name_every_trace_of_the_function(tmp_path):
    model = _Sequential()
    model([[1.0, 2.0, 3.0]])
    model(tf.constant([[1.0, 2.0, 3.0]]))
    tf.saved_model.save(model, str(tmp_path / "a"),
                        options=tf.saved_model.SaveOptions(
                            function_aliases={"forward": model.__call__}))
    _, metas = _protos.decode_saved_model((tmp_path / "a" / "saved_model.pb").read_bytes())
    aliases = dict(metas[0].meta_info_def.function_aliases)
    assert sorted(aliases.values()) == ["forward", "forward"]
    assert all(name.startswith("__inference___call___") for name in aliases)


# -- errors -------------------------------------------------------------------------------------

def test_op_without_tensorflow_form_is_named_and_nothing_is_written(tmp_path):
    class CallsPython(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def double(self, x):
            return tf.numpy_function(lambda v: v * 2, [x], tf.float32)

    path = tmp_path / "py"
    with pytest.raises(ValueError, match=r"the op 'PyFunc' in function 'double'"):
        tf.saved_model.save(CallsPython(), str(path))
    assert not path.exists()


def test_export_dir_that_is_a_file_is_an_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a directory")
    with pytest.raises(FileExistsError, match="is an existing file"):
        tf.saved_model.save(_Sequential(), str(target))
    assert target.read_text() == "not a directory"


def test_object_that_is_not_trackable_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="Expected an object of type `Trackable`"):
        tf.saved_model.save(object(), str(tmp_path / "x"))
    assert not os.path.exists(tmp_path / "x")


def test_variable_not_reachable_from_the_root_is_an_error(tmp_path):
    outside = tf.Variable(2.0)

    class UsesGlobal(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def f(self, x):
            return x * outside

    with pytest.raises(ValueError, match="not reachable from the object being saved"):
        tf.saved_model.save(UsesGlobal(), str(tmp_path / "g"))
