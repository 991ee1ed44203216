"""`fit` with BackupAndRestore under MultiWorkerMirroredStrategy: `interrupt` stops every
worker after the second of 4 epochs; `resume` runs the rest. Each worker writes
$RESULT_DIR/result_<rank>.json (epochs run, final weights).

Usage: python backup.py {interrupt|resume} BACKUP_DIR
"""
import json
import os
import sys

import numpy as np

import tapeflow as tf

MODE, BACKUP_DIR = sys.argv[1], sys.argv[2]
strategy = tf.distribute.MultiWorkerMirroredStrategy()
x = np.random.default_rng(0).normal(size=(128, 4)).astype(np.float32)
y = x[:, :1] * 2.0
with strategy.scope():
    tf.random.set_seed(3)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(4,))])
    model.compile(tf.keras.optimizers.SGD(0.05), "mse")


class Interrupt(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if MODE == "interrupt" and epoch == 1:
            raise SystemExit(0)         # every worker stops here, as a preempted job


history = model.fit(x, y, batch_size=64, epochs=4, shuffle=False, verbose=0,
                    callbacks=[tf.keras.callbacks.BackupAndRestore(BACKUP_DIR), Interrupt()])
rank = strategy.cluster_resolver.task_id
with open(os.path.join(os.environ["RESULT_DIR"], f"result_{rank}.json"), "w") as f:
    json.dump({"epochs_run": len(history.history["loss"]),
               "weights": [w.tolist() for w in model.get_weights()]}, f)
