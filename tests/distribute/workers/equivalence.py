"""Trains one small model twice: on one replica (global batch 64) and under a strategy
(MultiWorkerMirroredStrategy under mpirun, or MirroredStrategy on 2 virtual CPUs), with
`fit` and with a custom `strategy.run` loop; prints one RESULT line of JSON per worker.

Usage: python equivalence.py {multi_worker|mirrored} SAVE_DIR
"""
import json
import os
import sys

import numpy as np

import tapeflow as tf

MODE, SAVE_DIR = sys.argv[1], sys.argv[2]
GLOBAL_BATCH = 64

if MODE == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    strategy = tf.distribute.MirroredStrategy()
else:
    strategy = tf.distribute.MultiWorkerMirroredStrategy()

data_rng = np.random.default_rng(0)
x = data_rng.normal(size=(256, 6)).astype(np.float32)
y = data_rng.integers(0, 3, 256)


def make_model():
    tf.random.set_seed(7)
    return tf.keras.Sequential([tf.keras.layers.Dense(12, activation="relu", input_shape=(6,)),
                                tf.keras.layers.Dense(3)])


def compiled(model):
    model.compile(tf.keras.optimizers.Adam(0.01),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def fit(model):
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0)
    return history.history


def custom_loop(model, optimizer, strat):
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="none")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)

    def step(inputs):
        xb, yb = inputs
        with tf.GradientTape() as tape:
            loss = tf.nn.compute_average_loss(loss_fn(yb, model(xb, training=True)),
                                              global_batch_size=GLOBAL_BATCH)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def distributed_step(inputs):
        losses = strat.run(step, args=(inputs,))
        return strat.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    losses = []
    for _ in range(2):
        for batch in strat.experimental_distribute_dataset(dataset):
            losses.append(float(distributed_step(batch)))
    return losses


def max_diff(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a.get_weights(), b.get_weights()))


ref_fit = compiled(make_model())
ref_history = fit(ref_fit)
ref_loop = make_model()
ref_losses = custom_loop(ref_loop, tf.keras.optimizers.SGD(0.1),
                         tf.distribute.get_strategy())

with strategy.scope():
    dist_fit = compiled(make_model())
    dist_loop = make_model()
    loop_optimizer = tf.keras.optimizers.SGD(0.1)
dist_history = fit(dist_fit)
dist_losses = custom_loop(dist_loop, loop_optimizer, strategy)

weights_path = os.path.join(SAVE_DIR, "model.weights.h5")
dist_fit.save_weights(weights_path)
result = {
    "rank": strategy.extended._strategy._worker_index,
    "replicas": strategy.num_replicas_in_sync,
    "fit_max_diff": max_diff(ref_fit, dist_fit),
    "loop_max_diff": max_diff(ref_loop, dist_loop),
    "ref_history": ref_history, "dist_history": dist_history,
    "ref_losses": ref_losses, "dist_losses": dist_losses,
    "ref_eval": ref_fit.evaluate(x, y, batch_size=GLOBAL_BATCH, verbose=0),
    "dist_eval": dist_fit.evaluate(x, y, batch_size=GLOBAL_BATCH, verbose=0),
    "predict_max_diff": float(np.abs(ref_fit.predict(x, batch_size=GLOBAL_BATCH)
                                     - dist_fit.predict(x, batch_size=GLOBAL_BATCH)).max()),
    "weights_checksum": float(sum(np.abs(w).sum() for w in dist_fit.get_weights())),
    "saved": os.path.exists(weights_path),
    # On workers other than the chief, save_weights is replaced by a no-op at compile.
    "save_skipped": "save_weights" in dist_fit.__dict__,
}
with open(os.path.join(SAVE_DIR, f"result_{result['rank']}.json"), "w") as f:
    json.dump(result, f)
