"""Seed 003: replacing compile/fit with a hand-written GradientTape loop, with tapeflow.

The seed's code in its order, the import line changed; its outputs are printed. Additions,
marked "tapeflow:": Fashion-MNIST stands in when MNIST's file is missing, and two
environment knobs shorten a run (the seed trains 5 epochs over all 60,000 images, batching
them in a Python loop):

    TAPEFLOW_EPOCHS=1 TAPEFLOW_LIMIT=3200 python examples/seed_003_custom_training.py
"""
import os

import numpy as np

import tapeflow as tf

optimizer = tf.keras.optimizers.Adam()
loss_function = tf.keras.losses.SparseCategoricalCrossentropy()


def train_step(features, labels):
    with tf.GradientTape() as tape:
        predictions = model(features)
        loss = loss_function(labels, predictions)

    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


def train_model(epochs = 5, batch_size = 32):
    for epoch in range(epochs):
        x_batch = []
        y_batch = []
        for step, (x, y) in enumerate(zip(x_train, y_train)):
            x_batch.append(x)
            y_batch.append(y)
            if (step % batch_size) == (batch_size - 1):
                loss = train_step(np.array(x_batch, dtype = np.float32),
                                  np.array(y_batch, dtype = np.float32))
                x_batch = []
                y_batch = []

        print('Epoch %d: batch loss = %.4f' % (epoch, float(loss)))  # noqa: UP031


# data
mnist = tf.keras.datasets.mnist
try:
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
except OSError as e:  # tapeflow: MNIST's file is missing here; its loader says where to put it
    print(str(e).splitlines()[0])
    print("-> using Fashion-MNIST (same shapes) instead")
    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
LIMIT = int(os.environ.get("TAPEFLOW_LIMIT", "0")) or None  # tapeflow: quick-run knobs
EPOCHS = int(os.environ.get("TAPEFLOW_EPOCHS", "5"))
x_train, y_train, x_test, y_test = x_train[:LIMIT], y_train[:LIMIT], x_test[:LIMIT], y_test[:LIMIT]
x_train, x_test = x_train / 255, x_test / 255 # rescaling

x_train = x_train[..., np.newaxis]
x_test = x_test[..., np.newaxis]

# build a model
model = tf.keras.Sequential([
    tf.keras.layers.Conv2D(32, 3, activation='relu'),
    tf.keras.layers.Conv2D(64, 3, activation='relu'),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax')
])

train_model(epochs=EPOCHS)  # tapeflow: the seed calls train_model() (5 epochs)

prediction = model.predict(x_test, batch_size=x_test.shape[0])
correct = sum(np.squeeze(y_test) == np.argmax(prediction, axis=1))
print(correct / len(y_test))
