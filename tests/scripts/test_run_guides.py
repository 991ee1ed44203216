"""scripts/run_guides.py: notebook cells, import rewriting, running and scoring."""
import importlib.util
import json
import os

import pytest

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "run_guides.py")
_spec = importlib.util.spec_from_file_location("run_guides", _PATH)
run_guides = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_guides)


@pytest.mark.parametrize("line, want", [
    ("import tensorflow as tf", "import tapeflow as tf"),
    ("  import tensorflow as tf", "  import tapeflow as tf"),
    ("import tensorflow", "import tapeflow as tensorflow"),
    ("from tensorflow import keras", "from tapeflow import keras"),
    ("from tensorflow.keras import layers", "from tapeflow.keras import layers"),
    ("import keras", "from tapeflow import keras"),
    ("from keras import layers", "from tapeflow.keras import layers"),
    ("from keras.layers import Dense", "from tapeflow.keras.layers import Dense"),
    ("x = tensorflow_thing + 1", "x = tensorflow_thing + 1"),
    ("import tensorflow_datasets as tfds", "import tensorflow_datasets as tfds"),
])
def test_only_import_lines_point_at_tapeflow(line, want):
    assert run_guides.to_tapeflow(line) == want


def _notebook(tmp_path, sources):
    cells = [{"cell_type": "code", "source": s} for s in sources]
    cells.insert(1, {"cell_type": "markdown", "source": ["# a heading"]})
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    return str(path)


def test_cells_drop_magics_and_comment_only_cells(tmp_path):
    path = _notebook(tmp_path, [["!pip install foo\n", "a = 1\n"], "%matplotlib inline",
                                "# just a comment", ["b = a + 1\n", "b"]])
    assert run_guides.read_cells(path) == ["a = 1\n", "b = a + 1\nb"]


def test_cells_share_one_process_and_failures_do_not_stop_the_rest():
    cells = ["import tensorflow as tf\nx = tf.constant([1.0, 2.0])",
             "raise KeyError('boom')",
             "y = x * 2\nfloat(tf.reduce_sum(y))",
             "def f():\n    return 3\nimport inspect\ninspect.getsource(f)"]
    res = run_guides.run_notebook(cells, "tapeflow", cell_timeout=60, nb_timeout=300)
    assert [r["err"] is None for r in res] == [True, False, True, True]
    assert res[1]["err"][0] == "KeyError"


def test_score_counts_tapeflow_passes_among_tensorflow_passes():
    ok, bad = {"err": None}, {"err": ["ValueError", "no"]}
    s = run_guides.score("nb", ["a", "b", "c", "d"], [ok, ok, bad, ok], [ok, bad, ok, bad])
    assert (s["cells"], s["tf_pass"], s["tapeflow_pass"]) == (4, 3, 1)
    assert [f["cell"] for f in s["failures"]] == [1, 3]
    assert [f["cell"] for f in s["tf_failures"]] == [2]
