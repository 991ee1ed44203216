"""Seed 001: GradientTape basics (TensorFlow's autodiff guide), with tapeflow.

The seed notebook's cells in order, the import line changed; expressions the notebook
displayed are printed. Its numpy and matplotlib imports are dropped (unused).

    python examples/seed_001_autodiff_basics.py
"""
import tapeflow as tf

# tf.GradientTape : 자동 미분(주어진 입력 변수에 대한 연산의 Gradient를 계산하는 것)

x = tf.Variable(3.0)

with tf.GradientTape() as tape:
    y = x**2

dy_dx = tape.gradient(y, x)
print(dy_dx.numpy())

w = tf.Variable(tf.random.normal((3, 2)), name='w')
b = tf.Variable(tf.zeros(2, dtype=tf.float32), name='b')
x = [[1., 2., 3.]]

with tf.GradientTape(persistent=True) as tape:
    y = x @ w + b
    loss = tf.reduce_mean(y**2)

[dl_dw, dl_db] = tape.gradient(loss, [w, b])  # 각 소스에 대한 그래디언트는 소스의 형상을 갖는다

print(w.shape)
print(dl_dw.shape)

# 변수에 dictionary를 전달하는 그래디언트 계산
my_vars = {'w': w, 'b': b}

grad = tape.gradient(loss, my_vars)
print(repr(grad['b']))

# 모델에 대한 그래디언트

layer = tf.keras.layers.Dense(2, activation='relu')
x = tf.constant([[1., 2., 3.]])

with tf.GradientTape() as tape:
    # Forward pass
    y = layer(x)
    loss = tf.reduce_mean(y**2)

# Calculate gradients with respect to every trainable variable
grad = tape.gradient(loss, layer.trainable_variables)

for var, g in zip(layer.trainable_variables, grad):
    print(f'{var.name}, shape:{g.shape}')

# tape의 감시 대상 제어하기

# A trainable variable
x0 = tf.Variable(3.0, name='x0')
# Not trainable
x1 = tf.Variable(3.0, name='x1', trainable=False)
# Not a Variable: A variable + tensor returns a tensor.
x2 = tf.Variable(2.0, name='x2') + 1.0
# Not a Variable
x3 = tf.constant(3.0, name='x3')

with tf.GradientTape() as tape:
    y = (x0**2) + (x1**2) + (x2**2)

grad = tape.gradient(y, [x0, x1, x2, x3])

for g in grad:
    print(g)

# GradientTape.watched_variables : tape에서 감시중인 변수를 나열

print([var.name for var in tape.watched_variables()])

# tf.Tensor에 대한 그래디언트를 기록하려면 GradientTape.watch(x)를 호출

x = tf.constant(3.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x**2

# dy = 2x * dx
dy_dx = tape.gradient(y, x)
print(dy_dx.numpy())

x0 = tf.Variable(0.0)
x1 = tf.Variable(10.0)

with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(x1)
    y0 = tf.math.sin(x0)
    y1 = tf.nn.softplus(x1)
    y = y0 + y1
    ys = tf.reduce_sum(y)

# dys/dx1 = exp(x1) / (1 + exp(x1)) = sigmoid(x1)
grad = tape.gradient(ys, {'x0': x0, 'x1': x1})

print('dy/dx0', grad['x0'])
print('dy/dx1', grad['x1'].numpy())

