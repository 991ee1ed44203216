"""Soak: many training steps of a tiny model, eager and traced, with RSS watched.

A leak of even one small object per step (a tape entry kept, a trace cached per
call, a buffer not reused) shows here as RSS growing with the step count. Each
phase runs a warm-up, then `--steps` steps, sampling the resident set size
(/proc/self/statm) ten times; the growth from the first sample after warm-up
to the last is reported, and the run fails (exit 1) above `--max-growth-mb`.

    python bench/soak.py [--steps 20000] [--max-growth-mb 2]
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tapeflow as tf
from tapeflow import keras

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


def _model():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1)])
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.3
                       for w in model.get_weights()])
    return model


def _step_fn(model, opt, x, y):
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    return step


def soak(name, step, steps, samples=10, warmup=200):
    for _ in range(warmup):
        step()
    gc.collect()
    trace = [(0, rss_mb())]
    t0 = time.perf_counter()
    every = max(steps // samples, 1)
    loss = None
    for i in range(1, steps + 1):
        loss = step()
        if i % every == 0:
            trace.append((i, rss_mb()))
    dt = time.perf_counter() - t0
    growth = trace[-1][1] - trace[0][1]
    print(f"{name}: {steps} steps in {dt:.1f} s ({dt / steps * 1e6:.0f} us/step), "
          f"final loss {float(loss):.4g}")
    print("  RSS MB at step: " + ", ".join(f"{i}: {r:.1f}" for i, r in trace))
    print(f"  growth after warm-up: {growth:+.2f} MB")
    return growth


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--max-growth-mb", type=float, default=2.0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((32, 8)).astype(np.float32))
    y = tf.constant(rng.standard_normal((32, 1)).astype(np.float32))
    print(f"RSS at start: {rss_mb():.1f} MB")
    model = _model()
    eager = soak("eager", _step_fn(model, keras.optimizers.Adam(1e-3), x, y), args.steps)
    model = _model()
    traced = soak("traced (tf.function)",
                  tf.function(_step_fn(model, keras.optimizers.Adam(1e-3), x, y)), args.steps)
    worst = max(eager, traced)
    ok = worst <= args.max_growth_mb
    print(f"{'OK' if ok else 'FAIL'}: largest growth {worst:+.2f} MB "
          f"(limit {args.max_growth_mb} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
