"""The seeds of TF's stateful random ops, and the Philox stream each op instance keeps.

A stateful random op (`tf.random.uniform`, `normal`, `truncated_normal`) takes two
seeds, derived as TF's `get_seed` derives them:

- global seed set, op seed given: (global, op);
- global seed set, no op seed: eagerly, op = the next draw of a Python
  `random.Random(global)` (one per process, reset by `set_seed`: the n-th seedless
  op after `set_seed(s)` always gets the same seed); while a function is traced,
  op = how many random ops the graph already has (0, 1, ...);
- no global seed: (87654321, op) with an op seed, else (0, 0);
- (0, 0) from seeds that were set is (0, 2**31 - 1); every seed is taken mod 2**31 - 1.

TF's op kernel holds a Philox4x32-10 generator with key = seed and counter =
(0, seed2); each run takes the counter as it is and moves it on by 256 blocks
per value. Eagerly, kernels are cached by (op, dtype, seed, seed2) until the
next `set_seed`: the same op seed called again continues its stream. A traced
op keeps its own stream, moved on at every run of the function and restarted
by `set_seed` (its seeds stay those of the trace). Seeds (0, 0) mean a
generator seeded from the operating system, anew at each restart.

    >>> import tapeflow as tf
    >>> tf.random.set_seed(5)
    >>> tf.random.uniform([3], seed=7).numpy()       # TF 2.21's numbers
    array([0.44746375, 0.620757  , 0.25906932], dtype=float32)
"""
from __future__ import annotations

import os
import random
import threading
import weakref

from tapeflow.framework.context import state
from tapeflow.ops import _philox

MAXINT32 = 2**31 - 1
DEFAULT_GRAPH_SEED = 87654321

_op_seeds = random.Random()           # the eager op seeds after set_seed
_kernels: dict = {}                   # (op, dtype, seed, seed2) -> Stream
_graph_op_counts = weakref.WeakKeyDictionary()
_traced_streams = weakref.WeakSet()   # streams of traced ops: restarted by set_seed
_lock = threading.Lock()


def reset(global_seed) -> None:
    """What `tf.random.set_seed` resets: the op-seed sequence and every eager stream."""
    global _op_seeds
    _op_seeds = random.Random(global_seed)
    with _lock:
        _kernels.clear()
        for stream in list(_traced_streams):
            stream.restart()


def get_seed(global_seed, op_seed):
    """(seed, seed2) of a random op, as TF derives them (see the module docstring)."""
    if global_seed is not None:
        if op_seed is None:
            graph = state.graph
            if graph is None:
                op_seed = _op_seeds.randint(0, MAXINT32)
            else:
                op_seed = _graph_op_counts.get(graph, 0)
                _graph_op_counts[graph] = op_seed + 1
        seeds = int(global_seed) % MAXINT32, int(op_seed) % MAXINT32
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, int(op_seed) % MAXINT32
    else:
        return 0, 0
    return (0, MAXINT32) if seeds == (0, 0) else seeds


class Stream:
    """One op instance's Philox generator: key and 128-bit counter, moved on per run."""

    __slots__ = ("__weakref__", "_lock", "counter", "key", "seeds")

    def __init__(self, seed, seed2):
        self.seeds = (seed, seed2)
        self._lock = threading.Lock()
        self.restart()

    def restart(self):
        """Back to the stream's start, as a kernel made anew."""
        seed, seed2 = self.seeds
        if seed == 0 and seed2 == 0:            # TF: seeded from the operating system
            seed, seed2 = (int.from_bytes(os.urandom(8), "little") for _ in range(2))
        with self._lock:
            self.key = _philox.split64(seed)
            self.counter = int(seed2) << 64     # (0, 0, seed2 low, seed2 high) as one int

    def reserve(self, n):
        """(key, counter words) for n values; the stream moves on by 256 blocks per value."""
        return self.reserve_blocks(256 * n)

    def reserve_blocks(self, blocks):
        """(key, counter words) where the stream is; it moves on by `blocks` blocks."""
        with self._lock:
            counter = self.counter
            self.counter = (counter + blocks) % (1 << 128)
        words = tuple((counter >> (32 * i)) & 0xFFFFFFFF for i in range(4))
        return self.key, words

    def __repr__(self):
        return "<Philox stream>"


def node_stream(seed, seed2) -> Stream:
    """The stream of one node of a loaded function, keyed by the node's own (seed, seed2):
    kept across the function's runs and restarted by `set_seed`, as a traced op's."""
    stream = Stream(int(seed), int(seed2))
    _traced_streams.add(stream)
    return stream


def stream_for(op_name, dtype, seed, seed2) -> Stream:
    """The stream of a new op instance: the cached kernel's eagerly, a fresh one per traced
    op (each node of a function keeps its own)."""
    if state.graph is not None:
        stream = Stream(seed, seed2)
        _traced_streams.add(stream)
        return stream
    key = (op_name, str(dtype), seed, seed2)
    with _lock:
        stream = _kernels.get(key)
        if stream is None:
            stream = _kernels[key] = Stream(seed, seed2)
    return stream
