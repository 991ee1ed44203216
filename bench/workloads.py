"""Workload definitions shared by the benchmarks: the seed CNN, its training loop, the data.

One definition per workload, written once for the TF2 API and once for PyTorch. The TF2
versions take the framework module as an argument, so the *same* code runs on TensorFlow and
on tapeflow (`import tapeflow as tf` is the only difference a user sees). Every function
imports its framework lazily: importing this module costs nothing.

The seed CNN: Conv2D(32, 3, relu) -> Conv2D(64, 3, relu) -> Flatten -> Dense(128, relu) ->
Dense(10, softmax); SparseCategoricalCrossentropy; Adam with Keras's defaults (lr 1e-3,
epsilon 1e-7, which PyTorch is given too). All three frameworks start from the same weights.
"""
from __future__ import annotations

import gzip
import os
import time

import numpy as np

H = W = 28
CLASSES = 10
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


# -- data ---------------------------------------------------------------------------------

def fashion_mnist_dir() -> str:
    """Folder holding Fashion-MNIST's four .gz files (Keras cache first, then Debian's copy)."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    for d in (os.path.join(keras_home, "datasets", "fashion-mnist"),
              "/usr/share/datasets/fashion-mnist"):
        if all(os.path.exists(os.path.join(d, f)) for f in FASHION_FILES):
            return d
    raise FileNotFoundError(
        "Fashion-MNIST not found: install Debian's dataset-fashion-mnist or put "
        f"{', '.join(FASHION_FILES)} in {keras_home}/datasets/fashion-mnist")


def _read_idx(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", ndim, 4)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist():
    """((x_train, y_train), (x_test, y_test)) as the seed prepares them: float32 in [0, 1],
    NHWC with one channel; int64 labels (as Keras's loaders give uint8, widened here once).

    Read by the benchmark itself, identically for every framework, so loader differences
    stay out of the timings.
    """
    d = fashion_mnist_dir()
    xtr, ytr, xte, yte = (_read_idx(os.path.join(d, f)) for f in FASHION_FILES)

    def prep(x):
        return (x.astype(np.float32) / np.float32(255.0))[..., None]
    return (prep(xtr), ytr.astype(np.int64)), (prep(xte), yte.astype(np.int64))


def synthetic_batch(batch: int, seed: int = 0):
    """A fixed random batch (x float32 NHWC in [0, 1), y int64 labels)."""
    rng = np.random.default_rng(seed)
    return (rng.random((batch, H, W, 1), dtype=np.float32),
            rng.integers(0, CLASSES, batch).astype(np.int64))


def _glorot(rng, shape, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, shape).astype(np.float32)


def init_params(seed: int = 0) -> list[np.ndarray]:
    """The seed CNN's weights in Keras layout (HWIO kernels, (in, out) dense), initialised
    as Keras does (Glorot uniform kernels, zero biases)."""
    rng = np.random.default_rng(seed)
    return [
        _glorot(rng, (3, 3, 1, 32), 9, 9 * 32), np.zeros(32, np.float32),
        _glorot(rng, (3, 3, 32, 64), 9 * 32, 9 * 64), np.zeros(64, np.float32),
        _glorot(rng, (24 * 24 * 64, 128), 24 * 24 * 64, 128), np.zeros(128, np.float32),
        _glorot(rng, (128, CLASSES), 128, CLASSES), np.zeros(CLASSES, np.float32),
    ]


# -- the seed loop on the TF2 API (TensorFlow or tapeflow) ------------------------------

class KerasSeedLoop:
    """Seed 000's model, loss, optimizer, metrics and train/test steps for a TF2 module.

    Args:
        tf: `tensorflow` or `tapeflow`.
        use_function: wrap the steps in `tf.function` (as the seed does) or run them eagerly.
        seed: weight initialisation seed (see `init_params`).
    """

    def __init__(self, tf, use_function: bool = True, seed: int = 0):
        self.tf = tf
        input_ = tf.keras.layers.Input(shape=(H, W, 1))
        x = tf.keras.layers.Conv2D(32, 3, activation="relu")(input_)
        x = tf.keras.layers.Conv2D(64, 3, activation="relu")(x)
        x = tf.keras.layers.Flatten()(x)
        x = tf.keras.layers.Dense(128, activation="relu")(x)
        output_ = tf.keras.layers.Dense(CLASSES, activation="softmax")(x)
        self.model = tf.keras.models.Model(input_, output_)
        self.model.set_weights(init_params(seed))
        self.loss_function = tf.keras.losses.SparseCategoricalCrossentropy()
        self.optimizer = tf.keras.optimizers.Adam()
        self.train_loss = tf.keras.metrics.Mean()
        self.train_acc = tf.keras.metrics.SparseCategoricalAccuracy()
        self.test_loss = tf.keras.metrics.Mean()
        self.test_acc = tf.keras.metrics.SparseCategoricalAccuracy()
        wrap = tf.function if use_function else (lambda f: f)
        self.train_step = wrap(self._train_step)
        self.test_step = wrap(self._test_step)

    def _train_step(self, images, labels):
        tf = self.tf
        with tf.GradientTape() as tape:
            predictions = self.model(images)
            loss = self.loss_function(labels, predictions)
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
        self.train_loss(loss)
        self.train_acc(labels, predictions)

    def _test_step(self, images, labels):
        predictions = self.model(images)
        self.test_loss(self.loss_function(labels, predictions))
        self.test_acc(labels, predictions)

    def sync(self) -> float:
        """Reads a metric back to Python (so all queued work is finished); returns it."""
        return float(self.train_loss.result())

    def batch(self, x, y):
        return self.tf.constant(x), self.tf.constant(y)

    def datasets(self, train, test, batch_size: int = 32, seed: int = 0):
        tf = self.tf
        train_ds = (tf.data.Dataset.from_tensor_slices(train).shuffle(10000, seed=seed)
                    .batch(batch_size))
        test_ds = tf.data.Dataset.from_tensor_slices(test).batch(batch_size)
        return train_ds, test_ds

    def results(self) -> dict:
        return {"loss": float(self.train_loss.result()),
                "accuracy": float(self.train_acc.result()),
                "test_loss": float(self.test_loss.result()),
                "test_accuracy": float(self.test_acc.result())}


# -- the same loop in PyTorch -------------------------------------------------------------

class TorchSeedLoop:
    """The seed loop as a PyTorch user writes it: nn.Sequential, CrossEntropyLoss on logits
    (PyTorch's fused softmax + log-loss), Adam(eps=1e-7), NCHW tensors, eager autograd."""

    def __init__(self, use_function: bool = False, seed: int = 0):
        import torch
        if use_function:
            raise ValueError("the PyTorch loop runs eagerly only")
        self.torch = torch
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Flatten(),
            nn.Linear(24 * 24 * 64, 128), nn.ReLU(), nn.Linear(128, CLASSES))
        p = init_params(seed)
        with torch.no_grad():
            for layer, k, b in ((self.model[0], p[0], p[1]), (self.model[2], p[2], p[3])):
                layer.weight.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1).copy()))
                layer.bias.copy_(torch.from_numpy(b))
            # Keras flattens NHWC (h, w, c); PyTorch flattens NCHW (c, h, w): permute rows.
            k4 = p[4].reshape(24, 24, 64, 128).transpose(2, 0, 1, 3).reshape(-1, 128)
            for layer, k, b in ((self.model[5], k4, p[5]), (self.model[7], p[6], p[7])):
                layer.weight.copy_(torch.from_numpy(k.T.copy()))
                layer.bias.copy_(torch.from_numpy(b))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
        self.loss_function = nn.CrossEntropyLoss()
        self._sums = {"loss": 0.0, "steps": 0, "correct": 0, "seen": 0,
                      "test_loss": 0.0, "test_steps": 0, "test_correct": 0, "test_seen": 0}

    def train_step(self, images, labels):
        torch = self.torch
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(images)
        loss = self.loss_function(logits, labels)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            s = self._sums
            s["loss"] += float(loss)
            s["steps"] += 1
            s["correct"] += int((logits.argmax(1) == labels).sum())
            s["seen"] += int(labels.shape[0])

    def test_step(self, images, labels):
        torch = self.torch
        with torch.no_grad():
            logits = self.model(images)
            s = self._sums
            s["test_loss"] += float(self.loss_function(logits, labels))
            s["test_steps"] += 1
            s["test_correct"] += int((logits.argmax(1) == labels).sum())
            s["test_seen"] += int(labels.shape[0])

    def sync(self) -> float:
        return self._sums["loss"]

    def batch(self, x, y):
        torch = self.torch
        return (torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
                torch.from_numpy(y))

    def datasets(self, train, test, batch_size: int = 32, seed: int = 0):
        """Reshuffled index batches over tensors held in memory (the idiomatic fast path;
        a DataLoader's per-item collation would be slower)."""
        torch = self.torch
        (xtr, ytr), (xte, yte) = [self.batch(*d) for d in (train, test)]
        gen = torch.Generator().manual_seed(seed)

        def train_ds():
            perm = torch.randperm(len(ytr), generator=gen)
            for i in range(0, len(ytr), batch_size):
                idx = perm[i:i + batch_size]
                yield xtr[idx], ytr[idx]

        def test_ds():
            for i in range(0, len(yte), batch_size):
                yield xte[i:i + batch_size], yte[i:i + batch_size]

        return _Reiterable(train_ds), _Reiterable(test_ds)

    def results(self) -> dict:
        s = self._sums
        return {"loss": s["loss"] / max(s["steps"], 1),
                "accuracy": s["correct"] / max(s["seen"], 1),
                "test_loss": s["test_loss"] / max(s["test_steps"], 1),
                "test_accuracy": s["test_correct"] / max(s["test_seen"], 1)}


class _Reiterable:
    def __init__(self, make):
        self._make = make

    def __iter__(self):
        return self._make()


# -- framework selection ------------------------------------------------------------------

FRAMEWORKS = ("tapeflow", "tensorflow", "pytorch")
LABELS = {"tapeflow": "tapeflow", "tensorflow": "TensorFlow", "pytorch": "PyTorch"}


def import_framework(name: str):
    """The module for a framework name (ImportError when it is not installed)."""
    if name == "tapeflow":
        import tapeflow
        return tapeflow
    if name == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow
        return tensorflow
    if name == "pytorch":
        import torch
        return torch
    raise ValueError(f"unknown framework {name!r}; expected one of {FRAMEWORKS}")


def framework_version(name: str) -> str:
    mod = import_framework(name)
    return getattr(mod, "__version__", "?")


def seed_loop(name: str, use_function: bool, seed: int = 0):
    """The seed loop object for a framework (see KerasSeedLoop / TorchSeedLoop)."""
    mod = import_framework(name)
    if name == "pytorch":
        return TorchSeedLoop(use_function=use_function, seed=seed)
    return KerasSeedLoop(mod, use_function=use_function, seed=seed)


# -- measurements -------------------------------------------------------------------------

def step_throughput(name: str, use_function: bool, batch: int, budget_s: float = 3.0,
                    warmup: int = 3, block: int = 5) -> dict:
    """Images per second of the seed's training step on one fixed synthetic batch.

    Times blocks of `block` steps (each block ends by reading a metric back, so the work is
    done) for about `budget_s` seconds after `warmup` steps; reports the median block, and
    the median CPU time per step (all threads of the process): on a busy machine the CPU
    time is the steadier measure of the work a step is, though it counts threads that spin
    while they wait.
    """
    loop = seed_loop(name, use_function)
    x, y = loop.batch(*synthetic_batch(batch))
    for _ in range(warmup):
        loop.train_step(x, y)
    loop.sync()
    per_step, cpu_per_step = [], []
    start = time.perf_counter()
    while time.perf_counter() - start < budget_s or len(per_step) < 3:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(block):
            loop.train_step(x, y)
        loop.sync()
        per_step.append((time.perf_counter() - t0) / block)
        cpu_per_step.append((time.process_time() - c0) / block)
    per_step.sort()
    cpu_per_step.sort()
    med = per_step[len(per_step) // 2]
    return {"images_per_second": batch / med, "step_ms": med * 1e3,
            "cpu_ms": cpu_per_step[len(cpu_per_step) // 2] * 1e3, "blocks": len(per_step)}


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM) in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def seed_epoch(name: str, limit: int | None = None, batch_size: int = 32,
               use_function: bool = True) -> dict:
    """One epoch of the seed loop on Fashion-MNIST: every training batch, then the test set.

    Returns training throughput (img/s over the training pass, data pipeline included), the
    whole epoch's seconds, the seed's four metrics and the process's peak RSS.
    """
    train, test = load_fashion_mnist()
    if limit:
        train = (train[0][:limit], train[1][:limit])
        test = (test[0][:limit], test[1][:limit])
    rss_data = peak_rss_mb()
    loop = seed_loop(name, use_function and name != "pytorch")
    train_ds, test_ds = loop.datasets(train, test, batch_size)
    t0 = time.perf_counter()
    for images, labels in train_ds:
        loop.train_step(images, labels)
    loop.sync()
    t1 = time.perf_counter()
    for images, labels in test_ds:
        loop.test_step(images, labels)
    out = loop.results()
    t2 = time.perf_counter()
    out.update(images_per_second=len(train[1]) / (t1 - t0), train_s=t1 - t0, epoch_s=t2 - t0,
               peak_rss_mb=peak_rss_mb(), data_rss_mb=rss_data, images=len(train[1]))
    return out


def data_epoch(name: str, batch_size: int = 32, limit: int | None = None) -> dict:
    """One epoch of from_tensor_slices((x, y)).shuffle(10000).batch(32) over Fashion-MNIST's
    training set (PyTorch: DataLoader(TensorDataset, shuffle=True), its idiom). Each batch is
    touched the way bench/data_bench.py does, so lazy work cannot hide."""
    from data_bench import _epoch  # bench/data_bench.py: the tf.data benchmark's own loop
    (x, y), _ = load_fashion_mnist()
    if limit:
        x, y = x[:limit], y[:limit]
    mod = import_framework(name)
    if name == "pytorch":
        data = mod.utils.data
        ds = data.DataLoader(data.TensorDataset(mod.from_numpy(x), mod.from_numpy(y)),
                             batch_size=batch_size, shuffle=True)
    else:
        ds = mod.data.Dataset.from_tensor_slices((x, y)).shuffle(10000).batch(batch_size)
    t0 = time.perf_counter()
    batches = _epoch(ds)
    dt = time.perf_counter() - t0
    if batches != -(-len(y) // batch_size):
        raise RuntimeError(f"{name}: one epoch gave {batches} batches of {batch_size}, "
                           f"expected {-(-len(y) // batch_size)}")
    return {"seconds": dt, "batches": batches, "images_per_second": len(y) / dt}
