"""scripts/tensorboard_screenshot.py: real TensorBoard, real Chromium, real pictures."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.skipif(not any(shutil.which(n) for n in ("chromium", "chromium-browser")),
                    reason="headless Chromium not installed")
def test_screenshots_of_the_dashboards(tmp_path):
    pytest.importorskip("tensorboard")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts",
                                                        "tensorboard_screenshot.py"),
                           "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("scalars", "histograms", "graphs"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
