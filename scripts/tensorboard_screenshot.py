"""Trains briefly with the TensorBoard callback, serves the logs with the real TensorBoard
and saves a screenshot of its page taken by headless Chromium.

    python scripts/tensorboard_screenshot.py --out runs/tensorboard
    (bash scripts/tensorboard_screenshot.sh installs what it needs first)

Writes <out>/logs (event files) and screenshots of three dashboards: <out>/scalars.png,
<out>/histograms.png (weights and gradients) and <out>/graphs.png (the train step).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tapeflow as tf


def train(logdir: str) -> None:
    """A small classifier trained for a few epochs with every TensorBoard feature on."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 16)).astype(np.float32)
    y = (x[:, :4].sum(axis=1) > 0).astype(np.int32) + (x[:, 4] > 1).astype(np.int32)
    model = tf.keras.Sequential([
        tf.keras.layers.Input((16,)),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(32, activation="relu"),
        tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    callback = tf.keras.callbacks.TensorBoard(logdir, histogram_freq=1, update_freq=8)
    model.fit(x, y, epochs=8, batch_size=64, validation_split=0.2, callbacks=[callback],
              verbose=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60.0) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.time() > deadline:
                raise RuntimeError(f"TensorBoard did not answer at {url}") from None
            time.sleep(0.5)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("headless Chromium not found: apt-get install chromium "
                     "(scripts/tensorboard_screenshot.sh does it)")


def screenshot(url: str, path: str, wait_ms: int) -> None:
    # TensorBoard draws its charts with WebGL: headless Chromium gets it from SwiftShader,
    # its software renderer.
    cmd = [chromium(), "--headless", "--no-sandbox", "--use-angle=swiftshader",
           "--enable-unsafe-swiftshader", "--hide-scrollbars",
           "--disable-dev-shm-usage", "--window-size=1400,1000",
           f"--virtual-time-budget={wait_ms}", f"--screenshot={os.path.abspath(path)}", url]
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join("runs", "tensorboard"))
    p.add_argument("--wait-ms", type=int, default=20000,
                   help="page time Chromium gives TensorBoard to load its data")
    args = p.parse_args(argv)
    logdir = os.path.join(args.out, "logs")
    shutil.rmtree(logdir, ignore_errors=True)
    train(logdir)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", logdir, "--host", "127.0.0.1",
         "--port", str(port), "--reload_interval", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/data/runs")
        # The SCALARS page draws SVG (the TIME SERIES page's WebGL charts stay blank in
        # headless Chromium).
        for name, page in (("scalars", "#scalars"), ("histograms", "#histograms"),
                           ("graphs", "#graphs")):
            path = os.path.join(args.out, f"{name}.png")
            screenshot(f"{base}/{page}", path, args.wait_ms)
            print(f"{name}: {path}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
