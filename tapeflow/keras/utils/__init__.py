"""`keras.utils`: Progbar, to_categorical, set_random_seed, plot_model, get_file,
text_dataset_from_directory."""
from __future__ import annotations

import numpy as np

from tapeflow.keras.utils.file_utils import get_file, validate_file  # noqa: F401
from tapeflow.keras.utils.plot_model import model_to_dot, plot_model  # noqa: F401
from tapeflow.keras.saving.registry import register_keras_serializable  # noqa: F401
from tapeflow.keras.utils.progbar import Progbar  # noqa: F401
from tapeflow.keras.utils.sequence_utils import pad_sequences  # noqa: F401
from tapeflow.keras.utils.image_dataset import image_dataset_from_directory  # noqa: F401
from tapeflow.keras.utils.image_utils import (  # noqa: F401
    array_to_img, img_to_array, load_img, save_img)
from tapeflow.keras.utils.text_dataset import text_dataset_from_directory  # noqa: F401


def to_categorical(y, num_classes=None, dtype="float32"):
    """Integer class vector -> one-hot matrix.

        >>> to_categorical([0, 2], 3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if num_classes is None:
        num_classes = int(y.max()) + 1
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out.reshape(shape + (num_classes,))


def set_random_seed(seed):
    """Seeds Python's, NumPy's and tapeflow's random generators."""
    import random

    from tapeflow.ops import random_ops
    random.seed(seed)
    np.random.seed(seed)
    random_ops.set_seed(seed)
