"""Seed 004: GradientTape train/test steps under tf.function, tf.print inside, with tapeflow.

The seed is a lecture note: it assumes "a built model and a data loader" and shows the loss,
optimizer, metrics, `train_step` / `test_step`, the epoch loop, `@tf.function(
experimental_relax_shapes=True)` and `tf.print` inside a traced function. Here the pieces it
assumes are filled in (the CNN of the other seeds, tf.data loaders over Fashion-MNIST) and its
code runs as written, the import line changed. A Python `print` in the step shows when
tf.function traces; `tf.print` runs on every call. The GAN it names as the application is
examples/gan_fashion_mnist.py.

    TAPEFLOW_EPOCHS=1 TAPEFLOW_LIMIT=3200 python examples/seed_004_gradient_tape_fn.py
"""
import os

import tapeflow as tf

EPOCHS = int(os.environ.get("TAPEFLOW_EPOCHS", "5"))  # tapeflow: quick-run knobs
LIMIT = int(os.environ.get("TAPEFLOW_LIMIT", "0")) or None

# What the seed assumes exists: a model and data loaders (train_ds, test_ds).
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
x_train, y_train, x_test, y_test = x_train[:LIMIT], y_train[:LIMIT], x_test[:LIMIT], y_test[:LIMIT]
x_train, x_test = x_train[..., None] / 255.0, x_test[..., None] / 255.0
train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)
test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)
model = tf.keras.Sequential([
    tf.keras.layers.Conv2D(32, 3, activation='relu'),
    tf.keras.layers.Conv2D(64, 3, activation='relu'),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax')
])

# Loss Function을 변수로 정의
loss_function = tf.keras.losses.SparseCategoricalCrossentropy()
# Optimizer를 변수로 정의
optimizer = tf.keras.optimizers.Adam()
# Metric 을 변수로 정의, Train, Test 분리
train_acc = tf.keras.metrics.SparseCategoricalAccuracy()
test_acc = tf.keras.metrics.SparseCategoricalAccuracy()
# Loss 정의
train_loss = tf.keras.metrics.Mean()
test_loss = tf.keras.metrics.Mean()


# Train Step
@tf.function(experimental_relax_shapes=True)
def train_step(images, labels):
    # Python print runs while tf.function traces, not at every call.
    print('tracing train_step for images of shape', images.shape)
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
    return loss


# Test Step
@tf.function
def test_step(images, labels):
    # 1. 예측 (prediction)
    predictions = model(images)
    # 2. Loss 계산
    loss = loss_function(labels, predictions)
    # loss와 accuracy를 업데이트 합니다.
    test_loss(loss)
    test_acc(labels, predictions)


# Print Inside of tf.function: tf.print runs at every call (it writes to stderr).
@tf.function(experimental_relax_shapes=True)
def report(step, loss):
    tf.print('step', step, 'batch loss', loss)


# Epoch Process
for epoch in range(EPOCHS):
    for step, (images, labels) in enumerate(train_ds):
        loss = train_step(images, labels)
        if step % 500 == 0:
            report(tf.constant(step), loss)
    for test_images, test_labels in test_ds:
        test_step(test_images, test_labels)
    template = '에포크: {}, 손실: {:.5f}, 정확도: {:.2f}%, 테스트 손실: {:.5f}, 테스트 정확도: {:.2f}%'  # noqa: E501
    print (template.format(epoch+1,
                           train_loss.result(),
                           train_acc.result()*100,
                           test_loss.result(),
                           test_acc.result()*100))
