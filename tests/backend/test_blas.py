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
        monkeypatch.setattr(blas, "_set_numba_threads", self.chosen.append)

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


# -- the pool and the blocked product -----------------------------------------------------

@pytest.mark.parametrize("shape", [(1024, 96, 80), (16, 8192, 96), (16, 96, 9000), (3, 4, 5)],
                         ids=["rows", "inner", "columns", "small"])
def test_matmul_matches_numpy_for_every_split(shape, rng):
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    got = blas.matmul(a, b)
    assert got.shape == (m, n) and got.dtype == np.float32
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("shape", [(1024, 96, 80), (16, 8192, 96), (16, 96, 9000), (3, 4, 5)],
                         ids=["rows", "inner", "columns", "small"])
def test_matmul_epilogue_sees_every_finished_element_once(shape, rng):
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    plain = blas.matmul(a, b)
    seen = np.zeros((m, n), np.int64)

    def epilogue(block, rows, cols):
        np.testing.assert_array_equal(block, plain[rows, cols])    # the block is finished
        seen[rows, cols] += 1
        block *= 2
    got = blas.matmul(a, b, epilogue=epilogue)
    assert (seen == 1).all()
    np.testing.assert_array_equal(got, plain * 2)


def test_matmul_takes_transposed_views_and_writes_out(rng):
    a = rng.standard_normal((96, 2048)).astype(np.float32)      # used as a.T: (2048, 96)
    b = rng.standard_normal((80, 96)).astype(np.float32)        # used as b.T: (96, 80)
    out = np.empty((2048, 80), np.float32)
    got = blas.matmul(a.T, b.T, out=out)
    assert got is out
    np.testing.assert_allclose(out, a.T.astype(np.float64) @ b.T, rtol=1e-4, atol=1e-3)


def test_parallel_runs_every_task_once_and_reraises():
    done = []
    blas.parallel([lambda i=i: done.append(i) for i in range(7)])
    assert sorted(done) == list(range(7))

    def boom():
        raise ValueError("task failed")
    with pytest.raises(ValueError, match="task failed"):
        blas.parallel([lambda: None, boom, lambda: None])


def test_blocks_cover_the_range():
    assert blas.blocks(10, 4) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert blas.blocks(2, 4) == [(0, 1), (1, 2)]


def test_intra_op_threads_switch_between_fixed_and_pool(restore_threads, monkeypatch, rng):
    _needs_control()
    monkeypatch.setenv("TAPEFLOW_BLAS_THREADS", "auto")
    blas.set_intra_op_parallelism_threads(2)
    assert blas.get_intra_op_parallelism_threads() == 2
    assert blas.get_num_threads() == 2 and blas.pool_size() == 1
    blas.set_intra_op_parallelism_threads(0)
    assert blas.get_intra_op_parallelism_threads() == 0
    a = rng.standard_normal((1024, 128)).astype(np.float32)
    b = rng.standard_normal((128, 128)).astype(np.float32)
    np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-4, atol=1e-3)
    if blas.pool_size() > 1:                 # back on the pool: OpenBLAS single-threaded again
        assert blas.get_num_threads() == 1


def test_openmp_threads_are_made_to_sleep_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    blas.openmp_env()
    assert os.environ["OMP_WAIT_POLICY"] == "passive"
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    blas.openmp_env()
    assert os.environ["OMP_WAIT_POLICY"] == "active"


@pytest.mark.parametrize("loader", ["jit.kernels()", "dnnl_lib.load()"])
def test_openmp_is_arranged_before_numba_or_onednn_loads(loader):
    # Both load GNU OpenMP, which reads OMP_WAIT_POLICY once, at load time: a fresh process.
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = ("import os; from tapeflow.backend import dnnl_lib, jit; "
            f"print({loader} is not None, os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                         check=True).stdout.split()
    if out[0] == "False":
        pytest.skip(f"{loader} found nothing to load")
    assert out[1] == "passive"


def test_submit_runs_on_the_pool_and_returns_the_result():
    import threading
    h = blas.submit(lambda a, b: (threading.current_thread(), a + b), 2, 3)
    thread, value = h.wait()
    assert value == 5
    assert (thread is not threading.current_thread()) == (blas.pool_size() > 1)


def test_submit_reraises_the_calls_error_at_wait():
    def fail():
        raise ValueError("from the worker")
    h = blas.submit(fail)
    with pytest.raises(ValueError, match="from the worker"):
        h.wait()


def test_submit_without_a_pool_runs_now(monkeypatch):
    monkeypatch.setattr(blas, "pool_size", lambda: 1)
    calls = []
    h = blas.submit(calls.append, 1)
    assert calls == [1] and h.wait() is None


def test_pool_workers_leave_the_thread_decision_to_the_caller(monkeypatch):
    if blas.pool_size() < 2:
        pytest.skip("no pool on a single core")
    monkeypatch.setenv("TAPEFLOW_BLAS_THREADS", "auto")
    m = _FakeMachine(monkeypatch)
    blas._reset_auto()
    blas.tick()
    m.advance(0.3, others_cores=1.8, own_cores=0.2)
    blas.submit(blas.tick).wait()                 # on the worker: no decision
    assert m.chosen == []
    blas.tick()
    assert m.chosen == [1]
