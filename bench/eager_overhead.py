"""Eager dispatch overhead: tapeflow beside TensorFlow and PyTorch, in one run.

Two workloads, each a forward pass under a gradient tape plus its gradient:

  (a) `y = x * x` on a scalar Variable, then dy/dx;
  (b) a chain of 100 `h = sin(h) * 1.01` on a 16-vector, then the gradient.

Both are so small that the time is almost all framework overhead: op
dispatch, tensor construction, tape recording and the backward walk. Each
framework runs interleaved rounds (so a busy neighbour slows all alike); the
median over rounds is reported, with ratios against tapeflow from the same
run. A framework that is not installed is skipped with a note.

    python bench/eager_overhead.py [--rounds 15] [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CHAIN = 100


def _tapeflow():
    import tapeflow as tf
    x = tf.Variable(3.0)
    h0 = tf.Variable(np.linspace(-1, 1, 16).astype(np.float32))

    def square():
        with tf.GradientTape() as tape:
            y = x * x
        return tape.gradient(y, x)

    def chain():
        with tf.GradientTape() as tape:
            h = h0
            for _ in range(CHAIN):
                h = tf.sin(h) * 1.01
        return tape.gradient(h, h0)

    return square, chain, lambda g: np.asarray(g)


def _tensorflow():
    import tensorflow as tf
    x = tf.Variable(3.0)
    h0 = tf.Variable(np.linspace(-1, 1, 16).astype(np.float32))

    def square():
        with tf.GradientTape() as tape:
            y = x * x
        return tape.gradient(y, x)

    def chain():
        with tf.GradientTape() as tape:
            h = h0
            for _ in range(CHAIN):
                h = tf.sin(h) * 1.01
        return tape.gradient(h, h0)

    return square, chain, lambda g: g.numpy()


def _torch():
    import torch
    torch.set_num_threads(1)
    x = torch.tensor(3.0, requires_grad=True)
    h0 = torch.tensor(np.linspace(-1, 1, 16).astype(np.float32), requires_grad=True)

    def square():
        y = x * x
        (g,) = torch.autograd.grad(y, x)
        return g

    def chain():
        h = h0
        for _ in range(CHAIN):
            h = torch.sin(h) * 1.01
        (g,) = torch.autograd.grad(h.sum(), h0)
        return g

    return square, chain, lambda g: g.detach().numpy()


FRAMEWORKS = [("tapeflow", _tapeflow), ("TensorFlow", _tensorflow), ("PyTorch", _torch)]


def _time_per_call(fn, budget_s):
    """Seconds per call of fn, over as many calls as fit in about budget_s."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= budget_s / 4 or n >= 1 << 20:
            break
        n *= 4
    return dt / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = ap.parse_args(argv)
    rounds = 5 if args.quick else args.rounds
    budget = 0.05 if args.quick else 0.2

    loaded = []
    for name, make in FRAMEWORKS:
        try:
            square, chain, to_np = make()
        except ImportError as e:
            print(f"note: {name} skipped (not installed: {e.name})")
            continue
        # Warm up and check all frameworks compute the same gradients.
        loaded.append((name, square, chain, to_np(square()), to_np(chain())))
    ref = loaded[0]
    for name, _, _, ga, gb in loaded[1:]:
        if not (np.allclose(ga, ref[3], rtol=1e-4) and np.allclose(gb, ref[4], rtol=1e-3)):
            print(f"warning: {name}'s gradients differ from tapeflow's", file=sys.stderr)

    times = {(name, w): [] for name, *_ in loaded for w in "ab"}
    for _ in range(rounds):
        for name, square, chain, _, _ in loaded:
            times[(name, "a")].append(_time_per_call(square, budget))
            times[(name, "b")].append(_time_per_call(chain, budget))

    pyver = sys.version.split()[0]
    print(f"eager overhead, median of {rounds} interleaved rounds (python {pyver})")
    labels = {"a": "(a) x*x + grad, scalar Variable",
              "b": f"(b) {CHAIN} x sin(h)*1.01 + grad, 16-vector"}
    print("(best: the fastest round, least disturbed by other processes)")
    for w in "ab":
        print(labels[w])
        base = statistics.median(times[("tapeflow", w)])
        best_base = min(times[("tapeflow", w)])
        for name, *_ in loaded:
            med, best = statistics.median(times[(name, w)]), min(times[(name, w)])
            unit, scale = ("us", 1e6) if med < 1e-3 else ("ms", 1e3)
            print(f"  {name:<11} median {med * scale:8.1f} {unit} {med / base:6.2f}x tapeflow"
                  f"   best {best * scale:8.1f} {unit} {best / best_base:6.2f}x")


if __name__ == "__main__":
    main()
