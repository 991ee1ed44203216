"""examples/image_folder_classifier.py: PNG folder -> image_dataset_from_directory -> fit."""
import re

import pytest

from tests.examples.test_seed_scripts import ROOT, _needs_fashion_mnist, run_example


def test_trains_from_a_folder_of_pngs_well_above_chance():
    pytest.importorskip("PIL")
    _needs_fashion_mnist()
    # PYTHONPATH: the tapeflow of this checkout, whatever is installed.
    out, _ = run_example("image_folder_classifier.py", timeout=300, PYTHONPATH=ROOT)
    assert "wrote 600 PNG files" in out
    assert "Found 600 files belonging to 10 classes." in out
    accuracy = float(re.search(r"validation accuracy (\d\.\d+)", out).group(1))
    assert accuracy > 0.4, out          # ten classes: chance is 0.1
    assert re.search(r"trouser/0000\.png -> \w+", out), out
