"""All-reduce and multi-worker step rate of the seed CNN (4.7M float32 parameters) on MPI.

Run `python bench/allreduce_bench.py` (Open MPI and mpi4py installed). It starts itself
under `mpirun` (loopback only) three times:

1. `-np 2 --worker allreduce`: the gradient all-reduce of the seed CNN's 8 variables
   (4,738,826 float32 values, 18.96 MB) through tapeflow's path (header exchange, pack
   into one bucket, one Allreduce, unpack: `collective.all_reduce`, as `apply_gradients`
   runs it) against one plain mpi4py `Allreduce` of a flat buffer of the same size; plus
   the latency of a 1-value all-reduce (the alpha of the cost model in docs/distribute.md).
2. `-np 1 --worker steps` and 3. `-np 2 --worker steps`: training steps/s of the seed CNN
   (synthetic 28x28 images, global batch 64, Adam, a traced `strategy.run` step under
   MultiWorkerMirroredStrategy).

Medians over repetitions; the load average is printed beside them because the machine is
shared. Results go to stdout as a table (and `--json PATH`).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (36864, 128), (128,), (128, 10), (10,)]
GLOBAL_BATCH = 64


def _median_time(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def worker_allreduce(repeats):
    sys.path.insert(0, ROOT)
    import tapeflow as tf
    from tapeflow.distribute import collective
    from mpi4py import MPI
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    comm = MPI.COMM_WORLD
    rng = np.random.default_rng(comm.Get_rank())
    grads = [tf.constant(rng.standard_normal(s).astype(np.float32)) for s in SHAPES]
    n = sum(int(np.prod(s)) for s in SHAPES)
    flat = rng.standard_normal(n).astype(np.float32)

    def tapeflow_path():
        collective.all_reduce(grads, strategy._comm_key)

    def plain():
        comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)

    one = np.ones(1, np.float32)

    def tiny():
        comm.Allreduce(MPI.IN_PLACE, one, op=MPI.SUM)

    # Interleaved, so that a change of the machine's load hits both paths alike.
    for f in (tapeflow_path, plain, tapeflow_path, plain):
        f()
    t_tf, t_plain = [], []
    for _ in range(repeats):
        for fn, times in ((tapeflow_path, t_tf), (plain, t_plain)):
            comm.Barrier()
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    t_tf, t_plain = statistics.median(t_tf), statistics.median(t_plain)
    comm.Barrier()
    t_tiny, _ = _median_time(tiny, repeats * 10)
    return {"values": n, "bytes": 4 * n, "ranks": comm.Get_size(),
            "tapeflow_s": t_tf, "mpi4py_s": t_plain, "latency_1_value_s": t_tiny,
            "tapeflow_bytes_per_s": 4 * n / t_tf, "mpi4py_bytes_per_s": 4 * n / t_plain}


def seed_cnn(tf):
    """Seed 000's CNN (bench/workloads.py), 4,738,826 parameters."""
    inputs = tf.keras.layers.Input(shape=(28, 28, 1))
    x = tf.keras.layers.Conv2D(32, 3, activation="relu")(inputs)
    x = tf.keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(128, activation="relu")(x)
    outputs = tf.keras.layers.Dense(10, activation="softmax")(x)
    return tf.keras.models.Model(inputs, outputs)


def worker_steps(repeats):
    sys.path.insert(0, ROOT)
    import tapeflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    images = rng.random((GLOBAL_BATCH, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, GLOBAL_BATCH)
    with strategy.scope():
        model = seed_cnn(tf)
        optimizer = tf.keras.optimizers.Adam()
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(reduction="none")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(GLOBAL_BATCH)
    (batch,) = list(strategy.experimental_distribute_dataset(dataset))

    def step(inputs):
        x, y = inputs
        with tf.GradientTape() as tape:
            loss = tf.nn.compute_average_loss(loss_fn(y, model(x, training=True)),
                                              global_batch_size=GLOBAL_BATCH)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def train_step(inputs):
        return strategy.reduce("SUM", strategy.run(step, args=(inputs,)), axis=None)

    t_step, _ = _median_time(lambda: float(train_step(batch)), repeats)
    params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    return {"ranks": strategy.num_replicas_in_sync, "params": params,
            "step_s": t_step, "steps_per_s": 1.0 / t_step,
            "examples_per_s": GLOBAL_BATCH / t_step}


def _launch(np_, mode, repeats, btl="tcp"):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # Each rank gets one thread per core it can have, so ranks do not fight over cores.
    threads = str(max(1, (os.cpu_count() or 1) // np_))
    env.update(OMP_NUM_THREADS=threads, TAPEFLOW_BLAS_THREADS=threads,
               TAPEFLOW_ONEDNN_THREADS=threads)
    # tcp: TCP over the loopback interface (a stand-in for a network); vader: Open MPI's
    # shared-memory transport between processes of one machine.
    transport = ["--mca", "btl", f"self,{btl}"] + (
        ["--mca", "btl_tcp_if_include", "lo"] if btl == "tcp" else [])
    command = ["mpirun", "--oversubscribe", *transport, "--mca", "oob_tcp_if_include", "lo",
               "-x", "PYTHONPATH", "-x", "OMP_NUM_THREADS", "-x", "TAPEFLOW_BLAS_THREADS",
               "-x", "TAPEFLOW_ONEDNN_THREADS", "-np", str(np_), sys.executable,
               os.path.abspath(__file__), "--worker", mode, "--repeats", str(repeats)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{out.stdout[-2000:]}"
                           f"\n{out.stderr[-2000:]}")
    return json.loads(lines[0][len("RESULT "):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["allreduce", "steps"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.worker:
        result = (worker_allreduce if args.worker == "allreduce" else worker_steps)(
            args.repeats)
        from mpi4py import MPI
        if MPI.COMM_WORLD.Get_rank() == 0:
            print("RESULT " + json.dumps(result), flush=True)
        return
    load_before = os.getloadavg()
    results = {"allreduce": {}, "steps": {}}
    for btl in ("tcp", "vader"):
        results["allreduce"][btl] = ar = _launch(2, "allreduce", args.repeats, btl)
        print(f"all-reduce of {ar['values']:,} float32 ({ar['bytes'] / 1e6:.2f} MB), "
              f"{ar['ranks']} ranks, btl {btl}, median of {args.repeats}:")
        print(f"  tapeflow (header + bucket + Allreduce): {ar['tapeflow_s'] * 1e3:8.2f} ms  "
              f"{ar['tapeflow_bytes_per_s'] / 1e9:6.3f} GB/s")
        print(f"  plain mpi4py Allreduce:                  {ar['mpi4py_s'] * 1e3:8.2f} ms  "
              f"{ar['mpi4py_bytes_per_s'] / 1e9:6.3f} GB/s")
        print(f"  1-value Allreduce latency:               "
              f"{ar['latency_1_value_s'] * 1e6:8.1f} us")
    for n, btl in ((1, "tcp"), (2, "tcp"), (2, "vader")):
        results["steps"][f"{n}_{btl}"] = s = _launch(n, "steps", args.repeats, btl)
        print(f"seed CNN, global batch {GLOBAL_BATCH}, {n} rank(s), btl {btl}: "
              f"{s['step_s'] * 1e3:8.1f} ms/step  {s['steps_per_s']:6.2f} steps/s  "
              f"({s['params']:,} parameters)")
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}, "
          f"on {os.cpu_count()} cores")
    results["load"] = [load_before, load_after]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
