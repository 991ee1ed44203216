# ruff: noqa  -- the seed programs' code is kept verbatim (imports, %-formatting)
"""The Keras code of seeds 002, 003 and 004, with only the import changed.

Fast tests feed random arrays of the seeds' shapes (few samples) through the
seeds' own code; the slow test trains the seed CNN on real Fashion-MNIST.
"""
import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _fake(shape_x, classes, n_train=64, n_test=32, label_shape=()):
    r = np.random.default_rng(0)

    def load_data():
        return ((r.integers(0, 256, (n_train,) + shape_x).astype(np.uint8),
                 r.integers(0, classes, (n_train,) + label_shape).astype(np.uint8)),
                (r.integers(0, 256, (n_test,) + shape_x).astype(np.uint8),
                 r.integers(0, classes, (n_test,) + label_shape).astype(np.uint8)))
    return load_data


@pytest.fixture
def fake_datasets(monkeypatch):
    keras.backend.clear_session()
    tf.random.set_seed(0)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", _fake((28, 28), 10))
    monkeypatch.setattr(keras.datasets.cifar100, "load_data",
                        _fake((32, 32, 3), 100, label_shape=(1,)))


def _run(fn):
    buf = io.StringIO()
    with redirect_stdout(buf):
        result = fn()
    return buf.getvalue(), result


def test_seed_004_sequential_functional_subclassed_mnist(fake_datasets):
    def program():
        # ---- seed 004, In [1]-[13], `import tensorflow as tf` -> `import tapeflow as tf`
        import tapeflow as tf
        from tapeflow import keras
        import numpy as np

        gpus = tf.config.experimental.list_physical_devices('GPU')
        if gpus:
            raise AssertionError("no GPU expected")

        mnist = keras.datasets.mnist
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        x_train, x_test = x_train / 255.0, x_test / 255.0
        x_train = x_train[..., np.newaxis]
        x_test = x_test[..., np.newaxis]
        print(len(x_train), len(x_test))

        model = keras.Sequential([
            keras.layers.Conv2D(32, 3, activation='relu'),
            keras.layers.Conv2D(64, 3, activation='relu'),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation='relu'),
            keras.layers.Dense(10, activation='softmax')
        ])
        model.compile(optimizer='adam',
                      loss='sparse_categorical_crossentropy',
                      metrics=['accuracy'])
        model.fit(x_train, y_train, epochs=5)
        results = [model.evaluate(x_test, y_test, verbose=2)]

        inputs = keras.Input(shape=(28, 28, 1))
        x = keras.layers.Conv2D(32, 3, activation='relu')(inputs)
        x = keras.layers.Conv2D(64, 3, activation='relu')(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(128, activation='relu')(x)
        predictions = keras.layers.Dense(10, activation='softmax')(x)
        model = keras.Model(inputs=inputs, outputs=predictions)
        model.compile(optimizer='adam',
                      loss='sparse_categorical_crossentropy',
                      metrics=['accuracy'])
        model.fit(x_train, y_train, epochs=5)
        results.append(model.evaluate(x_test, y_test, verbose=2))

        class CustomModel(keras.Model):
            def __init__(self):
                super().__init__()
                self.conv1 = keras.layers.Conv2D(32, 3, activation='relu')
                self.conv2 = keras.layers.Conv2D(64, 3, activation='relu')
                self.flatten = keras.layers.Flatten()
                self.fc1 = keras.layers.Dense(128, activation='relu')
                self.fc2 = keras.layers.Dense(10, activation='softmax')

            def call(self, x):
                x = self.conv1(x)
                x = self.conv2(x)
                x = self.flatten(x)
                x = self.fc1(x)
                x = self.fc2(x)
                return x

        model = CustomModel()
        model.compile(optimizer='adam',
                      loss='sparse_categorical_crossentropy',
                      metrics=['accuracy'])
        model.fit(x_train, y_train, epochs=5)
        results.append(model.evaluate(x_test, y_test, verbose=2))
        return results

    out, results = _run(program)
    lines = out.splitlines()
    assert lines[0] == "64 32"
    assert [line for line in lines if line.startswith("Epoch ")] == [
        f"Epoch {i}/5" for i in range(1, 6)] * 3
    evals = [line for line in lines if line.startswith("1/1 - ")]
    # Keras prints values under 1e-3 (an accuracy of 0) as '0.0000e+00'.
    assert len(evals) == 3 and all(re.fullmatch(r"1/1 - \d+s - loss: \d+\.\d{4} - accuracy: "
                                                r"(\d\.\d{4}|0\.0000e\+00)", e) for e in evals)
    for loss, acc in results:
        assert np.isfinite(loss) and 0 <= acc <= 1


def test_seed_004_cifar100_and_gradient_tape_loop(fake_datasets):
    def program():
        import tapeflow as tf
        from tapeflow import keras
        import numpy as np

        cifar100 = keras.datasets.cifar100
        (x_train, y_train), (x_test, y_test) = cifar100.load_data()
        x_train, x_test = x_train / 255.0, x_test / 255.0
        print(len(x_train), len(x_test))

        inputs = keras.Input(shape=(32, 32, 3))
        x = keras.layers.Conv2D(16, 3, activation='relu')(inputs)
        x = keras.layers.MaxPool2D((2, 2))(x)
        x = keras.layers.Conv2D(32, 3, activation='relu')(x)
        x = keras.layers.MaxPool2D((2, 2))(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(256, activation='relu')(x)
        predictions = keras.layers.Dense(100, activation='softmax')(x)
        model = keras.Model(inputs=inputs, outputs=predictions)
        model.compile(optimizer='adam',
                      loss='sparse_categorical_crossentropy',
                      metrics=['accuracy'])
        model.fit(x_train, y_train, epochs=5)
        model.evaluate(x_test, y_test, verbose=2)

        class CustomModel(keras.Model):
            def __init__(self):
                super().__init__()
                self.conv1 = keras.layers.Conv2D(16, 3, activation='relu')
                self.maxpool1 = keras.layers.MaxPool2D((2, 2))
                self.conv2 = keras.layers.Conv2D(32, 3, activation='relu')
                self.maxpool2 = keras.layers.MaxPool2D((2, 2))
                self.flatten = keras.layers.Flatten()
                self.fc1 = keras.layers.Dense(256, activation='relu')
                self.fc2 = keras.layers.Dense(100, activation='softmax')

            def call(self, x):
                x = self.conv1(x)
                x = self.maxpool1(x)
                x = self.conv2(x)
                x = self.maxpool2(x)
                x = self.flatten(x)
                x = self.fc1(x)
                x = self.fc2(x)
                return x

        model = CustomModel()
        loss_func = tf.keras.losses.SparseCategoricalCrossentropy()
        optimizer = tf.keras.optimizers.Adam()

        def train_step(features, labels):
            with tf.GradientTape() as tape:
                predictions = model(features)
                loss = loss_func(labels, predictions)
                gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss

        import time

        def train_model(batch_size=32):
            start = time.time()
            for epoch in range(5):
                x_batch = []
                y_batch = []
                for step, (x, y) in enumerate(zip(x_train, y_train)):
                    if step % batch_size == batch_size-1:
                        x_batch.append(x)
                        y_batch.append(y)
                        loss = train_step(np.array(x_batch, dtype=np.float32),
                                          np.array(y_batch, dtype=np.float32))
                        x_batch = []
                        y_batch = []
                print('Epoch %d: last batch loss = %.4f' % (epoch, float(loss)))
            print("It took {} seconds".format(time.time() - start))

        train_model()
        prediction = model.predict(x_test, batch_size=x_test.shape[0], verbose=1)
        temp = sum(np.squeeze(y_test) == np.argmax(prediction, axis=1))
        return temp / len(y_test), int(optimizer.iterations)

    out, (accuracy, steps) = _run(program)
    assert "Epoch 4: last batch loss = " in out and "It took" in out
    assert re.search(r"^1/1 \[=+\] - \d+s \d+[mu]?s/step$", out, re.M)
    assert 0 <= accuracy <= 1 and steps == 10       # 64 samples, one-sample batches, 5 epochs


def test_seed_002_sequential_mnist_and_tape_loop(fake_datasets):
    def program():
        # seed 002: the Adam/SCCE train_step and the batch-building train_model loop
        import tapeflow as tf
        import numpy as np

        optimizer = tf.keras.optimizers.Adam()
        loss_function = tf.keras.losses.SparseCategoricalCrossentropy()

        def train_step(features, labels):
            with tf.GradientTape() as tape:
                predictions = model(features)
                loss = loss_function(labels, predictions)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss

        def train_model(epochs=5, batch_size=32):
            for epoch in range(epochs):
                x_batch = []
                y_batch = []
                for step, (x, y) in enumerate(zip(x_train, y_train)):
                    x_batch.append(x)
                    y_batch.append(y)
                    if (step % batch_size) == (batch_size - 1):
                        loss = train_step(np.array(x_batch, dtype=np.float32),
                                          np.array(y_batch, dtype=np.float32))
                        x_batch = []
                        y_batch = []
                print('Epoch %d: batch loss = %.4f' % (epoch, float(loss)))

        mnist = tf.keras.datasets.mnist
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        x_train, x_test = x_train / 255, x_test / 255
        x_train = x_train[..., np.newaxis]
        x_test = x_test[..., np.newaxis]
        model = tf.keras.Sequential([
            tf.keras.layers.Conv2D(32, 3, activation='relu'),
            tf.keras.layers.Conv2D(64, 3, activation='relu'),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(128, activation='relu'),
            tf.keras.layers.Dense(10, activation='softmax')
        ])
        train_model()
        prediction = model.predict(x_test, batch_size=x_test.shape[0])
        correct = sum(np.squeeze(y_test) == np.argmax(prediction, axis=1))
        return correct / len(y_test)

    out, accuracy = _run(program)
    assert re.fullmatch(r"(Epoch \d: batch loss = \d+\.\d{4}\n){5}", out)
    assert 0 <= accuracy <= 1


def test_seed_003_train_and_test_steps_with_tf_function(fake_datasets):
    def program():
        import tapeflow as tf
        mnist = tf.keras.datasets.mnist
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        x_train, x_test = x_train / 255.0, x_test / 255.0
        x_train = tf.expand_dims(x_train, -1)
        x_test = tf.expand_dims(x_test, -1)
        train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)
        test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)
        model = tf.keras.Sequential([
            tf.keras.layers.Conv2D(32, 3, activation='relu'),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(10, activation='softmax')])

        # ---- seed 003 verbatim
        loss_function = tf.keras.losses.SparseCategoricalCrossentropy()
        optimizer = tf.keras.optimizers.Adam()
        train_acc = tf.keras.metrics.SparseCategoricalAccuracy()
        test_acc = tf.keras.metrics.SparseCategoricalAccuracy()
        train_loss = tf.keras.metrics.Mean()
        test_loss = tf.keras.metrics.Mean()

        @tf.function
        def train_step(images, labels):
            with tf.GradientTape() as tape:
                predictions = model(images)
                loss = loss_function(labels, predictions)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            train_loss(loss)
            train_acc(labels, predictions)

        @tf.function
        def test_step(images, labels):
            predictions = model(images)
            loss = loss_function(labels, predictions)
            test_loss(loss)
            test_acc(labels, predictions)

        EPOCHS = 5
        for epoch in range(EPOCHS):
            for images, labels in train_ds:
                train_step(images, labels)
            for test_images, test_labels in test_ds:
                test_step(test_images, test_labels)
            template = ('에포크: {}, 손실: {:.5f}, 정확도: {:.2f}%, 테스트 손실: {:.5f}, '
                        '테스트 정확도: {:.2f}%')
            print(template.format(epoch+1,
                                  train_loss.result(),
                                  train_acc.result()*100,
                                  test_loss.result(),
                                  test_acc.result()*100))
        return int(optimizer.iterations)

    out, steps = _run(program)
    lines = out.splitlines()
    assert len(lines) == 5 and steps == 10
    assert all(re.fullmatch(r"에포크: \d, 손실: \d+\.\d{5}, 정확도: \d+\.\d{2}%, 테스트 손실: "
                            r"\d+\.\d{5}, 테스트 정확도: \d+\.\d{2}%", line) for line in lines)


@pytest.mark.slow
def test_seed_cnn_learns_real_fashion_mnist():
    keras.backend.clear_session()
    tf.random.set_seed(1)
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    x_train, x_test = x_train[:3200, ..., None] / 255.0, x_test[:1000, ..., None] / 255.0
    model = keras.Sequential([
        keras.layers.Conv2D(32, 3, activation='relu'),
        keras.layers.Conv2D(64, 3, activation='relu'),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation='relu'),
        keras.layers.Dense(10, activation='softmax')])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(x_train, y_train[:3200], epochs=1, verbose=0)
    loss, acc = model.evaluate(x_test, y_test[:1000], verbose=0)
    assert acc > 0.7, (loss, acc)
