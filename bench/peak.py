"""The limit a training step is measured against: its FLOPs and the machine's sgemm peak.

`step_flops(batch)` counts the seed CNN step's multiply-adds (2 FLOPs each) in its
convolutions and matrix products, forward and backward: the first convolution's input
gradient is not computed (its input is data), every other layer does three products of
its forward size. Elementwise work (bias, ReLU, softmax, Adam) is left out: it is
memory-bound and small in FLOPs. 92.8 MFLOP per image.

`sgemm_peak()` times a large float32 product (n x n by n x n, best of `repeats`) with
NumPy's OpenBLAS on its own threads (all cores) and, where installed, with oneDNN's
matmul on as many OpenMP threads: the best either library reaches on this machine.
Run it in a fresh process (the benchmarks do): tapeflow sets OpenBLAS single-threaded
once its pool is used.

    python bench/peak.py            # prints both peaks and the step's FLOPs
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

# (kind, per-image forward MACs, products in the backward+forward pass); seed CNN, 28x28x1.
_LAYERS = (
    ("conv1", 26 * 26 * 3 * 3 * 1 * 32, 2),      # forward + filter gradient
    ("conv2", 24 * 24 * 3 * 3 * 32 * 64, 3),     # forward + input and filter gradients
    ("dense", 24 * 24 * 64 * 128, 3),
    ("dense_out", 128 * 10, 3),
)


def step_flops(batch: int) -> float:
    """FLOPs of one seed-CNN training step's convolutions and matrix products."""
    return float(batch) * sum(2.0 * macs * passes for _, macs, passes in _LAYERS)


def _best_seconds(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def sgemm_peak(n: int = 2048, repeats: int = 5) -> dict:
    """GFLOP/s of an n^3 float32 product: {'openblas': ..., 'onednn': ... or None, 'n': n}."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)
    flops = 2.0 * n ** 3
    res = {"n": n, "openblas": flops / _best_seconds(lambda: np.matmul(a, b, out=out),
                                                    repeats) / 1e9, "onednn": None}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ["TAPEFLOW_ONEDNN_THREADS"] = str(cores)     # one call on all cores
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tapeflow.backend import onednn
    if onednn.available():
        res["onednn"] = flops / _best_seconds(lambda: onednn.matmul(a, b, out=out),
                                              repeats) / 1e9
    return res


def describe(peak: dict) -> str:
    """One line: the measured peaks."""
    dnnl = "not installed" if peak.get("onednn") is None else f"{peak['onednn']:.0f} GFLOP/s"
    return (f"sgemm peak ({peak['n']}^3 float32, best of runs, all cores): OpenBLAS "
            f"{peak['openblas']:.0f} GFLOP/s, oneDNN {dnnl}")


if __name__ == "__main__":
    p = sgemm_peak()
    if "--json" in sys.argv:
        print("RESULT " + json.dumps(p))
    else:
        print(describe(p))
        for b in (32, 128):
            print(f"seed CNN step, batch {b}: {step_flops(b) / 1e9:.2f} GFLOP")
