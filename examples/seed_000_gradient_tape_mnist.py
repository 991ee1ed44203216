"""Seed 000: a custom training loop with GradientTape and tf.function, with tapeflow.

The seed notebook's cells in order, the import line changed; expressions the notebook
displayed are printed. Two additions, marked "tapeflow:": Fashion-MNIST (same shapes) stands
in when MNIST's file is not on this machine, and two environment knobs shorten a run:

    python examples/seed_000_gradient_tape_mnist.py                      # the seed: 5 epochs
    TAPEFLOW_EPOCHS=1 TAPEFLOW_LIMIT=2000 python examples/seed_000_gradient_tape_mnist.py
"""
import os

import numpy as np

import tapeflow as tf

np.set_printoptions(legacy="1.25")  # tapeflow: show NumPy scalars as the seed's NumPy 1.x did

print(repr(tf.__version__))

# 샘플데이터 로드 (mnist)
mnist = tf.keras.datasets.mnist

try:
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
except OSError as e:  # tapeflow: MNIST's file is missing here; its loader says where to put it
    print(str(e).splitlines()[0])
    print("-> using Fashion-MNIST (same shapes) instead")
    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
LIMIT = int(os.environ.get("TAPEFLOW_LIMIT", "0"))  # tapeflow: quick-run knob
if LIMIT:
    x_train, y_train = x_train[:LIMIT], y_train[:LIMIT]
    x_test, y_test = x_test[:LIMIT], y_test[:LIMIT]
x_train, x_test = x_train / 255.0, x_test / 255.0

print((x_train.min(), x_train.max()))

# 차원을 1 늘려줍니다
x_train = tf.expand_dims(x_train, -1)
x_test = tf.expand_dims(x_test, -1)

print((x_train.shape, x_test.shape))

# Dataset을 만듭니다
train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)
test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)

# STEP 1. Model을 정의합니다.
# layer 정의
input_ = tf.keras.layers.Input(shape=(28, 28, 1))
x = tf.keras.layers.Conv2D(32, 3, activation='relu')(input_)
x = tf.keras.layers.Conv2D(64, 3, activation='relu')(x)
x = tf.keras.layers.Flatten()(x)
x = tf.keras.layers.Dense(128, activation='relu')(x)
output_ = tf.keras.layers.Dense(10, activation='softmax')(x)

# model을 정의
model = tf.keras.models.Model(input_, output_)

model.summary()

# STEP 2. Loss Function을 정의합니다.
loss_function = tf.keras.losses.SparseCategoricalCrossentropy()

# STEP 3. Optimizer를 정의합니다.
optimizer = tf.keras.optimizers.Adam()

# STEP 4. Metric을 정의합니다.
train_loss = tf.keras.metrics.Mean()
train_acc = tf.keras.metrics.SparseCategoricalAccuracy()

test_loss = tf.keras.metrics.Mean()
test_acc = tf.keras.metrics.SparseCategoricalAccuracy()


# STEP 5. Train/Test step 함수를 정의합니다.
@tf.function
def train_step(images, labels):
    # 미분을 위한 GradientTape을 적용합니다.
    with tf.GradientTape() as tape:
        # 1. 예측 (prediction)
        predictions = model(images)
        # 2. Loss 계산
        loss = loss_function(labels, predictions)

    # 3. 그라디언트(gradients) 계산
    gradients = tape.gradient(loss, model.trainable_variables)

    # 4. 오차역전파(Backpropagation) - weight 업데이트
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    # loss와 accuracy를 업데이트 합니다.
    train_loss(loss)
    train_acc(labels, predictions)


@tf.function
def test_step(images, labels):
    # 1. 예측 (prediction)
    predictions = model(images)
    # 2. Loss 계산
    loss = loss_function(labels, predictions)

    # Test셋에 대해서는 gradient를 계산 및 backpropagation 하지 않습니다.

    # loss와 accuracy를 업데이트 합니다.
    test_loss(loss)
    test_acc(labels, predictions)


EPOCHS = 5
EPOCHS = int(os.environ.get("TAPEFLOW_EPOCHS", EPOCHS))  # tapeflow: quick-run knob

for epoch in range(EPOCHS):
    for images, labels in train_ds:
        train_step(images, labels)

    for test_images, test_labels in test_ds:
        test_step(test_images, test_labels)

    template = '에포크: {}, 손실: {:.5f}, 정확도: {:.2f}%, 테스트 손실: {:.5f}, 테스트 정확도: {:.2f}%'  # noqa: E501
    print(template.format(epoch+1,
                          train_loss.result(),
                          train_acc.result()*100,
                          test_loss.result(),
                          test_acc.result()*100))
