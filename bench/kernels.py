"""The seed CNN's kernels one by one: NumPy/OpenBLAS path against oneDNN, same process.

Every kernel of the training step (the two convolutions forward, the second's input
gradient, both filter gradients, the dense layer's three products, Adam over the dense
kernel) runs through tapeflow's backend entry points (`backend.conv`, `blas.matmul`,
`optim_kernels.adam_update`), once with TAPEFLOW_ONEDNN=0 (the NumPy kernels, which were
the only ones before oneDNN) and once with oneDNN, alternating call by call so a busy
machine slows both alike. Each figure is the median over `--reps` calls per round and
`--rounds` rounds; the 1-minute load average is printed before and after each batch.

    python bench/kernels.py                  # batch 32 and 128
    python bench/kernels.py --batch 32 --reps 15 --rounds 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tapeflow.backend import blas, jit, onednn, optim_kernels
from tapeflow.backend import conv as K

ONE = (1, 1)


def kernels(batch, rng):
    """name -> (flops, zero-argument callable) for one batch size."""
    f32 = np.float32
    x1 = rng.random((batch, 28, 28, 1), dtype=f32)
    w1 = rng.standard_normal((3, 3, 1, 32)).astype(f32) * 0.3
    x2 = rng.random((batch, 26, 26, 32), dtype=f32)
    w2 = rng.standard_normal((3, 3, 32, 64)).astype(f32) * 0.05
    dy1 = rng.standard_normal((batch, 26, 26, 32)).astype(f32)
    dy2 = rng.standard_normal((batch, 24, 24, 64)).astype(f32)
    h = rng.random((batch, 24 * 24 * 64), dtype=f32)
    w3 = rng.standard_normal((24 * 24 * 64, 128)).astype(f32) * 0.01
    g3 = rng.standard_normal((batch, 128)).astype(f32)
    c1 = 2.0 * batch * 26 * 26 * 9 * 32
    c2 = 2.0 * batch * 24 * 24 * 9 * 32 * 64
    d = 2.0 * batch * h.shape[1] * 128
    return {
        "conv1 forward": (c1, lambda: K.conv2d(x1, w1, ONE, "VALID", ONE)),
        "conv2 forward": (c2, lambda: K.conv2d(x2, w2, ONE, "VALID", ONE)),
        "conv2 input gradient": (c2, lambda: K.conv2d_backprop_input(x2.shape, w2, dy2, ONE,
                                                                     "VALID", ONE)),
        "conv1 filter gradient": (c1, lambda: K.conv2d_backprop_filter(x1, w1.shape, dy1, ONE,
                                                                       "VALID", ONE)),
        "conv2 filter gradient": (c2, lambda: K.conv2d_backprop_filter(x2, w2.shape, dy2, ONE,
                                                                       "VALID", ONE)),
        "dense forward h @ W": (d, lambda: blas.matmul(h, w3)),
        "dense input grad dy @ W.T": (d, lambda: blas.matmul(g3, w3.T)),
        "dense kernel grad h.T @ dy": (d, lambda: blas.matmul(h.T, g3)),
    }


def adam_case(rng):
    """Adam over the 4.7M-parameter dense kernel (numba when installed, else NumPy blocks)."""
    var = rng.standard_normal((24 * 24 * 64, 128)).astype(np.float32)
    m, v = np.zeros_like(var), np.zeros_like(var)
    g = rng.standard_normal(var.shape).astype(np.float32)
    step = [0]

    def run():
        step[0] += 1
        optim_kernels.adam_update(var, m, v, g, 1e-3, 0.9, 0.999, 1e-7, step[0])
    return run


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(cases, modes, reps, rounds):
    """{(name, mode): [seconds, ...]}, modes alternating call by call."""
    times = {(n, m): [] for n in cases for m in modes}
    for name, (_, fn) in cases.items():
        for m, env in modes.items():
            os.environ.update(env)
            fn()                                     # warm-up: primitives, numba, caches
    for _ in range(rounds):
        for name, (_, fn) in cases.items():
            for _ in range(reps):
                for m, env in modes.items():
                    os.environ.update(env)
                    times[(name, m)].append(_timed(fn))
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    if not onednn.available():
        print("oneDNN is not installed: only the NumPy kernels can be measured.")
    modes = {"numpy": {"TAPEFLOW_ONEDNN": "0"}}
    if onednn.available():
        modes["oneDNN"] = {"TAPEFLOW_ONEDNN": "1"}
    print(f"{os.cpu_count()} CPUs; pool threads {blas.pool_size()}; medians of {args.reps} "
          f"calls x {args.rounds} rounds, modes alternating call by call")
    head = f"{'kernel':<30}" + "".join(f"{m + ' ms':>12}{'GFLOP/s':>9}" for m in modes)
    for batch in args.batch:
        load0 = os.getloadavg()[0]
        cases = kernels(batch, rng)
        times = measure(cases, modes, args.reps, args.rounds)
        print(f"\nbatch {batch} (1-min load {load0:.1f} -> {os.getloadavg()[0]:.1f})")
        print(head + f"{'speed-up':>10}")
        for name, (flops, _) in cases.items():
            med = {m: statistics.median(times[(name, m)]) for m in modes}
            cells = "".join(f"{med[m] * 1e3:>12.2f}{flops / med[m] / 1e9:>9.1f}" for m in modes)
            ratio = f"{med['numpy'] / med['oneDNN']:>9.2f}x" if "oneDNN" in med else ""
            print(f"{name:<30}{cells}{ratio}")
    adam = {"adam": (0.0, adam_case(rng))}
    amodes = {"numpy blocks": {"TAPEFLOW_JIT": "0"}}
    if jit.kernels() is not None:
        amodes["numba"] = {"TAPEFLOW_JIT": "1"}
    load0 = os.getloadavg()[0]
    times = measure(adam, amodes, args.reps, args.rounds)
    cells = ", ".join(f"{m} {statistics.median(times[('adam', m)]) * 1e3:.2f} ms" for m in amodes)
    print(f"\nAdam, 4.7M-parameter dense kernel (load {load0:.1f} -> {os.getloadavg()[0]:.1f}): "
          f"{cells}")


if __name__ == "__main__":
    main()
