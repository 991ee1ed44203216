"""tapeflow/backend/memory.py: malloc keeps freed array memory for reuse."""
import os
import pathlib
import subprocess
import sys

import pytest

from tapeflow.backend import memory


_FAULTS = """
import resource, sys
import numpy as np
from tapeflow.backend import memory
if not memory.tune():
    print("untuned"); sys.exit()
n = (8 << 20) // 4                       # 8 MiB: under the 32 MiB mmap threshold

def step():                              # a step's worth of large temporaries
    arrays = [np.ones(n, np.float32) for _ in range(4)]
    del arrays

for _ in range(3):                       # let the heap grow to its working size
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_reallocating_a_freed_array_does_not_fault_its_pages_again():
    # In a fresh process: how a heap that earlier tests fragmented behaves is not the
    # property under test (it made this test depend on which tests ran before it).
    root = pathlib.Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True,
                         cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, check=True)
    if out.stdout.strip() == "untuned":
        pytest.skip("this C library has no mallopt")
    # Untuned, glibc trims the freed 32 MiB off the heap each time: ~10,000 faults here.
    assert int(out.stdout.strip()) < 1000


def test_tune_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_MALLOC_TUNE", "0")
    monkeypatch.setitem(memory._done, "result", None)
    assert memory.tune() is False
    monkeypatch.setitem(memory._done, "result", None)
    monkeypatch.delenv("TAPEFLOW_MALLOC_TUNE")
    assert memory.tune() in (True, False)
