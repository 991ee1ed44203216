"""Per-thread execution state (framework/context.py): tapes, traces, name scopes.

Each thread has its own tapes, graph being traced and name scopes, as in
TensorFlow. The training tests run N threads at once, each with its own small
model, under a tiny switch interval (a thread switch every few bytecodes, so
any state shared by mistake is hit), and require results bitwise equal to
the same work run serially.
"""
import sys
import threading

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.framework.context import state

N_THREADS = 4


@pytest.fixture
def tiny_switch_interval():
    """Switch threads every microsecond (default 5 ms) to provoke races."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _run_threads(fns):
    """Runs each callable in its own thread, started together; returns results in order."""
    results = [None] * len(fns)
    errors = []
    barrier = threading.Barrier(len(fns))

    def body(i):
        try:
            barrier.wait()
            results[i] = fns[i]()
        except BaseException as e:  # noqa: BLE001 -- reported by the test below
            errors.append(e)
    threads = [threading.Thread(target=body, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_new_thread_starts_eager_with_no_tapes():
    seen = {}
    def look():
        seen["state"] = (tf.executing_eagerly(), list(state.tapes),
                         tf.Variable(1.0, name="v").name)
    with tf.GradientTape(), tf.name_scope("outer"):
        t = threading.Thread(target=look)
        t.start()
        t.join()
    assert seen["state"] == (True, [], "v:0")


def test_trace_in_one_thread_leaves_another_eager():
    inside = threading.Event()
    release = threading.Event()

    @tf.function
    def traced(x):
        inside.set()
        release.wait(5)
        return x * 2.0

    worker = threading.Thread(target=lambda: traced(tf.constant(1.0)))
    worker.start()
    assert inside.wait(5)
    try:
        eager_here = tf.executing_eagerly()
        value = float(tf.constant(3.0) * 2.0)
    finally:
        release.set()
        worker.join()
    assert (eager_here, value) == (True, 6.0)


def test_tape_records_only_its_own_threads_ops():
    x = tf.Variable(2.0)
    opened = threading.Event()
    done = threading.Event()

    def other_thread():
        opened.wait(5)
        other = x * 100.0           # read of x in another thread: not on our tape
        done.set()
        return other
    worker = threading.Thread(target=other_thread)
    worker.start()
    with tf.GradientTape() as tape:
        opened.set()
        done.wait(5)
        y = x * 3.0
    worker.join()
    assert len(tape._entries) == 1
    assert float(tape.gradient(y, x)) == 3.0


def test_name_scopes_are_per_thread(tiny_switch_interval):
    def named(scope):
        names = []
        for i in range(30):
            with tf.name_scope(scope):
                names.append(tf.Variable(1.0, name=f"v{i}").name)
        return names
    results = _run_threads([lambda s=f"t{k}": named(s) for k in range(N_THREADS)])
    for k, names in enumerate(results):
        assert names == [f"t{k}/v{i}:0" for i in range(30)]


def _data(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 5)).astype(np.float32)
    y = (x @ rng.standard_normal((5, 1)) + 0.1).astype(np.float32)
    return x, y


def _train_with_tape(seed, steps=15):
    """A two-layer model trained by a traced step (tape inside tf.function) and by
    eager steps; returns every loss and the final weights."""
    x, y = _data(seed)
    rng = np.random.default_rng(seed + 100)
    w1 = tf.Variable(rng.standard_normal((5, 8)).astype(np.float32) * 0.3)
    w2 = tf.Variable(rng.standard_normal((8, 1)).astype(np.float32) * 0.3)
    opt = keras.optimizers.Adam(0.01)

    def loss_fn():
        h = tf.nn.relu(tf.matmul(x, w1))
        return tf.reduce_mean(tf.square(tf.matmul(h, w2) - y))

    @tf.function
    def traced_step():
        with tf.GradientTape() as tape:
            loss = loss_fn()
        opt.apply_gradients(zip(tape.gradient(loss, [w1, w2]), [w1, w2]))
        return loss

    losses = []
    for _ in range(steps):
        losses.append(traced_step().numpy())
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, [w1, w2])
        assert all(g is not None for g in grads)
        opt.apply_gradients(zip(grads, [w1, w2]))
        losses.append(loss.numpy())
    return np.array(losses), w1.numpy(), w2.numpy()


def _train_keras(seed, epochs=3):
    """A functional Keras model built in this thread and fitted (traced train step)."""
    x, y = _data(seed)
    inputs = keras.Input((5,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    rng = np.random.default_rng(seed + 200)
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.3
                       for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return np.array(history.history["loss"]), model.get_weights()


def _assert_bitwise_equal(a, b):
    for u, v in zip(a, b):
        if isinstance(u, list):
            _assert_bitwise_equal(u, v)
        else:
            assert np.array_equal(u, v) and u.dtype == v.dtype


def test_threads_training_with_tapes_match_serial_bitwise(tiny_switch_interval):
    serial = [_train_with_tape(seed) for seed in range(N_THREADS)]
    threaded = _run_threads([lambda s=seed: _train_with_tape(s) for seed in range(N_THREADS)])
    for one, other in zip(serial, threaded):
        _assert_bitwise_equal(one, other)


def test_threads_building_and_fitting_keras_models_match_serial(tiny_switch_interval):
    serial = [_train_keras(seed) for seed in range(N_THREADS)]
    threaded = _run_threads([lambda s=seed: _train_keras(s) for seed in range(N_THREADS)])
    for one, other in zip(serial, threaded):
        _assert_bitwise_equal(one, other)


def test_layer_names_stay_unique_when_built_in_threads(tiny_switch_interval):
    def build():
        return [keras.layers.Dense(2).name for _ in range(50)]
    names = [name for names in _run_threads([build] * N_THREADS) for name in names]
    assert len(set(names)) == len(names) == 50 * N_THREADS


def test_keras_build_in_one_thread_keeps_anothers_tape(tiny_switch_interval):
    """A functional build (which makes the Keras graph current) in one thread
    while another records a tape: the tape's gradients are all there."""
    def build_models():
        for _ in range(10):
            inputs = keras.Input((4,))
            keras.Model(inputs, keras.layers.Dense(3)(inputs))

    def take_gradients():
        v = tf.Variable(np.ones((4, 3), np.float32))
        grads = []
        for _ in range(200):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.matmul(tf.ones((2, 4)), v))
            grads.append(tape.gradient(loss, v))
        return grads
    _, grads = _run_threads([build_models, take_gradients])
    assert all(g is not None and np.array_equal(g.numpy(), np.full((4, 3), 2.0, np.float32))
               for g in grads)
