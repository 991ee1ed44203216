"""Readers for the published dataset formats: IDX (gzip), `.npz`, CIFAR pickles.

Every reader validates what it reads and raises `CorruptDatasetError`
naming the file (and the member inside an archive) when the bytes are
truncated or not in the format.

CIFAR's batches are Python pickles. They are read with `SafeUnpickler`,
which resolves only the three NumPy names an array needs (`_reconstruct`,
`ndarray`, `dtype`, with object dtypes refused); any other global, so any
pickle that would call arbitrary code while loading, is an error.

    >>> import io, pickle
    >>> from tapeflow.keras.datasets._formats import safe_loads
    >>> safe_loads(pickle.dumps({b'labels': [1, 2]}), 'example')
    {b'labels': [1, 2]}
"""
from __future__ import annotations

import gzip
import io
import math
import pickle
import zipfile
import zlib

import numpy as np


class CorruptDatasetError(ValueError):
    """A dataset file is truncated or not in its expected format."""


def _corrupt(name: str, problem: str) -> CorruptDatasetError:
    return CorruptDatasetError(
        f"Dataset file {name} is corrupt or truncated: {problem}. Delete it so that it is "
        "downloaded again, or replace it with a good copy.")


# -- IDX (MNIST, Fashion-MNIST) ---------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx_gz(path: str, ndim: int) -> np.ndarray:
    """Reads a gzip-compressed IDX file (LeCun's MNIST format) with rank `ndim`.

    Layout: two zero bytes, a type code (0x08 = uint8), the rank, the rank's
    dimensions as big-endian uint32, then the values in C order.
    """
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(path, f"it is not a complete gzip file ({e})") from None
    return parse_idx(data, path, ndim)


def parse_idx(data: bytes, name: str, ndim: int) -> np.ndarray:
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise _corrupt(name, "it does not start with an IDX magic number (00 00 type rank)")
    code, rank = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise _corrupt(name, f"unknown IDX type code 0x{code:02X}")
    if rank != ndim:
        raise _corrupt(name, f"expected an IDX array of rank {ndim}, the header says {rank}")
    header = 4 + 4 * rank
    if len(data) < header:
        raise _corrupt(name, "the header ends early")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", rank, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(dims) * dtype.itemsize     # Python ints: no overflow on odd headers
    if len(data) - header != expected:
        raise _corrupt(name, f"the header promises shape {dims} ({expected} bytes of data) "
                             f"but the file holds {len(data) - header} bytes")
    arr = np.frombuffer(data, dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else arr


# -- .npz (mnist.npz) -----------------------------------------------------------

def read_npz(path: str, keys) -> dict:
    """The arrays `keys` of an `.npz` archive, read with pickling disabled."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise _corrupt(path, f"it lacks the arrays {missing} (it has {f.files})")
            return {k: f[k] for k in keys}
    except CorruptDatasetError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise _corrupt(path, f"it is not a readable .npz archive ({e})") from None


# -- CIFAR python pickles -------------------------------------------------------

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]   # NumPy's array rebuilder


def _reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing to rebuild an array of type {subtype!r}")
    return _RECONSTRUCT(subtype, shape, dtype)


def _dtype(spec, align=False, copy=False):
    d = np.dtype(spec, align, copy)
    if d.hasobject:
        raise pickle.UnpicklingError("refusing an array of Python objects (dtype 'O')")
    return d


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
}


class SafeUnpickler(pickle.Unpickler):
    """Loads only containers, bytes/str, numbers and plain NumPy arrays."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load the global {module}.{name}: dataset pickles may contain "
                "only containers, strings, numbers and NumPy arrays") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent id in a dataset pickle")


def safe_loads(data: bytes, name: str):
    """Unpickles `data` (named `name` in errors) with `SafeUnpickler`."""
    try:
        return SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError as e:
        if str(e).startswith("refusing"):
            raise CorruptDatasetError(f"Dataset file {name} was not loaded: {e}. It is not a "
                                      "genuine dataset file.") from None
        raise _corrupt(name, f"it is not a complete pickle ({e})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
        raise _corrupt(name, f"it is not a complete pickle ({type(e).__name__}: {e})") from None


def cifar_batch(data: bytes, name: str, label_key: str):
    """`(images (N, 3, 32, 32) uint8, labels (N,) uint8)` from one CIFAR python batch."""
    d = safe_loads(data, name)
    if not isinstance(d, dict):
        raise _corrupt(name, f"expected a pickled dict, found {type(d).__name__}")
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    for key in ("data", label_key):
        if key not in d:
            raise _corrupt(name, f"it has no {key!r} entry (it has {sorted(d)})")
    images, labels = d["data"], d[label_key]
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 2
            and images.shape[1] == 3 * 32 * 32):
        what = (f"{images.dtype} array of shape {images.shape}" if isinstance(images, np.ndarray)
                else type(images).__name__)
        raise _corrupt(name, f"'data' should be a uint8 array of shape (N, 3072), found {what}")
    labels = np.asarray(labels)
    if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
        raise _corrupt(name, f"{label_key!r} should hold {len(images)} integer labels, found "
                             f"shape {labels.shape} dtype {labels.dtype}")
    return images.reshape(len(images), 3, 32, 32), labels.astype(np.uint8)
