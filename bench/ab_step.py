"""Interleaved A/B of the seed CNN's tf.function (or `--eager`) step, all variants in one process.

Each variant is a set of environment settings applied while its training loop
(`workloads.seed_loop`: Keras model, Adam, metrics, `tf.function`) is built and
traced and while its steps run; the loops then take turns, `--block` steps
each, for `--rounds` rounds (order reversed every other round), so every
variant sees the same machine load. Prints, per variant, the median wall
time and CPU time per step (process CPU, all threads), system time and page
faults: on a shared machine the CPU time is the figure to compare.

    python bench/ab_step.py --batch 32 TAPEFLOW_FUSE=0 TAPEFLOW_FUSE=1
    python bench/ab_step.py --batch 128 --rounds 12 TAPEFLOW_ONEDNN=0 ""
    python bench/ab_step.py --eager --batch 128 TAPEFLOW_FUSE=0 ""

Settings read at trace time (TAPEFLOW_FUSE for plans) or at each call (TAPEFLOW_ONEDNN,
TAPEFLOW_ONEDNN_THREADS, TAPEFLOW_FUSE for eager layers) both work; an empty string is
the default.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


class _Env:
    """Applies `settings` (a dict) to os.environ inside a `with` block."""

    def __init__(self, settings):
        self.settings, self.old = settings, {}

    def __enter__(self):
        self.old = {k: os.environ.get(k) for k in self.settings}
        os.environ.update(self.settings)

    def __exit__(self, *exc):
        for k, v in self.old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _parse(variant):
    return dict(kv.split("=", 1) for kv in variant.split(",") if kv)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", help="ENV=VALUE[,ENV=VALUE...] per variant")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=16)
    ap.add_argument("--block", type=int, default=5, help="steps per turn")
    ap.add_argument("--eager", action="store_true", help="the eager loop, not tf.function")
    args = ap.parse_args()
    import workloads
    loops = []
    for v in args.variants:
        env = _Env(_parse(v))
        with env:
            loop = workloads.seed_loop("tapeflow", not args.eager)
            x, y = loop.batch(*workloads.synthetic_batch(args.batch))
            for _ in range(3):
                loop.train_step(x, y)
            loop.sync()
        loops.append((v or "default", env, loop, x, y))
    res = {name: {"wall": [], "cpu": [], "sys": [], "faults": []} for name, *_ in loops}
    load0 = os.getloadavg()[0]
    for r in range(args.rounds):
        for name, env, loop, x, y in (loops if r % 2 == 0 else loops[::-1]):
            with env:
                r0, t0, c0 = resource.getrusage(0), time.perf_counter(), time.process_time()
                for _ in range(args.block):
                    loop.train_step(x, y)
                loop.sync()
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                r1 = resource.getrusage(0)
            out = res[name]
            out["wall"].append(wall / args.block * 1e3)
            out["cpu"].append(cpu / args.block * 1e3)
            out["sys"].append((r1.ru_stime - r0.ru_stime) / args.block * 1e3)
            out["faults"].append((r1.ru_minflt - r0.ru_minflt) / args.block)
    print(f"batch {args.batch}: {args.rounds} rounds x {args.block} steps per variant, "
          f"1-min load {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, out in res.items():
        med = {k: statistics.median(v) for k, v in out.items()}
        print(f"  {name:<36}{med['wall']:8.1f} ms/step {args.batch / med['wall'] * 1e3:7.0f} "
              f"img/s {med['cpu']:8.1f} CPU-ms/step  (system {med['sys']:.2f} ms, "
              f"{med['faults']:.0f} faults/step)")


if __name__ == "__main__":
    main()
