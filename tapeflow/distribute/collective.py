"""Collectives over MPI (mpi4py on Open MPI): bucketed all-reduce, broadcast, fault reports.

Every all-reduce is two MPI calls: a tiny `Allgather` of a header — what each rank is
doing (a step, the end of its data, a failure), its collective sequence number and the
number of values it brings — then one `Allreduce` of a single flat buffer holding all the
values (every gradient of a step: one bucket, not one call per variable). The header is
why a mismatch never hangs or silently mixes values: a rank that ran out of data, raised,
or brings a different model is named by every other rank at the next collective.

mpi4py is imported on first use only; tapeflow runs on NumPy alone.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

import numpy as np

from tapeflow.framework import errors
from tapeflow.framework.op import NO_GRADIENT, OpDef

STEP, DONE, FAILED = 1, 2, 3
# How long a worker waits for the others at a collective before ending the job: longer
# than any step should take (a first step traces; a first epoch may load data).
DEFAULT_TIMEOUT_S = 1800
_KIND = {STEP: "running", DONE: "finished its data", FAILED: "failed"}


def import_mpi():
    """mpi4py's MPI module, or an ImportError saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "tf.distribute.MultiWorkerMirroredStrategy runs on MPI and needs mpi4py: "
            "apt-get install openmpi-bin libopenmpi-dev, then pip install "
            f"'tapeflow[distribute]' (mpi4py>=3.1). ({e})") from None
    return MPI


class WorkerError(errors.UnknownError):
    """Another worker failed or disagrees with this one; the message names its rank."""

    def __init__(self, message):
        super().__init__(None, None, message)


class Communicator:
    """One MPI communicator: rank, size and the checked collectives tapeflow uses."""

    def __init__(self, comm=None):
        mpi = import_mpi()
        self.mpi = mpi
        self.comm = comm if comm is not None else mpi.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.seq = 0                   # collectives run so far (the same on every rank)
        self.failed_peer = None        # the failure another rank reported, once known
        self.timeout = float(os.environ.get("TAPEFLOW_DISTRIBUTE_TIMEOUT", DEFAULT_TIMEOUT_S))
        _install_excepthook(self)

    # -- the checked all-reduce ---------------------------------------------------------
    def _exchange_header(self, kind, count, describe=None, message=None):
        """Allgathers (kind, seq, count) and raises, naming ranks, unless all agree."""
        mine = np.array([kind, self.seq, count], np.int64)
        every = np.empty((self.size, 3), np.int64)
        self._wait(self.comm.Iallgather(mine, every))
        self.seq += 1
        failed = [r for r in range(self.size) if every[r, 0] == FAILED]
        if failed:
            # The first failing rank's message, sent to all (also to other failed ranks).
            message = self.comm.bcast(message if self.rank == failed[0] else None,
                                      root=failed[0])
            if kind != FAILED:
                self.failed_peer = failed[0]
                raise WorkerError(f"worker rank {failed[0]} of {self.size} failed, so rank "
                                  f"{self.rank} stops: {message}")
            return every
        if len(set(every[:, 0])) > 1:
            done = [r for r in range(self.size) if every[r, 0] == DONE]
            going = [r for r in range(self.size) if every[r, 0] == STEP]
            raise WorkerError(
                f"workers disagree on the number of steps: rank(s) {done} finished their data "
                f"after {int(every[done[0], 1])} collectives while rank(s) {going} still "
                "run steps. Give every worker the same number of batches (shard the data "
                "evenly, or repeat() it and pass steps_per_epoch).")
        if len(set(every[:, 1])) > 1:
            raise WorkerError("workers are out of step: collective numbers per rank are "
                              f"{every[:, 1].tolist()} (rank: number); every worker must run "
                              "the same steps and reductions in the same order.")
        if len(set(every[:, 2])) > 1:
            detail = self._mismatch_detail(describe)
            raise WorkerError("workers all-reduce different amounts of data: values per rank "
                              f"{every[:, 2].tolist()} (rank: count){detail}. Every worker must "
                              "build the same model (same variable shapes) and run the same "
                              "reductions (a metric's result() read on one worker only is one).")
        return every

    def _wait(self, request):
        """Waits for a header exchange, at most `timeout` seconds: a worker that is stuck,
        or has left without failing, would otherwise keep the others waiting for ever."""
        deadline = time.monotonic() + self.timeout
        delay = 0.0
        while not request.Test():
            if time.monotonic() > deadline:
                sys.stderr.write(
                    f"tapeflow.distribute: worker rank {self.rank} of {self.size} waited "
                    f"{self.timeout:g} s for the other workers at collective #{self.seq}: one "
                    "of them is stuck or has stopped (TAPEFLOW_DISTRIBUTE_TIMEOUT sets the "
                    "limit); aborting every worker\n")
                sys.stderr.flush()
                self.comm.Abort(2)
            time.sleep(delay)
            # Polls fast at first (a step's peers are usually there within microseconds),
            # then at most every millisecond, leaving the cores to the others.
            delay = min(delay * 2 or 1e-5, 1e-3)

    def _mismatch_detail(self, describe):
        shapes = self.comm.allgather(describe)
        if describe is None or any(s is None for s in shapes):
            return ""
        for i, mine in enumerate(shapes[self.rank]):
            for r, other in enumerate(shapes):
                theirs = other[i] if i < len(other) else None
                if theirs != mine:
                    other = "nothing" if theirs is None else f"{theirs[0]} of shape {theirs[1]}"
                    return (f"; first difference: rank {self.rank} has {mine[0]} of shape "
                            f"{mine[1]}, rank {r} has {other}")
        return ""

    def allreduce(self, arrays, describe=None):
        """Sums `arrays` over all ranks: one header exchange, then one flat Allreduce per
        dtype (a model's float32 gradients: exactly one). Returns new arrays."""
        count = int(sum(a.size for a in arrays))
        self._exchange_header(STEP, count, describe)
        out = [None] * len(arrays)
        for dtype in sorted({a.dtype.str for a in arrays}):
            picks = [i for i, a in enumerate(arrays) if a.dtype.str == dtype]
            # A new bucket per call: the results are views of it (no copy back), and
            # it lives as long as they do.
            flat = np.empty(sum(arrays[i].size for i in picks), np.dtype(dtype))
            pos = 0
            for i in picks:
                size = arrays[i].size
                flat[pos:pos + size] = arrays[i].reshape(-1)
                pos += size
            self.comm.Allreduce(self.mpi.IN_PLACE, flat, op=self.mpi.SUM)
            pos = 0
            for i in picks:
                size = arrays[i].size
                out[i] = flat[pos:pos + size].reshape(arrays[i].shape)
                pos += size
        return out

    def broadcast(self, arrays, root=0, describe=None):
        """Overwrites each array in place with rank `root`'s values (one Bcast per dtype),
        after a header exchange that names any difference of shapes between ranks."""
        self._exchange_header(STEP, int(sum(a.size for a in arrays)), describe)
        for dtype in sorted({a.dtype.str for a in arrays}):
            picks = [a for a in arrays if a.dtype.str == dtype]
            flat = np.concatenate([a.reshape(-1) for a in picks]) if picks else None
            self.comm.Bcast(flat, root=root)
            pos = 0
            for a in picks:
                a.reshape(-1)[...] = flat[pos:pos + a.size]
                pos += a.size

    def allgather(self, obj):
        return self.comm.allgather(obj)

    # -- ends and faults -----------------------------------------------------------------
    def finish(self):
        """Says this rank's data has ended; raises if another rank is still stepping."""
        self._exchange_header(DONE, 0)

    def report_failure(self, exc):
        """Tells every other rank (at their next collective) that this one failed."""
        if self.failed_peer is not None or isinstance(exc, WorkerError):
            return
        self.failed_peer = self.rank
        try:
            self._exchange_header(FAILED, 0, message=f"{type(exc).__name__}: {exc}")
        except Exception:          # noqa: BLE001 (the original error is what matters)
            pass


def _install_excepthook(comm):
    """An exception no collective reported ends the whole job (mpirun stops the others):
    without this, the other ranks would wait in their next collective for ever."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if comm.size > 1 and comm.failed_peer is None:
            sys.stderr.write(f"tapeflow.distribute: worker rank {comm.rank} of {comm.size} "
                             f"raised {kind.__name__}: {value}; aborting every worker\n")
            sys.stderr.flush()
            comm.comm.Abort(1)

    sys.excepthook = hook


# -- the op ----------------------------------------------------------------------------

_COMMUNICATORS = {}


def register(comm) -> int:
    key = len(_COMMUNICATORS)
    _COMMUNICATORS[key] = comm
    return key


def _allreduce_kernel(*arrays, comm_key, mean_over, names=()):
    comm = _COMMUNICATORS[comm_key]
    names = names or tuple(f"value {i}" for i in range(len(arrays)))
    summed = comm.allreduce([np.asarray(a) for a in arrays],
                            describe=[(n, tuple(np.shape(a))) for n, a in zip(names, arrays)])
    if mean_over:
        summed = [s / s.dtype.type(mean_over) if s.dtype.kind == "f" else s for s in summed]
    return summed[0] if len(summed) == 1 else tuple(summed)


def _same_specs(inputs, attrs):
    return [(t.shape, t.dtype) for t in inputs]


# One stateful op for a whole bucket, so a traced step keeps it in program order and it
# runs at every call of the step's plan.
COLLECTIVE_ALL_REDUCE = OpDef("CollectiveAllReduceBucket", _allreduce_kernel, NO_GRADIENT,
                              shape_fn=_same_specs, stateful=True)


def all_reduce(tensors, comm_key, mean_over=0, names=()):
    """Sums (or, with `mean_over=n`, sums and divides by n) tensors over every rank;
    `names` (one per tensor) name them when the ranks' shapes differ."""
    from tapeflow.framework.op import execute
    if not tensors:
        return []
    op = COLLECTIVE_ALL_REDUCE.with_outputs(len(tensors))
    out = execute(op, tuple(tensors), {"comm_key": comm_key, "mean_over": mean_over,
                                        "names": tuple(names)})
    return list(out) if isinstance(out, (tuple, list)) else [out]


def format_exception(exc) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
