"""Datasets read from files: `TFRecordDataset`, `TextLineDataset`, `Dataset.list_files`.

Each element is a scalar string tensor (a record's payload, a line without its line
ending). `filenames` may be a path, a list of paths, a string tensor or a dataset of
paths; with `num_parallel_reads` > 1 the files are read interleaved one element at a
time (`cycle_length=num_parallel_reads`), in TF's deterministic order.

    >>> import tapeflow as tf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'a.txt')
    >>> with open(path, 'w') as f:
    ...     _ = f.write('one\\ntwo\\r\\nthree')
    >>> list(tf.data.TextLineDataset(path).as_numpy_iterator())
    [b'one', b'two', b'three']
"""
from __future__ import annotations

import gzip
import io
import zlib

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import UNKNOWN, Dataset, stage
from tapeflow.framework import dtypes, errors
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.io import tfrecord

_STRING_SPEC = TensorSpec([], dtypes.string)


def _scalar(value: bytes) -> np.ndarray:
    out = np.empty((), object)
    out[()] = value
    return out


def filename_list(filenames, what="filenames") -> list:
    """Paths (str) from a path, a list, a string tensor or a dataset of paths."""
    if isinstance(filenames, Dataset):
        return [p.decode("utf-8") for p in filenames.as_numpy_iterator()]
    try:
        arr = structure.to_array(filenames, dtypes.string, what=what)
    except TypeError:
        raise TypeError(f"`{what}` must be a string, a list of strings or a string tensor; "
                        f"got {filenames!r}.") from None
    arr = np.asarray(arr, object)
    if arr.ndim > 1:
        raise TypeError(f"`{what}` must be a scalar or a vector of strings; got shape "
                        f"{arr.shape}.")
    return [p.decode("utf-8") for p in arr.reshape(-1)]


class _FileDataset(Dataset):
    """Elements of several files, read one file after another or interleaved."""

    def __init__(self, filenames, compression_type, buffer_size, num_parallel_reads):
        self._files = filename_list(filenames)
        self._compression = tfrecord.compression_name(compression_type)
        self._buffer_size = buffer_size
        self._parallel = int(num_parallel_reads or 1)
        self._spec = _STRING_SPEC

    def _read(self, path):
        raise NotImplementedError

    def _iter_flat(self):
        if self._parallel <= 1:
            for path in self._files:
                for item in self._read(path):
                    yield [_scalar(item)]
            return
        # cycle_length = num_parallel_reads, block_length = 1, through `interleave`
        # (TF's order: a finished file's slot takes the next file).
        def one_file(path):
            return type(self)(path, self._compression, self._buffer_size)
        files = Dataset.from_tensor_slices(self._files)
        yield from files.interleave(one_file, cycle_length=self._parallel,
                                    block_length=1)._iter_flat()

    def _card(self):
        return UNKNOWN


class TFRecordDataset(_FileDataset):
    """`tf.data.TFRecordDataset(filenames, compression_type=None, buffer_size=None,
    num_parallel_reads=None)`: the records of TFRecord files (CRC-checked; a corrupt or
    truncated record raises `tf.errors.DataLossError` naming the file and record)."""

    _tf_name = "TFRecordDatasetV2"

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        super().__init__(filenames, compression_type, buffer_size, num_parallel_reads)

    def _read(self, path):
        return tfrecord.read_records(path, self._compression, self._buffer_size)


def _open_text(path, compression):
    from tapeflow.io.gfile import _not_found
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise _not_found(path) from None
    if compression == "GZIP":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "ZLIB":
        with raw:
            return io.BytesIO(zlib.decompress(raw.read()))
    return raw


def text_lines(path, compression=""):
    """The lines of a file as bytes, split at '\\n', every '\\r' removed (as TF's reader)."""
    with _open_text(path, compression) as f:
        for line in f:
            if line.endswith(b"\n"):
                line = line[:-1]
                if line.endswith(b"\r"):
                    line = line[:-1]
            yield line.replace(b"\r", b"")


class TextLineDataset(_FileDataset):
    """`tf.data.TextLineDataset(filenames, compression_type=None, buffer_size=None,
    num_parallel_reads=None)`: the lines of text files, without line endings."""

    _tf_name = "TextLineDatasetV2"

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        super().__init__(filenames, compression_type, buffer_size, num_parallel_reads)

    def _read(self, path):
        return text_lines(path, self._compression)


@stage("list_files")
def list_files(file_pattern, shuffle=None, seed=None, name=None):
    """The paths matching `file_pattern` (a pattern or a list of patterns), sorted, then
    shuffled (unless `shuffle=False`) with a buffer holding them all, as TF.

    Raises:
        tf.errors.InvalidArgumentError: no file matches.
    """
    from tapeflow.io import gfile
    patterns = filename_list(file_pattern, "file_pattern")
    files = gfile.glob(patterns)
    if not files:
        raise errors.InvalidArgumentError(
            None, None, f"Expected 'tf.Tensor(False, shape=(), dtype=bool)' to be true. "
            f"Summarized data: b'No files matched pattern: {', '.join(patterns)}'")
    ds = Dataset.from_tensor_slices(files)
    if shuffle is None or shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    return ds


class TFRecordWriter:
    """`tf.data.experimental.TFRecordWriter(filename, compression_type=None)`: writes a
    dataset of scalar strings as one TFRecord file (`write(dataset)`)."""

    def __init__(self, filename, compression_type=None):
        self._filename = filename
        self._compression = tfrecord.compression_name(compression_type)

    def write(self, dataset):
        spec = dataset.element_spec
        if not isinstance(spec, TensorSpec) or spec.dtype is not dtypes.string or (
                spec.shape.rank != 0):
            raise TypeError("tf.data.experimental.TFRecordWriter expects a dataset of scalar "
                            f"strings; got element_spec {spec!r}.")
        with tfrecord.TFRecordWriter(self._filename, self._compression) as w:
            for record in dataset.as_numpy_iterator():
                w.write(record)
