"""Input pipeline throughput: tapeflow's tf.data beside TensorFlow's, in one run.

The pipeline of the seed CNN tutorial, over Fashion-MNIST's training set
prepared as the tutorial prepares it (float32 in [0, 1], a channel axis):

    tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)

One timed round iterates one full epoch (1875 batches) and touches each
batch (reads one value), so lazy work cannot hide. Rounds alternate between
the frameworks, so a busy neighbour slows both alike; medians are reported
with the ratio TF / tapeflow (> 1: tapeflow is faster). Also timed: the
plain `batch(32)` pipeline (no shuffle), and building the dataset.

    python bench/data_bench.py [--rounds 5] [--quick] [--map]

Without Fashion-MNIST's files (Debian's dataset-fashion-mnist, or the Keras
cache) random images of the same shape and dtype are used, and it says so.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _data(quick: bool):
    try:
        from tapeflow.keras.datasets import fashion_mnist
        (x, y), _ = fashion_mnist.load_data()
        source = "Fashion-MNIST"
    except Exception as e:   # noqa: BLE001 - the benchmark still runs, and says why
        print(f"Fashion-MNIST not available ({str(e).splitlines()[0]}); using random images",
              file=sys.stderr)
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, 60000, dtype=np.uint8)
        source = "random images"
    if quick:
        x, y = x[:12000], y[:12000]
    x = (x / 255.0).astype(np.float32)[..., None]
    return x, y, source


def _epoch(ds) -> int:
    n, total = 0, 0.0
    for xb, yb in ds:
        total += float(xb.numpy().flat[0])   # touch every batch
        n += 1
    return n


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="12,000 images, 2 rounds")
    p.add_argument("--map", action="store_true",
                   help="also time a per-element map (cast, scale) before shuffle+batch, "
                        "and the same map after batch")
    args = p.parse_args(argv)
    rounds = 2 if args.quick else args.rounds
    x, y, source = _data(args.quick)

    import tapeflow
    frameworks = {"tapeflow": tapeflow}
    try:
        import tensorflow
        frameworks["tensorflow"] = tensorflow
    except ImportError:
        print("TensorFlow is not installed: timing tapeflow only", file=sys.stderr)

    print(f"data: {source}, x {x.shape} {x.dtype}, y {y.shape} {y.dtype}; "
          f"{rounds} rounds, medians")
    keys = ["shuffle+batch", "batch", "build"] + (
        ["map+shuffle+batch", "shuffle+batch+map"] if args.map else [])
    times = {name: {k: [] for k in keys} for name in frameworks}
    batches = {}
    for _ in range(rounds):
        for name, tf in frameworks.items():
            t = time.perf_counter()
            ds = tf.data.Dataset.from_tensor_slices((x, y))
            times[name]["build"].append(time.perf_counter() - t)
            shuffled = ds.shuffle(10000).batch(32)
            plain = ds.batch(32)
            t = time.perf_counter()
            batches[name] = _epoch(shuffled)
            times[name]["shuffle+batch"].append(time.perf_counter() - t)
            t = time.perf_counter()
            _epoch(plain)
            times[name]["batch"].append(time.perf_counter() - t)
            if args.map:
                def scale(image, label, tf=tf):
                    return tf.cast(image, tf.float32) * 2.0, label
                for key, pipe in (("map+shuffle+batch", ds.map(scale).shuffle(10000).batch(32)),
                                  ("shuffle+batch+map", ds.shuffle(10000).batch(32).map(scale))):
                    t = time.perf_counter()
                    _epoch(pipe)
                    times[name][key].append(time.perf_counter() - t)
    print(f"{'pipeline (one epoch)':<24}" + "".join(f"{n:>14}" for n in frameworks)
          + ("      TF/tapeflow" if len(frameworks) > 1 else ""))
    for key in keys:
        meds = {n: statistics.median(times[n][key]) for n in frameworks}
        row = f"{key:<24}" + "".join(f"{meds[n] * 1e3:>11.1f} ms" for n in frameworks)
        if len(frameworks) > 1:
            row += f"{meds['tensorflow'] / meds['tapeflow']:>15.2f}x"
        print(row)
    print(f"batches per epoch: {batches}")


if __name__ == "__main__":
    main()
