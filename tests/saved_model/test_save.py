"""`tf.saved_model.save`: what tapeflow writes, TensorFlow 2.21's own loader opens.

Each test saves with tapeflow, loads with `tensorflow.saved_model.load` and compares
the loaded functions' values with tapeflow's (skipped when TensorFlow is missing).
"""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.saved_model import _protos

_X = np.array([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]], np.float32)


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


def test_method_multiplying_by_a_variable_gives_tapeflows_values(save_load, real_tf, tmp_path):
    class MyModule(tf.Module):
        def __init__(self):
            super().__init__()
            self.weight = tf.Variable(3)

        @tf.function
        def multiply(self, x):
            return x * self.weight

    module = MyModule()
    expected = module.multiply(tf.constant([1, 2, 3])).numpy()
    loaded = save_load(module, tmp_path / "m")
    np.testing.assert_array_equal(loaded.multiply(real_tf.constant([1, 2, 3])).numpy(),
                                  expected)


def test_module_called_with_python_lists_is_called_the_same_way_after_loading(save_load, tmp_path):
    model = _Sequential(name="the_model")
    first = model([[2.0, 2.0, 2.0]]).numpy()
    second = model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]).numpy()
    loaded = save_load(model, tmp_path / "seq")
    np.testing.assert_allclose(loaded([[2.0, 2.0, 2.0]]).numpy(), first, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]).numpy(), second,
                               rtol=1e-5, atol=1e-6)


def test_variables_keep_values_names_and_trainability(save_load, tmp_path):
    model = _Sequential()
    model.steps = tf.Variable(7, trainable=False, name="steps")
    model([[1.0, 2.0, 3.0]])
    loaded = save_load(model, tmp_path / "v")
    np.testing.assert_array_equal(loaded.dense_1.w.numpy(), model.dense_1.w.numpy())
    np.testing.assert_array_equal(loaded.dense_2.b.numpy(), model.dense_2.b.numpy())
    assert loaded.dense_1.w.name == "w:0" and loaded.dense_1.w.trainable
    assert loaded.steps.numpy() == 7 and not loaded.steps.trainable


def test_lists_and_dicts_of_modules_and_variables_are_restored(save_load, tmp_path):
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
    expected = holder(_X).numpy()
    loaded = save_load(holder, tmp_path / "h")
    np.testing.assert_allclose(loaded(_X).numpy(), expected, rtol=1e-5, atol=1e-6)
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


def test_nested_arguments_results_literals_and_returned_variables(save_load, real_tf, tmp_path):
    module = _Structured()
    d = {"a": tf.constant([1.0, 1.0]), "b": tf.constant([3.0, 4.0])}
    expected = [module.nested(d), module.nested(d, scale=3.0)]
    module.constant(), module.variable()
    loaded = save_load(module, tmp_path / "nested")
    real_d = {k: real_tf.constant(v.numpy()) for k, v in d.items()}
    for got, want in zip([loaded.nested(real_d), loaded.nested(real_d, scale=3.0)], expected):
        np.testing.assert_array_equal(got["sum"].numpy(), want["sum"].numpy())
        np.testing.assert_array_equal(got["pair"][1].numpy(), want["pair"][1].numpy())
    np.testing.assert_array_equal(loaded.constant().numpy(), [1, 2, 3])
    np.testing.assert_array_equal(loaded.variable().numpy(), [1.0, 2.0])
    assert loaded.alias is loaded.v


def test_model_without_signatures_has_an_empty_signature_map(save_load, tmp_path):
    loaded = save_load(_Structured(), tmp_path / "nosig")
    assert dict(loaded.signatures) == {}


def test_saving_again_into_the_directory_replaces_the_model(save_load, tmp_path):
    module = _Structured()
    module.variable()
    tf.saved_model.save(module, str(tmp_path / "m"))
    module.v.assign([5.0, 6.0])
    loaded = save_load(module, tmp_path / "m")
    np.testing.assert_array_equal(loaded.variable().numpy(), [5.0, 6.0])


def test_input_signature_function_is_traced_at_save_time(save_load, real_tf, tmp_path):
    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.k = tf.Variable(1.5)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def scale(self, x):
            return x * self.k

    loaded = save_load(Scale(), tmp_path / "s")     # never called before saving
    np.testing.assert_allclose(loaded.scale(real_tf.constant([2.0, 4.0, 6.0])).numpy(),
                               [3.0, 6.0, 9.0])


def test_signatures_argument_gives_a_keyword_serving_default(save_load, real_tf, tmp_path):
    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.dense = _Dense(3, 2)

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def predict(self, x):
            y = self.dense(x)
            return {"scores": y, "best": tf.argmax(y, axis=1)}

    model = Model()
    expected = model.predict(_X)
    loaded = save_load(model, tmp_path / "sig", signatures=model.predict)
    out = loaded.signatures["serving_default"](x=real_tf.constant(_X))
    assert sorted(out) == ["best", "scores"]
    np.testing.assert_allclose(out["scores"].numpy(), expected["scores"].numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(out["best"].numpy(), expected["best"].numpy())


def test_graph_loaders_restore_variables_and_run_the_signature(save_load, real_tf, tmp_path):
    """TF 1-style loading (as TensorFlow Serving does): the SaverDef's restore, then the
    SignatureDef's tensors; the saver's save writes a checkpoint TF reads."""
    model = _Sequential()
    model.predict = tf.function(lambda x: {"y": model(x)},
                                input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    expected = model.predict(_X)["y"].numpy()
    save_load(model, tmp_path / "v1", signatures=model.predict)
    v1 = real_tf.compat.v1
    with v1.Session(graph=real_tf.Graph()) as sess:
        meta = v1.saved_model.loader.load(sess, ["serve"], str(tmp_path / "v1"))
        sig = meta.signature_def["serving_default"]
        got = sess.run(sig.outputs["y"].name, {sig.inputs["x"].name: _X})
        saver = v1.train.Saver(saver_def=meta.saver_def)
        written = saver.save(sess, str(tmp_path / "ckpt" / "model"))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    reader = real_tf.train.load_checkpoint(written)
    np.testing.assert_array_equal(
        reader.get_tensor("dense_1/w/.ATTRIBUTES/VARIABLE_VALUE"), model.dense_1.w.numpy())


def test_checkpoint_root_with_one_input_signature_function_serves_it(save_load, real_tf, tmp_path):
    v = tf.Variable(2.0)
    fn = tf.function(lambda x: x * v, input_signature=[tf.TensorSpec([], tf.float32)])
    loaded = save_load(tf.train.Checkpoint(v=v, f=fn), tmp_path / "ckpt")
    assert loaded.f(real_tf.constant(3.0)).numpy() == 6.0
    assert list(loaded.signatures) == ["serving_default"]


def test_several_signatures_from_functions_and_concrete_functions(save_load, real_tf, tmp_path):
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
    loaded = save_load(model, tmp_path / "sigs",
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


def test_single_tensor_signature_output_is_named_output_0(save_load, real_tf, tmp_path):
    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32, name="inputs")])
        def double(self, inputs):
            return inputs * 2.0

    loaded = save_load(Model(), tmp_path / "d")   # the only signature: default
    out = loaded.signatures["serving_default"](inputs=real_tf.constant([1.0, 2.0]))
    np.testing.assert_array_equal(out["output_0"].numpy(), [2.0, 4.0])
    out = loaded.signatures["serving_default"](real_tf.constant([3.0, 4.0]))  # positionally
    np.testing.assert_array_equal(out["output_0"].numpy(), [6.0, 8.0])


def test_assignments_run_in_program_order_in_the_loaded_function(save_load, real_tf, tmp_path):
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
    loaded = save_load(counter, tmp_path / "c")
    expected = [t.numpy() for t in counter.step(tf.constant(4.0))]
    got = [t.numpy() for t in loaded.step(real_tf.constant(4.0))]
    np.testing.assert_allclose(got, expected)
    assert float(loaded.v.numpy()) == float(counter.v.numpy()) == 5.5


def test_small_conv_net_gives_tapeflows_values(save_load, tmp_path):
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
    loaded = save_load(net, tmp_path / "conv")
    np.testing.assert_allclose(loaded(images).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_keras_model_gets_keras_serving_default_signature(save_load, real_tf, tmp_path):
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
    loaded = save_load(model, tmp_path / "keras")
    out = loaded.signatures["serving_default"](inputs=real_tf.constant(images))
    assert list(out) == ["output_0"]
    np.testing.assert_allclose(out["output_0"].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_keras_recurrent_and_1d_conv_models_give_tapeflows_values(save_load, real_tf, tmp_path):
    from tapeflow import keras
    layers = keras.layers
    model = keras.Sequential([
        layers.Input((6, 2)), layers.Conv1D(4, 3, padding="same"),
        layers.LSTM(3, return_sequences=True), layers.GRU(3, return_sequences=True),
        layers.SimpleRNN(8), layers.LayerNormalization(), layers.Dense(2)])
    x = np.random.default_rng(1).normal(size=(2, 6, 2)).astype(np.float32)
    expected = model(x).numpy()
    loaded = save_load(model, tmp_path / "rnn")
    out = loaded.signatures["serving_default"](inputs=real_tf.constant(x))["output_0"]
    # Six recurrent steps and a normalisation in float32, summed in other orders by TF's
    # kernels: a few units in the last place.
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_keras_model_with_dict_inputs_names_signature_inputs_as_tensorflow(save_load, real_tf,
                                                                         tmp_path):
    from tapeflow import keras
    inputs = {"a": keras.Input((3,), name="a"), "b": keras.Input((2,), name="b")}
    joined = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    model = keras.Model(inputs, keras.layers.Dense(2)(joined))
    a, b = np.ones((1, 3), np.float32), np.full((1, 2), 2.0, np.float32)
    expected = model({"a": a, "b": b}).numpy()
    loaded = save_load(model, tmp_path / "dict")
    out = loaded.signatures["serving_default"](inputs=real_tf.constant(a),
                                               inputs_1=real_tf.constant(b))
    np.testing.assert_allclose(out["output_0"].numpy(), expected, rtol=1e-5, atol=1e-6)


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
