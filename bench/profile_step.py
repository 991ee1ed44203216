"""Profile of the seed CNN's training step: tapeflow beside PyTorch and TensorFlow.

The model (the seed tutorials' CNN): Conv2D(32,3,relu) -> Conv2D(64,3,relu) ->
Flatten -> Dense(128,relu) -> Dense(10,softmax), SparseCategoricalCrossentropy,
Adam(1e-3), on 28x28x1 inputs. tapeflow's step is written directly with its ops
(conv2d, matmul, relu, sparse softmax cross-entropy, GradientTape) and the
fused `optim_kernels.adam_update`, so it measures the kernels and the eager
engine without Keras.

Each framework runs in its own subprocess (so one's thread pools never spin
while another works), one after the other, `--rounds` times interleaved; a
step time is the median over `--steps` timed steps after warm-up, and each
framework's figure is the median over rounds. Ratios are of those medians,
from the same run. CPU-ms/step (process CPU time, all threads) is printed
too: on a machine other jobs keep busy it is the steadier measure of work,
though it also counts threads that spin while they wait. GFLOP/s is the step's
convolution and matmul FLOPs (bench/peak.py) over its median time, printed
beside the machine's sgemm peak (OpenBLAS and oneDNN, measured in a fresh
process at the start of the run).

    python bench/profile_step.py                     # batch 32 and 128, all frameworks
    python bench/profile_step.py --batch 32 --only tapeflow --profile
    python bench/profile_step.py --batch 128 --only tapeflow --profile-function

`--profile-function` breaks down the seed loop's `tf.function` step instead (Keras
model, Adam, metrics: bench/workloads.py), per plan step kernel, fused steps
(`Conv2D[bias_act]`, `MatMul[relu_grad]`, ...) included; each kernel's figure is
process CPU time (all threads) while it ran, so a pool-split kernel counts both cores,
and an update started on the pool (function/fusion.py's overlap) also shows in the
kernels that ran beside it; `TAPEFLOW_BLAS_THREADS=1` times each kernel alone.
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

# This checkout's tapeflow, not another one installed in the environment.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

H = W = 28
CLASSES = 10


def _data(batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, H, W, 1), dtype=np.float32)
    y = rng.integers(0, CLASSES, batch).astype(np.int32)
    return x, y


def _glorot(rng, shape, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, shape).astype(np.float32)


def _init_params(seed=0):
    """HWIO / (in, out) float32 weights, Keras's default initialisers (Glorot uniform, zeros)."""
    rng = np.random.default_rng(seed)
    return [
        _glorot(rng, (3, 3, 1, 32), 9, 9 * 32), np.zeros(32, np.float32),
        _glorot(rng, (3, 3, 32, 64), 9 * 32, 9 * 64), np.zeros(64, np.float32),
        _glorot(rng, (24 * 24 * 64, 128), 24 * 24 * 64, 128), np.zeros(128, np.float32),
        _glorot(rng, (128, CLASSES), 128, CLASSES), np.zeros(CLASSES, np.float32),
    ]


def _time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


# -- tapeflow -------------------------------------------------------------------------

def _tapeflow_step(batch):
    import tapeflow as tf
    from tapeflow.backend import optim_kernels as ok

    x_np, y_np = _data(batch)
    x, y = tf.constant(x_np), tf.constant(y_np)
    params = [tf.Variable(p) for p in _init_params()]
    slots = [(np.zeros_like(p._value), np.zeros_like(p._value)) for p in params]
    k1, b1, k2, b2, w3, b3, w4, b4 = params
    it = [0]

    def step():
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "VALID") + b1)
            h = tf.nn.relu(tf.nn.conv2d(h, k2, 1, "VALID") + b2)
            h = tf.reshape(h, [batch, -1])
            h = tf.nn.relu(tf.matmul(h, w3) + b3)
            logits = tf.matmul(h, w4) + b4
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, params)
        it[0] += 1
        for p, g, (m, v) in zip(params, grads, slots):
            ok.adam_update(p._value, m, v, g._value, 1e-3, 0.9, 0.999, 1e-7, it[0])
        return loss

    return step


class _Timers:
    """Wraps every OpDef kernel and a few backend functions with accumulating timers."""

    def __init__(self):
        self.total = {}
        self.count = {}

    def wrap(self, name, fn):
        total, count = self.total, self.count
        total.setdefault(name, 0.0)
        count.setdefault(name, 0)
        perf = getattr(self, "clock", time.perf_counter)

        def timed(*a, **k):
            t0 = perf()
            try:
                return fn(*a, **k)
            finally:
                total[name] += perf() - t0
                count[name] += 1
        return timed

    def install_plan(self):
        """Wraps every kernel a tf.function plan may call, fused ones too, and drops the
        inline forms (so that every step is a timed call); times in process CPU."""
        import gc

        from tapeflow.framework.op import OpDef
        self.clock = time.process_time
        for op in [o for o in gc.get_objects() if isinstance(o, OpDef)]:
            op.kernel = self.wrap(op.name, op.kernel)
            if getattr(op, "residual_kernel", None) is not None:
                op.residual_kernel = self.wrap(op.name, op.residual_kernel)
            for role, fn in list(op.fuse.items()):
                if callable(fn):
                    op.fuse[role] = self.wrap(f"{op.name}[{role}]", fn)
            op.inline = None

    def install(self):
        import gc

        from tapeflow.backend import conv as K
        from tapeflow.backend import optim_kernels as ok
        from tapeflow.framework.op import OpDef

        for op in [o for o in gc.get_objects() if isinstance(o, OpDef)]:
            op.kernel = self.wrap(op.name, op.kernel)
            if getattr(op, "residual_kernel", None) is not None:   # runs instead under a tape
                op.residual_kernel = self.wrap(op.name, op.residual_kernel)
        # Inner stages, reported indented under their op (their time is inside the op's).
        for mod, names in ((K, getattr(K, "PROFILED", ("im2col", "col2im"))),
                           (ok, ("adam_update",))):
            for n in names:
                if hasattr(mod, n):
                    setattr(mod, n, self.wrap("  ." + n, getattr(mod, n)))

    def reset(self):
        for k in self.total:
            self.total[k] = 0.0
            self.count[k] = 0


def _tapeflow_profile(batch, warmup, steps):
    """Per-op kernel time per step (ms), and the step time with the timers on."""
    timers = _Timers()
    timers.install()
    step = _tapeflow_step(batch)
    for _ in range(warmup):
        step()
    timers.reset()
    times = _time_steps(step, 0, steps)
    per = {k: (v * 1e3 / steps, timers.count[k] / steps) for k, v in timers.total.items()
           if timers.count[k]}
    return {"step_ms": statistics.median(times) * 1e3, "mean_ms": sum(times) / steps * 1e3,
            "ops": per}


def _function_profile(batch, warmup, steps):
    """Per-kernel CPU ms per step of the seed loop's tf.function step (see the docstring)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import workloads
    timers = _Timers()
    timers.install_plan()
    loop = workloads.seed_loop("tapeflow", True)
    x, y = loop.batch(*workloads.synthetic_batch(batch))
    for _ in range(warmup):
        loop.train_step(x, y)
    loop.sync()
    timers.reset()
    times, cpu0 = [], time.process_time()
    for _ in range(steps):
        t0 = time.perf_counter()
        loop.train_step(x, y)
        times.append(time.perf_counter() - t0)
    loop.sync()
    per = {k: (v * 1e3 / steps, timers.count[k] / steps) for k, v in timers.total.items()
           if timers.count[k]}
    return {"step_ms": statistics.median(times) * 1e3,
            "mean_ms": (time.process_time() - cpu0) / steps * 1e3, "ops": per}


# -- PyTorch ------------------------------------------------------------------------------

def _torch_step(batch):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    x_np, y_np = _data(batch)
    p = _init_params()
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(24 * 24 * 64, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, CLASSES))
    with torch.no_grad():
        for layer, (k, b) in zip([model[0], model[2]], [(p[0], p[1]), (p[2], p[3])]):
            layer.weight.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1).copy()))
            layer.bias.copy_(torch.from_numpy(b))
        for layer, (k, b) in zip([model[5], model[7]], [(p[4], p[5]), (p[6], p[7])]):
            layer.weight.copy_(torch.from_numpy(k.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    x = torch.from_numpy(x_np.transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(y_np.astype(np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


# -- TensorFlow (tf.function over a Keras model, as a Keras user would write it) ---------

def _tf_step(batch):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    x_np, y_np = _data(batch)
    model = tf.keras.Sequential([
        tf.keras.Input((H, W, 1)),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.Conv2D(64, 3, activation="relu"),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(CLASSES, activation="softmax")])
    model.set_weights(_init_params())
    opt = tf.keras.optimizers.Adam(1e-3)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
    x, y = tf.constant(x_np), tf.constant(y_np)

    @tf.function
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def step():
        return train(x, y).numpy()

    return step


_STEPS = {"tapeflow": _tapeflow_step, "torch": _torch_step, "tf": _tf_step}


def _worker(args):
    if args.profile_function:
        out = _function_profile(args.batch, args.warmup, args.steps)
    elif args.profile:
        out = _tapeflow_profile(args.batch, args.warmup, args.steps)
    else:
        step = _STEPS[args.worker](args.batch)
        for _ in range(args.warmup):
            step()
        cpu0 = time.process_time()
        times = _time_steps(step, 0, args.steps)
        cpu = (time.process_time() - cpu0) / args.steps
        out = {"step_ms": statistics.median(times) * 1e3, "mean_ms": sum(times) / len(times) * 1e3,
               "cpu_ms": cpu * 1e3}
    print("RESULT " + json.dumps(out))


def _run_worker(name, batch, args, profile=False):
    cmd = [sys.executable, __file__, "--worker", name, "--batch", str(batch),
           "--steps", str(args.steps), "--warmup", str(args.warmup)]
    if profile:
        cmd.append("--profile-function" if args.profile_function else "--profile")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(f"{name} (batch {batch}) failed:\n{proc.stderr[-3000:]}\n")
    return None


def _peak():
    """The sgemm peak, measured by bench/peak.py in a fresh process (None if it fails)."""
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([sys.executable, os.path.join(here, "peak.py"), "--json"],
                          capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return None


def _print_profile(prof):
    ops = sorted(prof["ops"].items(), key=lambda kv: -kv[1][0])
    kern = sum(ms for name, (ms, _) in ops if not name.startswith("  ."))
    print(f"  step with timers on: median {prof['step_ms']:.1f} ms")
    print(f"  {'op kernel':<40}{'ms/step':>9}{'calls':>7}")
    for name, (ms, calls) in ops:
        print(f"  {name:<40}{ms:>9.2f}{calls:>7.0f}")
    print(f"  {'sum of op kernels':<40}{kern:>9.2f}")
    adam = prof["ops"].get("  .adam_update", (0.0, 0))[0]
    print(f"  {'Adam (outside ops)':<40}{adam:>9.2f}")
    print(f"  {'everything else (dispatch, tape, Python)':<40}"
          f"{prof['mean_ms'] - kern - adam:>9.2f}  (of the mean step {prof['mean_ms']:.1f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="tapeflow,torch,tf",
                    help="comma-separated subset of tapeflow,torch,tf")
    ap.add_argument("--profile", action="store_true", help="per-op breakdown of tapeflow's step")
    ap.add_argument("--profile-function", action="store_true",
                    help="per-kernel CPU breakdown of the seed loop's tf.function step")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.batch = args.batch[0]
        return _worker(args)

    names = [n for n in args.only.split(",") if n]
    print(f"{os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
          f", numpy {np.__version__}; medians of {args.steps} steps, median over "
          f"{args.rounds} rounds")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import peak
    load0 = os.getloadavg()[0]
    limit = _peak()
    if limit:
        print(f"{peak.describe(limit)}  (load {load0:.1f})")
    for batch in args.batch:
        res = {n: [] for n in names}
        cpu = {n: [] for n in names}
        load0 = os.getloadavg()[0]
        for _ in range(args.rounds):
            for n in names:
                r = _run_worker(n, batch, args)
                if r:
                    res[n].append(r["step_ms"])
                    cpu[n].append(r["cpu_ms"])
        print(f"\nbatch {batch}  (1-min load average {load0:.1f} -> {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs)")
        med = {n: statistics.median(v) for n, v in res.items() if v}
        for n, ms in med.items():
            rounds = " ".join(f"{v:.1f}" for v in res[n])
            print(f"  {n:<10}{ms:>8.1f} ms/step {batch / ms * 1e3:>8.0f} img/s "
                  f"{peak.step_flops(batch) / ms / 1e6:>6.1f} GFLOP/s "
                  f"{statistics.median(cpu[n]):>8.1f} CPU-ms/step   rounds: {rounds}")
        if limit and "tapeflow" in med:
            best = max(v for v in (limit["openblas"], limit["onednn"]) if v)
            print(f"  tapeflow: {peak.step_flops(batch) / med['tapeflow'] / 1e6 / best * 100:.0f}% "
                  f"of the sgemm peak ({peak.step_flops(batch) / 1e9:.2f} GFLOP per step)")
        others = [med[n] for n in med if n != "tapeflow"]
        if "tapeflow" in med and others:
            print(f"  best other / tapeflow = {min(others) / med['tapeflow']:.2f}x")
        if (args.profile or args.profile_function) and "tapeflow" in names:
            prof = _run_worker("tapeflow", batch, args, profile=True)
            if prof:
                _print_profile(prof)


if __name__ == "__main__":
    main()
