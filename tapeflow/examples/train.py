"""The main job: seed 000's CNN trained with a GradientTape loop under tf.function.

Runs the program of the first seed tutorial (a custom training loop: `tf.GradientTape`,
`optimizer.apply_gradients`, Keras metrics, `tf.data`, `@tf.function`) on MNIST, or on
Fashion-MNIST when MNIST's file is not on this machine, and then writes a plot of the training
curves (matplotlib), a chart of the gradients' flow through the layers over training
(`tapeflow.debug`) and the trained model. Apart from that chart it is written against the
public TF2 API only: an ordinary TensorFlow program whose import line says `tapeflow`.

Usage::

    python -m tapeflow.examples.train                      # defaults: 2 epochs, batch 32
    tapeflow-train --dataset fashion_mnist --epochs 1 --out runs/fm
    python -m tapeflow.examples.train --limit 512 --epochs 1   # a quick smoke run
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

import tapeflow as tf
from tapeflow import debug as tfdebug

DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
# The seed's per-epoch line, verbatim.
SEED_TEMPLATE = ("에포크: {}, 손실: {:.5f}, 정확도: {:.2f}%, 테스트 손실: {:.5f}, "
                 "테스트 정확도: {:.2f}%")
EN_TEMPLATE = ("epoch {}: loss {:.5f}, accuracy {:.2f}%, test loss {:.5f}, "
               "test accuracy {:.2f}% ({:.1f} s, {:.0f} img/s)")
# Points per epoch on the training curve of the plot.
CURVE_POINTS_PER_EPOCH = 50


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="tapeflow-train",
        description="Train seed 000's CNN (Conv2D 32, Conv2D 64, Dense 128, Dense 10) with a "
                    "GradientTape loop; write training curves and gradient flow (PNG) and "
                    "the model.")
    p.add_argument("--epochs", type=int, default=2, help="passes over the training set (2)")
    p.add_argument("--batch-size", type=int, default=32, help="examples per step (32)")
    p.add_argument("--dataset", choices=sorted(DATASETS), default=None,
                   help="default: mnist if its file is present, else fashion_mnist")
    p.add_argument("--eager", action="store_true",
                   help="run the steps eagerly instead of under tf.function")
    p.add_argument("--out", default=os.path.join("runs", "train"),
                   help="directory for curves.png, gradients.png and model.keras (runs/train)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="train on the first N training examples and test on the first N "
                        "test examples (a quick smoke run)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    return args


def load_dataset(name: str | None):
    """Loads (x_train, y_train), (x_test, y_test) and the dataset's display name.

    With `name` None, MNIST is tried first and Fashion-MNIST used when MNIST's file is
    missing (the message says so); a name given explicitly is loaded or fails loudly.
    """
    if name is None:
        try:
            return tf.keras.datasets.mnist.load_data(), "mnist"
        except OSError as e:  # the loader's own error says where it looked
            print(f"MNIST is not available ({_first_line(e)});\n"
                  f"using Fashion-MNIST instead (--dataset to choose).", flush=True)
            name = "fashion_mnist"
    module = getattr(tf.keras.datasets, name)
    return module.load_data(), name


def _first_line(e: Exception) -> str:
    """The error's first sentence: the loader's full message (where to put the file) is long."""
    text = str(e).strip().split(". ")[0].splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def build_model():
    """Seed 000's CNN, built with the functional API exactly as the seed builds it."""
    input_ = tf.keras.layers.Input(shape=(28, 28, 1))
    x = tf.keras.layers.Conv2D(32, 3, activation="relu")(input_)
    x = tf.keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(128, activation="relu")(x)
    output_ = tf.keras.layers.Dense(10, activation="softmax")(x)
    return tf.keras.models.Model(input_, output_)


class Trainer:
    """The seed's loss, optimizer, metrics and train/test steps around one model."""

    def __init__(self, model, use_function: bool = True, flow_every: int = 1):
        self.model = model
        self.loss_function = tf.keras.losses.SparseCategoricalCrossentropy()
        self.optimizer = tf.keras.optimizers.Adam()
        self.train_loss = tf.keras.metrics.Mean()
        self.train_acc = tf.keras.metrics.SparseCategoricalAccuracy()
        self.test_loss = tf.keras.metrics.Mean()
        self.test_acc = tf.keras.metrics.SparseCategoricalAccuracy()
        # Per-layer gradient statistics every `flow_every` steps (drawn as gradients.png).
        self.gradient_flow = tfdebug.GradientFlowRecorder(model, every_n_batches=flow_every)
        # Same code either way: tf.function traces the Python step once per input signature.
        wrap = tf.function if use_function else (lambda f: f)
        self.train_step = wrap(self._train_step)
        self.test_step = wrap(self._test_step)

    def _train_step(self, images, labels):
        with tf.GradientTape() as tape:
            predictions = self.model(images)
            loss = self.loss_function(labels, predictions)
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.gradient_flow.record(gradients)
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
        self.train_loss(loss)
        self.train_acc(labels, predictions)

    def _test_step(self, images, labels):
        predictions = self.model(images)
        loss = self.loss_function(labels, predictions)
        self.test_loss(loss)
        self.test_acc(labels, predictions)

    def reset(self):
        for m in (self.train_loss, self.train_acc, self.test_loss, self.test_acc):
            m.reset_state()


def train(args: argparse.Namespace) -> dict:
    """Runs the whole job; returns the history and final numbers (also printed)."""
    tf.random.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test), name = _prepared_data(args)
    print(f"{DATASETS[name]}: {len(x_train)} training and {len(x_test)} test images; "
          f"batch {args.batch_size}, {args.epochs} epoch(s), "
          f"{'eager' if args.eager else 'tf.function'} steps", flush=True)

    train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                .shuffle(10000, seed=args.seed).batch(args.batch_size))
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(args.batch_size)

    model = build_model()
    model.summary()
    steps = math.ceil(len(x_train) / args.batch_size)
    every = max(steps // CURVE_POINTS_PER_EPOCH, 1)
    trainer = Trainer(model, use_function=not args.eager, flow_every=every)
    history = {"train": {"x": [], "loss": [], "accuracy": []},
               "test": {"x": [], "loss": [], "accuracy": []}}
    results = {}
    for epoch in range(args.epochs):
        print(f"Epoch {epoch + 1}/{args.epochs}", flush=True)
        seen, train_time = _train_epoch(trainer, train_ds, epoch, steps, every, history)
        for test_images, test_labels in test_ds:
            trainer.test_step(test_images, test_labels)
        results = {
            "loss": float(trainer.train_loss.result()),
            "accuracy": float(trainer.train_acc.result()),
            "test_loss": float(trainer.test_loss.result()),
            "test_accuracy": float(trainer.test_acc.result()),
            "images_per_second": seen / train_time,
        }
        history["test"]["x"].append(epoch + 1)
        history["test"]["loss"].append(results["test_loss"])
        history["test"]["accuracy"].append(results["test_accuracy"])
        print(SEED_TEMPLATE.format(epoch + 1, trainer.train_loss.result(),
                                   trainer.train_acc.result() * 100,
                                   trainer.test_loss.result(),
                                   trainer.test_acc.result() * 100))
        print(EN_TEMPLATE.format(epoch + 1, results["loss"], results["accuracy"] * 100,
                                 results["test_loss"], results["test_accuracy"] * 100,
                                 train_time, results["images_per_second"]), flush=True)
    return _finish(args, model, trainer, history, results, name, x_test)


def _train_epoch(trainer, train_ds, epoch, steps, every, history):
    """One epoch of steps with the progress bar; appends windowed train curves to
    `history`. Returns (examples seen, seconds)."""
    trainer.reset()
    bar = tf.keras.utils.Progbar(steps, stateful_metrics=["loss", "accuracy"])
    # Sums over the epoch so far, to turn running means into per-window means.
    prev = (0, 0.0, 0, 0.0)     # (steps, loss sum, examples, correct)
    seen = 0
    # Into a file or pipe the bar only prints its final line; say how far we are every
    # tenth of the epoch instead, so a logged run shows progress.
    log_every = 0 if sys.stdout.isatty() else max(steps // 10, 1)
    start = time.perf_counter()
    for step, (images, labels) in enumerate(train_ds, 1):
        trainer.train_step(images, labels)
        seen += int(images.shape[0])
        loss, acc = float(trainer.train_loss.result()), float(trainer.train_acc.result())
        bar.update(step, values=[("loss", loss), ("accuracy", acc)])
        if log_every and step % log_every == 0 and step < steps:
            print(f"  {step}/{steps} - {time.perf_counter() - start:.0f}s - loss: {loss:.4f}"
                  f" - accuracy: {acc:.4f}", flush=True)
        if step % every == 0 or step == steps:
            cur = (step, loss * step, seen, acc * seen)
            history["train"]["x"].append(epoch + step / steps)
            history["train"]["loss"].append((cur[1] - prev[1]) / (cur[0] - prev[0]))
            history["train"]["accuracy"].append((cur[3] - prev[3]) / (cur[2] - prev[2]))
            prev = cur
    return seen, time.perf_counter() - start


def _finish(args, model, trainer, history, results, name, x_test):
    """Writes the charts and the model, checks the model reloads, prints where."""
    os.makedirs(args.out, exist_ok=True)
    plot_path = os.path.join(args.out, "curves.png")
    gradients_path = os.path.join(args.out, "gradients.png")
    try:
        _plot(plot_path, history, DATASETS[name])
        trainer.gradient_flow.plot(
            gradients_path, title=f"{DATASETS[name]}: gradient norm per layer over training")
    except ImportError as e:     # tapeflow runs on NumPy alone; the charts need matplotlib
        print(f"no charts written: {e}", flush=True)
        plot_path = gradients_path = None
    model_path = os.path.join(args.out, "model.keras")
    model.save(model_path)
    _check_reload(model_path, model, x_test[:256])
    print(f"final test accuracy: {results['test_accuracy'] * 100:.2f}% "
          f"({DATASETS[name]}, {args.epochs} epoch(s))")
    if plot_path is not None:
        print(f"training curves: {plot_path}")
        print(f"gradient flow: {gradients_path}")
    print(f"model: {model_path}")
    return {"history": history, "results": results, "dataset": name,
            "plot": plot_path, "gradients": gradients_path, "model": model_path,
            "gradient_flow": trainer.gradient_flow}


def _prepared_data(args):
    """The dataset as the seed prepares it: scaled to [0, 1], a channel axis added."""
    ((x_train, y_train), (x_test, y_test)), name = load_dataset(args.dataset)
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
        x_test, y_test = x_test[:args.limit], y_test[:args.limit]
    # float32 straight away: dividing uint8 by 255.0 would give float64, which the model
    # would only cast back at every step.
    x_train = (x_train / np.float32(255.0))[..., np.newaxis]
    x_test = (x_test / np.float32(255.0))[..., np.newaxis]
    return (x_train, y_train), (x_test, y_test), name


def _plot(path: str, history: dict, title: str) -> None:
    """Loss and accuracy, train and test, side by side (matplotlib, written to `path`)."""
    # Imported here: matplotlib is only needed once training is done.
    import matplotlib
    matplotlib.use("Agg")            # files only: no display needed
    import matplotlib.pyplot as plt
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for split, style in (("train", "-"), ("test", "o-")):
        h = history[split]
        if h["x"]:
            loss_ax.plot(h["x"], h["loss"], style, label=split)
            acc_ax.plot(h["x"], np.asarray(h["accuracy"]) * 100.0, style, label=split)
    # Epoch axes start at 0 so a one-epoch run still reads as "the first epoch".
    last = max([h["x"][-1] for h in history.values() if h["x"]] + [1.0])
    for ax, what, where in ((loss_ax, "loss", "upper right"),
                            (acc_ax, "accuracy (%)", "lower right")):
        ax.set(title=f"{title} {what.split()[0]}", xlabel="epoch", ylabel=what,
               xlim=(0.0, last))
        ax.grid(alpha=0.3)
        ax.legend(loc=where)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _check_reload(path: str, model, images) -> None:
    """Loads the saved model back and checks it predicts what the trained model does."""
    loaded = tf.keras.models.load_model(path)
    want = model.predict(images, verbose=0)
    got = loaded.predict(images, verbose=0)
    if not np.allclose(want, got, atol=1e-5):
        raise RuntimeError(f"the model reloaded from {path} predicts differently "
                           f"(max difference {np.max(np.abs(want - got)):.3g})")


def main(argv=None) -> int:
    """Console entry point (`tapeflow-train`)."""
    args = parse_args(argv)
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
