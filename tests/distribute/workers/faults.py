"""Workers that go wrong, one way per mode; run under `mpirun -np 2`.

- raise_in_step: rank 1 raises inside `strategy.run` at its third step.
- raise_outside: rank 1 raises between steps (outside any collective).
- die: rank 1 exits at once between steps (as a killed process would), no report.
- hang: rank 1 sleeps between steps (run with a short TAPEFLOW_DISTRIBUTE_TIMEOUT).
- steps: rank 1 has fewer batches than rank 0 (`fit` on datasets).
- shapes: rank 1 builds a wider layer than rank 0.
"""
import os
import sys
import time

import numpy as np

import tapeflow as tf

MODE = sys.argv[1]
strategy = tf.distribute.MultiWorkerMirroredStrategy()
rank = strategy.cluster_resolver.task_id
x = np.ones((64 * 4, 4), np.float32)
y = np.zeros((64 * 4, 1), np.float32)

with strategy.scope():
    width = 5 if (MODE == "shapes" and rank == 1) else 4
    model = tf.keras.Sequential([tf.keras.layers.Dense(width, input_shape=(4,)),
                                 tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    optimizer = tf.keras.optimizers.SGD(0.1)

if MODE == "steps":
    n = 64 * (3 if rank == 1 else 4)
    dataset = tf.data.Dataset.from_tensor_slices((x[:n], y[:n])).batch(64)
    model.fit(dataset, epochs=1, verbose=0)


def step(xb, yb, i):
    if MODE == "raise_in_step" and rank == 1 and i == 2:
        raise ValueError("boom in the step of rank 1")
    with tf.GradientTape() as tape:
        loss = tf.nn.compute_average_loss(tf.square(model(xb) - yb)[:, 0], global_batch_size=64)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


for i in range(4):
    if MODE == "raise_outside" and rank == 1 and i == 2:
        raise RuntimeError("boom between the steps of rank 1")
    if MODE == "die" and rank == 1 and i == 2:
        os._exit(3)
    if MODE == "hang" and rank == 1 and i == 2:
        time.sleep(60)
    strategy.run(step, args=(x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32], i))
print("RESULT finished", rank, flush=True)
