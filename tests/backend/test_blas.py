"""tapeflow/backend/blas.py: BLAS thread control and its load-following policy."""
import os

import numpy as np
import pytest

from tapeflow.backend import blas


@pytest.fixture
def restore_threads():
    before = blas.get_num_threads()
    yield
    blas._reset_auto()
    if before is not None:
        blas.set_num_threads(before)


def _needs_control():
    if blas.get_num_threads() is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS this module can control")


def test_set_num_threads_round_trips(restore_threads):
    _needs_control()
    assert blas.set_num_threads(1)
    assert blas.get_num_threads() == 1
    a = np.ones((64, 64), np.float32)
    np.testing.assert_array_equal(a @ a, np.full((64, 64), 64, np.float32))


def test_fixed_thread_count_from_the_environment(restore_threads, monkeypatch):
    _needs_control()
    monkeypatch.setenv("TAPEFLOW_BLAS_THREADS", "1")
    blas._reset_auto()
    blas.tick()
    assert blas.get_num_threads() == 1


class _FakeMachine:
    """Stands in for /proc/stat, os.times and the clock: others' and our own CPU use."""

    def __init__(self, monkeypatch):
        self.now, self.busy, self.own = 100.0, 1000.0, 10.0
        monkeypatch.setattr(blas.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(blas, "_system_busy", lambda: self.busy * blas._HZ)
        monkeypatch.setattr(blas.os, "times",
                            lambda: os.times_result((self.own, 0.0, 0.0, 0.0, self.now)))
        monkeypatch.setattr(blas, "_NCPU", 2)
        self.chosen = []
        monkeypatch.setattr(blas, "set_num_threads", self.chosen.append)

    def advance(self, seconds, others_cores, own_cores):
        self.now += seconds
        self.busy += seconds * (others_cores + own_cores)
        self.own += seconds * own_cores


def test_auto_goes_single_threaded_while_others_keep_the_cores_busy(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_BLAS_THREADS", "auto")
    m = _FakeMachine(monkeypatch)
    blas._reset_auto()
    blas.tick()                                   # first look: a baseline only
    m.advance(0.3, others_cores=1.8, own_cores=0.2)
    blas.tick()
    assert m.chosen == [1]
    m.advance(0.3, others_cores=0.1, own_cores=1.9)
    blas.tick()
    assert m.chosen == [1, 2]


def test_auto_counts_our_own_threads_as_ours(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_BLAS_THREADS", "auto")
    m = _FakeMachine(monkeypatch)
    blas._reset_auto()
    blas.tick()
    m.advance(0.3, others_cores=0.0, own_cores=2.0)   # both cores busy, all of it us
    blas.tick()
    assert m.chosen == [2]


def test_auto_looks_at_most_once_per_interval(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_BLAS_THREADS", "auto")
    m = _FakeMachine(monkeypatch)
    blas._reset_auto()
    blas.tick()
    m.advance(blas.INTERVAL / 10, others_cores=2.0, own_cores=0.0)
    blas.tick()
    assert m.chosen == []
