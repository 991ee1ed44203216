"""CSV files: `tf.data.experimental.CsvDataset` and `make_csv_dataset`.

Rows are split by Python's `csv` module (TF's quoting: `"a,b"` is one field, `""` an
escaped quote). A row with the wrong number of fields, a missing required field or a
field that is not a number of its column's type raises `tf.errors.InvalidArgumentError`
naming the file and the line; so does a line that is not UTF-8 text.

    >>> import tapeflow as tf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'a.csv')
    >>> with open(path, 'w') as f:
    ...     _ = f.write('x,name\\n1.5,a\\n,b\\n')
    >>> ds = tf.data.experimental.CsvDataset(path, [tf.constant(0.0), tf.string], header=True)
    >>> [(float(x), s.numpy()) for x, s in ds]
    [(1.5, b'a'), (0.0, b'b')]
"""
from __future__ import annotations

import collections
import csv

import numpy as np

from tapeflow.data.dataset import UNKNOWN, Dataset
from tapeflow.data.file_sources import _scalar, filename_list, text_lines
from tapeflow.framework import dtypes, errors
from tapeflow.framework.dtypes import DType
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.io import tfrecord

_CSV_TYPES = ("float32", "float64", "int32", "int64", "string")


def _default_of(value, index):
    """(dtype, default array or None) of one `record_defaults` entry."""
    if isinstance(value, (DType, str)) and not (isinstance(value, str) and value == ""):
        try:
            return dtypes.as_dtype(value), None
        except TypeError:
            pass
    from tapeflow.framework.op import convert_to_tensor
    t = value if hasattr(value, "dtype") and hasattr(value, "numpy") else convert_to_tensor(
        value)
    arr = np.asarray(t.numpy(), dtype=t.dtype._np).reshape(-1)
    if t.dtype.name not in _CSV_TYPES or arr.size > 1:
        raise ValueError(f"record_defaults[{index}] must be a dtype or a scalar (or 1-element) "
                         f"float32/float64/int32/int64/string value; got {value!r}.")
    return t.dtype, (arr[0] if arr.size else None)


def _convert(field: str, dtype: DType, default, where: str, col: int):
    if field == "":
        if default is None:
            raise errors.InvalidArgumentError(None, None, f"Field {col} is required but "
                                              f"missing in {where}")
        return default
    if dtype is dtypes.string:
        return field.encode("utf-8")
    try:
        return dtype._np.type(float(field) if dtype.is_floating else int(field))
    except (ValueError, OverflowError):
        raise errors.InvalidArgumentError(None, None, f"Field {col} in {where} is not a valid "
                                          f"{dtype.name}: {field!r}") from None


def csv_rows(path, compression, header, delim, use_quote):
    """(line number, fields) of each record of a CSV file, header skipped."""
    lines = text_lines(path, compression)
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise errors.InvalidArgumentError(None, None, f"{path}:{number}: the line is not "
                                              f"UTF-8 text ({e.reason} at byte {e.start})"
                                              ) from None
        if number == 1 and header:
            continue
        if line == "":
            continue
        fields = next(csv.reader([line], delimiter=delim,
                                 quoting=csv.QUOTE_MINIMAL if use_quote else csv.QUOTE_NONE))
        yield number, fields


class CsvDataset(Dataset):
    """`tf.data.experimental.CsvDataset`: one tuple of scalars per CSV record.

    `record_defaults` has one entry per (selected) column: a dtype (the field is
    required) or a default value whose dtype is the column's.
    """

    _tf_name = "CsvDatasetV2"

    def __init__(self, filenames, record_defaults, compression_type=None, buffer_size=None,
                 header=False, field_delim=",", use_quote_delim=True, na_value="",
                 select_cols=None, exclude_cols=None, name=None):
        self._files = filename_list(filenames)
        self._defaults = [_default_of(v, i) for i, v in enumerate(record_defaults)]
        if select_cols is not None and len(select_cols) != len(self._defaults):
            raise ValueError(f"select_cols has {len(select_cols)} columns but record_defaults "
                             f"has {len(self._defaults)}.")
        if select_cols is not None and list(select_cols) != sorted(set(select_cols)):
            raise ValueError("select_cols must be strictly increasing column indices.")
        self._select = None if select_cols is None else [int(c) for c in select_cols]
        self._exclude = set(exclude_cols or ())
        self._compression = tfrecord.compression_name(compression_type)
        self._header, self._delim, self._quote = bool(header), field_delim, use_quote_delim
        self._na = na_value
        self._spec = tuple(TensorSpec([], d) for d, _ in self._defaults)

    def _columns(self, n):
        if self._select is not None:
            return self._select
        cols = [c for c in range(n) if c not in self._exclude]
        return cols

    def _iter_flat(self):
        want = len(self._defaults)
        for path in self._files:
            for number, fields in csv_rows(path, self._compression, self._header, self._delim,
                                           self._quote):
                where = f"{path}, line {number}"
                cols = self._columns(len(fields))
                expected = want if self._select is None and not self._exclude else None
                if (expected is not None and len(fields) != expected) or len(cols) != want or (
                        cols and cols[-1] >= len(fields)):
                    raise errors.InvalidArgumentError(
                        None, None, f"Expect {want} fields but have {len(fields)} in {where}")
                row = []
                for (dtype, default), c in zip(self._defaults, cols):
                    field = fields[c]
                    field = "" if field == self._na and self._na else field
                    value = _convert(field, dtype, default, where, c)
                    row.append(_scalar(value) if dtype is dtypes.string
                               else np.asarray(value, dtype._np)[()])
                yield row

    def _card(self):
        return UNKNOWN


def _infer(values):
    """The narrowest of int32, int64, float32, string holding every (non-empty) value."""
    kinds = ["int32", "int64", "float32"]
    for v in values:
        if v == "":
            continue
        while kinds:
            try:
                if kinds[0] == "float32":
                    float(v)
                else:
                    n = int(v)
                    if kinds[0] == "int32" and not -2**31 <= n < 2**31:
                        raise ValueError
                break
            except ValueError:
                kinds.pop(0)
        if not kinds:
            return dtypes.string
    return dtypes.as_dtype(kinds[0]) if kinds else dtypes.string


def _zero(dtype):
    return b"" if dtype is dtypes.string else dtype._np.type(0)


def _column_setup(files, column_names, column_defaults, select_columns, header, delim,
                  use_quote, rows_for_inference, compression):
    sample = list(zip(range(rows_for_inference + 1), csv_rows(
        files[0], compression, False, delim, use_quote)))
    if column_names is None:
        if not header or not sample:
            raise ValueError("make_csv_dataset needs `column_names` when the files have no "
                             "header row.")
        column_names = list(sample[0][1][1])
    body = [fields for _, (_, fields) in sample[1 if header else 0:]]
    if select_columns is not None:
        idx = [column_names.index(c) if isinstance(c, str) else int(c) for c in select_columns]
        idx = sorted(idx)
    else:
        idx = list(range(len(column_names)))
    if column_defaults is None:
        column_defaults = [_infer([r[i] for r in body if i < len(r)]) for i in idx]
        column_defaults = [[_zero(d)] if d is not dtypes.string else [""]
                           for d in column_defaults]
    return column_names, idx, column_defaults


def make_csv_dataset(file_pattern, batch_size, column_names=None, column_defaults=None,
                     label_name=None, select_columns=None, field_delim=",",
                     use_quote_delim=True, na_value="", header=True, num_epochs=None,
                     shuffle=True, shuffle_buffer_size=10000, shuffle_seed=None,
                     prefetch_buffer_size=None, num_parallel_reads=None, sloppy=False,
                     num_rows_for_inference=100, compression_type=None, ignore_errors=False,
                     encoding="utf-8"):
    """`tf.data.experimental.make_csv_dataset`: batches of `(features, label)` (or
    `features`) where `features` is an OrderedDict of column name -> batched tensor.

    Column types are inferred from the first `num_rows_for_inference` rows (int32, int64,
    float32, else string) unless `column_defaults` is given; `num_epochs=None` repeats
    forever and rows are shuffled, as in TF.
    """
    from tapeflow.io import gfile
    pattern = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    files = gfile.glob(pattern)
    if not files:
        raise ValueError(f"No files match `file_pattern` {file_pattern!r}.")
    compression = tfrecord.compression_name(compression_type)
    names, idx, defaults = _column_setup(files, column_names, column_defaults, select_columns,
                                         header, field_delim, use_quote_delim,
                                         num_rows_for_inference, compression)
    selected = [names[i] for i in idx]
    if label_name is not None and label_name not in selected:
        raise ValueError(f"`label_name` {label_name!r} is not one of the columns {selected}.")
    ds = Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=shuffle_seed)
    ds = ds.interleave(lambda f: CsvDataset(f, defaults, compression, None, header,
                                            field_delim, use_quote_delim, na_value, idx),
                       cycle_length=num_parallel_reads or 1)
    if num_epochs != 1:
        ds = ds.repeat(num_epochs)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer_size, seed=shuffle_seed)

    def to_dict(*values):
        features = collections.OrderedDict(zip(selected, values))
        if label_name is None:
            return features
        label = features.pop(label_name)
        return features, label
    return ds.batch(batch_size).map(to_dict)
