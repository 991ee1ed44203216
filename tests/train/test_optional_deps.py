"""tapeflow imports and trains without protobuf, h5py and google-crc32c; saving then
says what to install."""
import os
import subprocess
import sys
from pathlib import Path

import tapeflow

_SCRIPT = r"""
import sys
for name in ("h5py", "google.protobuf", "google_crc32c"):
    sys.modules[name] = None            # as if not installed
import numpy as np
import tapeflow as tf
m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
m.compile("sgd", "mse")
m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
for call in (lambda: m.save_weights("w.weights.h5"),
             lambda: tf.train.Checkpoint(m=m).write("c")):
    try:
        call()
    except ImportError as e:
        print("ImportError:", e)
from tapeflow.train import crc
print(hex(crc.value(b"123456789")))
print(tf.__file__)
"""


def test_works_without_the_file_format_packages(tmp_path):
    root = str(Path(tapeflow.__file__).resolve().parent.parent)     # this checkout
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         timeout=120, check=True, cwd=tmp_path, env=env).stdout
    assert "ImportError: Keras weight files (.weights.h5, .keras, .h5) need the `h5py`" in out
    assert "ImportError: Reading and writing TensorFlow checkpoints needs the `protobuf`" in out
    assert "0xe3069283" in out                 # the pure-Python CRC32C
    assert list(tmp_path.iterdir()) == []      # nothing written
    assert out.strip().endswith(os.path.join(root, "tapeflow", "__init__.py"))
