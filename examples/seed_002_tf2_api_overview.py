"""Seed 002: the three Keras model APIs and a GradientTape step, with tapeflow.

The seed walks through Sequential, Functional and subclassed models on MNIST and on
CIFAR-100, then replaces `model.fit` with a GradientTape `train_step`. Its cells are here in
order with the import line changed; expressions the notebook displayed are printed.
Additions, marked "tapeflow:": Fashion-MNIST stands in when MNIST's file is missing; the
CIFAR-100 parts are skipped, with the loader's message, when CIFAR-100 is not on this machine
and cannot be downloaded; two environment knobs shorten a run (the seed trains 5 epochs six
times, then 5 more in a Python loop):

    TAPEFLOW_EPOCHS=1 TAPEFLOW_LIMIT=3000 python examples/seed_002_tf2_api_overview.py
"""
import os
import sys

import numpy as np

import tapeflow as tf
from tapeflow import keras

EPOCHS = int(os.environ.get("TAPEFLOW_EPOCHS", "5"))  # tapeflow: quick-run knobs
LIMIT = int(os.environ.get("TAPEFLOW_LIMIT", "0")) or None


def load(dataset):
    """tapeflow: the seed's `dataset.load_data()`, shortened by TAPEFLOW_LIMIT; Fashion-MNIST
    stands in for a missing MNIST."""
    try:
        (x_train, y_train), (x_test, y_test) = dataset.load_data()
    except OSError as e:
        if dataset is not keras.datasets.mnist:
            raise
        if not load.said_so:
            print(str(e).splitlines()[0])
            print("-> using Fashion-MNIST (same shapes) instead")
            load.said_so = True
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    return (x_train[:LIMIT], y_train[:LIMIT]), (x_test[:LIMIT], y_test[:LIMIT])


load.said_so = False


gpus = tf.config.experimental.list_physical_devices('GPU')
if gpus:
    try:
        # Currently, memory growth needs to be the same across GPUs
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
        logical_gpus = tf.config.experimental.list_logical_devices('GPU')
        print(len(gpus), "Physical GPUs,", len(logical_gpus), "Logical GPUs")
    except RuntimeError as e:
        # Memory growth must be set before GPUs have been initialized
        print(e)

# ## 4. MNIST (1) Sequential API 활용
# 데이터 구성부분
mnist = keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = load(mnist)
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

# 모델 학습 설정
model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

model.fit(x_train, y_train, epochs=EPOCHS)

print(model.evaluate(x_test, y_test, verbose=2))

# ## 5. MNIST (2) Functional API 활용
(x_train, y_train), (x_test, y_test) = load(mnist)
x_train, x_test = x_train / 255.0, x_test / 255.0

x_train = x_train[..., np.newaxis]
x_test = x_test[..., np.newaxis]

print(len(x_train), len(x_test))

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

model.fit(x_train, y_train, epochs=EPOCHS)

print(model.evaluate(x_test, y_test, verbose=2))

# ## 6. MNIST (3) Subclassing 활용
(x_train, y_train), (x_test, y_test) = load(mnist)
x_train, x_test = x_train / 255.0, x_test / 255.0

x_train = x_train[..., np.newaxis]
x_test = x_test[..., np.newaxis]

print(len(x_train), len(x_test))


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

model.fit(x_train, y_train, epochs=EPOCHS)

print(model.evaluate(x_test, y_test, verbose=2))

# ## 7. CIFAR-100 (1) Sequential API 활용
cifar100 = keras.datasets.cifar100

try:  # tapeflow: CIFAR-100 may be neither on disk nor downloadable
    (x_train, y_train), (x_test, y_test) = load(cifar100)
except OSError as e:
    print(f"CIFAR-100 parts skipped: {e}")
    sys.exit(0)
x_train, x_test = x_train / 255.0, x_test / 255.0
print(len(x_train), len(x_test))

model = keras.Sequential([
    keras.layers.Conv2D(16, 3, activation='relu'),
    keras.layers.MaxPool2D((2, 2)),
    keras.layers.Conv2D(32, 3, activation='relu'),
    keras.layers.MaxPool2D((2, 2)),
    keras.layers.Flatten(),
    keras.layers.Dense(256, activation='relu'),
    keras.layers.Dense(100, activation='softmax')
])

model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

model.fit(x_train, y_train, epochs=EPOCHS)

print(model.evaluate(x_test, y_test, verbose=2))

# ## 8. CIFAR-100 (2) Functional API 활용
(x_train, y_train), (x_test, y_test) = load(cifar100)
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

model.fit(x_train, y_train, epochs=EPOCHS)

print(model.evaluate(x_test, y_test, verbose=2))

# ## 9. CIFAR-100 (3) Subclassing 활용
(x_train, y_train), (x_test, y_test) = load(cifar100)
x_train, x_test = x_train / 255.0, x_test / 255.0
print(len(x_train), len(x_test))


class CustomModel(keras.Model):  # the seed redefines it for CIFAR-100
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

model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

model.fit(x_train, y_train, epochs=EPOCHS)

print(model.evaluate(x_test, y_test, verbose=2))

# ## 10. GradientTape의 활용
(x_train, y_train), (x_test, y_test) = load(cifar100)
x_train, x_test = x_train / 255.0, x_test / 255.0
print(len(x_train), len(x_test))

model = CustomModel()

loss_func = tf.keras.losses.SparseCategoricalCrossentropy()
optimizer = tf.keras.optimizers.Adam()


# tf.GradientTape()를 활용한 train_step
def train_step(features, labels):
    with tf.GradientTape() as tape:
        predictions = model(features)
        loss = loss_func(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


import time  # noqa: E402  (imported where the seed imports it)


def train_model(batch_size=32):
    start = time.time()
    for epoch in range(EPOCHS):  # tapeflow: the seed's range(5), shortened by the knob
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
        print('Epoch %d: last batch loss = %.4f' % (epoch, float(loss)))  # noqa: UP031
    print("It took {} seconds".format(time.time() - start))  # noqa: UP032


train_model()

# evaluation
prediction = model.predict(x_test, batch_size=x_test.shape[0], verbose=1)
temp = sum(np.squeeze(y_test) == np.argmax(prediction, axis=1))
print(temp/len(y_test))  # Accuracy
