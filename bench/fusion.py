"""The seed CNN's tf.function training step with the plan's fusion on and off.

Each round runs `workloads.step_throughput` (the seed loop: Keras model, Adam,
metrics, `tf.function`) in a fresh process per setting, TAPEFLOW_FUSE=1 and =0
alternating, so both see the same machine load; prints per-round figures and
the medians (wall img/s, CPU-ms per step), with the 1-minute load average.

    python bench/fusion.py --batch 32 --rounds 5
    TAPEFLOW_ONEDNN=0 python bench/fusion.py --batch 32
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _worker(batch, budget):
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    import workloads
    print(json.dumps(workloads.step_throughput("tapeflow", True, batch, budget_s=budget)))


def _run(fuse, batch, budget):
    env = dict(os.environ, TAPEFLOW_FUSE=fuse, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, __file__, "--worker", "--batch", str(batch),
                          "--budget", str(budget)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=3.0, help="timed seconds per run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.batch, args.budget)
        return
    results = {"1": [], "0": []}
    for r in range(args.rounds):
        order = ("1", "0") if r % 2 == 0 else ("0", "1")
        for fuse in order:
            load = _load()
            res = _run(fuse, args.batch, args.budget)
            results[fuse].append(res)
            print(f"round {r} fuse={fuse} load={load}: {res['images_per_second']:.0f} img/s, "
                  f"{res['step_ms']:.1f} ms/step, {res['cpu_ms']:.1f} CPU-ms/step", flush=True)
    for fuse, name in (("1", "fused"), ("0", "unfused")):
        ips = statistics.median(r["images_per_second"] for r in results[fuse])
        cpu = statistics.median(r["cpu_ms"] for r in results[fuse])
        print(f"{name:8s} median: {ips:.0f} img/s, {cpu:.1f} CPU-ms/step "
              f"(batch {args.batch}, TAPEFLOW_ONEDNN={os.environ.get('TAPEFLOW_ONEDNN', '1')})")


if __name__ == "__main__":
    main()
