"""tf.function's executor against eager mode, TensorFlow and PyTorch: one run, one table.

Two training steps, each written once for the TF2 API (the same code runs on
tapeflow and TensorFlow) and once for PyTorch:

  cnn   seed 000's step, batch 32: Conv2D(32, 3, relu) -> Conv2D(64, 3, relu) -> Flatten
        -> Dense(128, relu) -> Dense(10, softmax), SparseCategoricalCrossentropy, Adam, the
        seed's loss/accuracy metrics (bench/workloads.py's KerasSeedLoop / TorchSeedLoop)
  mlp   a small-op-heavy step, batch 8: 16 inputs -> 4 x Dense(16, relu) -> Dense(10),
        SparseCategoricalCrossentropy(from_logits=True), Adam, a Mean loss metric. Kernels
        take microseconds here, so the step measures dispatch: what tf.function removes.

Variants: tapeflow function, tapeflow eager, TensorFlow function, TensorFlow eager, PyTorch
(eager). Each runs in its own subprocess (own thread pools); the parent interleaves them
block by block, rotating which goes first each round, so a busy machine slows all alike.
Reported: the median step time over blocks, and ratios from the same run.

    python bench/function_bench.py                    # about 2 minutes on 2 cores
    python bench/function_bench.py --rounds 5 --only mlp
    python bench/function_bench.py --threads 1        # one BLAS/OpenMP thread per worker:
                                                      # steadier on a machine others load
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import workloads  # noqa: E402  (found through the sys.path entry above)

VARIANTS = (("tapeflow", True), ("tapeflow", False), ("tensorflow", True),
            ("tensorflow", False), ("pytorch", False))
MLP_IN, MLP_WIDTH, MLP_DEPTH, MLP_OUT, MLP_BATCH = 16, 16, 4, 10, 8
PAUSE_S = 0.3


def _variant_name(fw, use_function):
    label = workloads.LABELS[fw]
    return label if fw == "pytorch" else f"{label} {'function' if use_function else 'eager'}"


# -- the small MLP ----------------------------------------------------------------------------

def mlp_params(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [MLP_IN] + [MLP_WIDTH] * MLP_DEPTH + [MLP_OUT]
    out = []
    for a, b in itertools.pairwise(sizes):
        lim = np.sqrt(6.0 / (a + b))
        out += [rng.uniform(-lim, lim, (a, b)).astype(np.float32), np.zeros(b, np.float32)]
    return out


def mlp_batch(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(MLP_BATCH, MLP_IN)).astype(np.float32),
            rng.integers(0, MLP_OUT, MLP_BATCH).astype(np.int64))


class KerasMLPLoop:
    """The small MLP's step on the TF2 API (TensorFlow or tapeflow)."""

    def __init__(self, tf, use_function):
        self.tf = tf
        layers = [tf.keras.layers.Dense(MLP_WIDTH, activation="relu")
                  for _ in range(MLP_DEPTH)] + [tf.keras.layers.Dense(MLP_OUT)]
        self.model = tf.keras.Sequential([tf.keras.layers.Input(shape=(MLP_IN,))] + layers)
        self.model.set_weights(mlp_params())
        self.loss_function = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.optimizer = tf.keras.optimizers.Adam()
        self.train_loss = tf.keras.metrics.Mean()
        self.train_step = tf.function(self._train_step) if use_function else self._train_step

    def _train_step(self, x, y):
        with self.tf.GradientTape() as tape:
            loss = self.loss_function(y, self.model(x))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        self.train_loss(loss)

    def batch(self, x, y):
        return self.tf.constant(x), self.tf.constant(y)

    def sync(self):
        return float(self.train_loss.result())


class TorchMLPLoop:
    """The same MLP step as a PyTorch user writes it."""

    def __init__(self):
        import torch
        self.torch = torch
        nn = torch.nn
        mods = []
        for i in range(MLP_DEPTH):
            mods += [nn.Linear(MLP_IN if i == 0 else MLP_WIDTH, MLP_WIDTH), nn.ReLU()]
        mods.append(nn.Linear(MLP_WIDTH, MLP_OUT))
        self.model = nn.Sequential(*mods)
        params = mlp_params()
        with torch.no_grad():
            linears = [m for m in self.model if isinstance(m, nn.Linear)]
            for k, layer in enumerate(linears):
                layer.weight.copy_(torch.from_numpy(params[2 * k].T.copy()))
                layer.bias.copy_(torch.from_numpy(params[2 * k + 1]))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
        self.loss_function = nn.CrossEntropyLoss()
        self.total = 0.0

    def train_step(self, x, y):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_function(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        self.total += float(loss.detach())

    def batch(self, x, y):
        return self.torch.from_numpy(x), self.torch.from_numpy(y)

    def sync(self):
        return self.total


def make_loop(workload, fw, use_function):
    if workload == "cnn":
        loop = workloads.seed_loop(fw, use_function)
        return loop, loop.batch(*workloads.synthetic_batch(32))
    if fw == "pytorch":
        loop = TorchMLPLoop()
    else:
        loop = KerasMLPLoop(workloads.import_framework(fw), use_function)
    return loop, loop.batch(*mlp_batch())


# -- worker: builds one variant, then times a block per request --------------------------------

def worker(workload, fw, use_function, block):
    loop, (x, y) = make_loop(workload, fw, use_function)
    for _ in range(3):                      # warm-up (and tracing)
        loop.train_step(x, y)
    loop.sync()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        t0 = time.perf_counter()
        for _ in range(block):
            loop.train_step(x, y)
        loop.sync()
        print(json.dumps({"step_ms": (time.perf_counter() - t0) / block * 1e3,
                          "sync": loop.sync()}), flush=True)


# -- parent: interleaves the variants ---------------------------------------------------------

def _start(workload, fw, use_function, block, threads=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", workload, fw,
           "1" if use_function else "0", str(block)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            env[var] = str(threads)
        if fw == "pytorch":
            cmd.append(f"--torch-threads={threads}")
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        return None
    return p


def run_workload(workload, rounds, block, frameworks, threads=None):
    procs = {}
    for fw, fn in VARIANTS:
        if fw not in frameworks:
            continue
        try:
            workloads.import_framework(fw)
        except ImportError:
            print(f"  ({workloads.LABELS[fw]} is not installed: skipped)")
            continue
        p = _start(workload, fw, fn, block, threads)
        if p is None:
            print(f"  ({_variant_name(fw, fn)} failed to start: skipped)")
            continue
        procs[(fw, fn)] = p
    times = {k: [] for k in procs}
    order = list(procs)
    for r in range(rounds):
        # Each round starts with another variant, and a pause separates blocks: thread
        # pools that spin for a while after their work (OpenMP, TF) would otherwise
        # always slow down the same neighbour.
        for k in order[r % len(order):] + order[:r % len(order)]:
            time.sleep(PAUSE_S)
            p = procs[k]
            p.stdin.write("go\n")
            p.stdin.flush()
            times[k].append(json.loads(p.stdout.readline())["step_ms"])
    for p in procs.values():
        p.stdin.write("stop\n")
        p.stdin.flush()
        p.wait()
    return {k: statistics.median(v) for k, v in times.items()}


def report(workload, medians):
    base = medians.get(("tapeflow", True))
    eager = medians.get(("tapeflow", False))
    title = {"cnn": "seed CNN step, batch 32",
             "mlp": f"MLP step ({MLP_DEPTH} x Dense({MLP_WIDTH}) + Dense({MLP_OUT})), "
                    f"batch {MLP_BATCH}"}[workload]
    print(f"\n{title}")
    print(f"  {'variant':<22}{'median step':>14}{'vs tapeflow function':>24}")
    for (fw, fn), ms in medians.items():
        ratio = f"{ms / base:.2f}x" if base else "-"
        print(f"  {_variant_name(fw, fn):<22}{ms:>11.3f} ms{ratio:>24}")
    if base and eager:
        print(f"  tapeflow function speed-up over tapeflow eager: {eager / base:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="mlp,cnn", help="workloads: mlp, cnn")
    parser.add_argument("--rounds", type=int, default=7, help="timed blocks per variant")
    parser.add_argument("--frameworks", default="tapeflow,tensorflow,pytorch")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads per worker (default: each library's own)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--torch-threads", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        workload, fw, fn, block = args.worker
        if args.torch_threads:
            import torch
            torch.set_num_threads(args.torch_threads)
        worker(workload, fw, fn == "1", int(block))
        return
    frameworks = args.frameworks.split(",")
    print(f"tf.function benchmark: {os.cpu_count()} CPUs, median of {args.rounds} interleaved "
          f"blocks per variant; load average {_load()} at start"
          + (f"; {args.threads} BLAS thread(s) per worker" if args.threads else ""))
    for workload in args.only.split(","):
        block = {"mlp": 50, "cnn": 3}[workload]
        report(workload, run_workload(workload, args.rounds, block, frameworks, args.threads))
        sys.stdout.flush()
    # Other processes competing for the cores distort multi-threaded BLAS most of all.
    print(f"\nload average {_load()} at the end")


def _load():
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
