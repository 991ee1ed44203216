"""Runs a worker script under `mpirun -np N` (Open MPI, loopback only) or as one plain
process, bounded by a timeout; skips the test when mpirun or mpi4py is missing."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).resolve().parent / "workers"


def require_mpi():
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun (Open MPI) is not installed: apt-get install openmpi-bin")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed: pip install 'tapeflow[distribute]'")


def _env(extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # mpirun refuses root unless told; CI containers run as root.
    env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                "OMP_NUM_THREADS": "1"})
    env.update(extra or {})
    return env


def run(script, args=(), np=2, timeout=120, env=None):
    """CompletedProcess of `script` on `np` MPI ranks (np=0: plain python, no mpirun)."""
    command = [sys.executable, str(WORKERS / script), *map(str, args)]
    if np:
        require_mpi()
        environment = _env(env)
        forward = []
        for name in ("PYTHONPATH", "OMP_NUM_THREADS", *(env or {})):
            forward += ["-x", name]
        command = ["mpirun", "--oversubscribe", "--mca", "btl", "self,tcp",
                   "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
                   *forward, "-np", str(np), *command]
    else:
        environment = _env(env)
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=timeout)


def results(directory, count):
    """The JSON each rank wrote as result_<rank>.json."""
    return [json.loads((Path(directory) / f"result_{r}.json").read_text())
            for r in range(count)]
