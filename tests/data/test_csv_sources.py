"""CsvDataset and make_csv_dataset against TF; malformed CSV errors."""
import numpy as np
import pytest

import tapeflow as tf

CSV = 'x,name,y\n1.5,"a,b",1\n,b,0\n3,c,1\n-2,"say ""hi""",0\n'


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(CSV)
    return str(path)


def _rows(ds):
    return [tuple(np.asarray(v).tolist() for v in r) for r in ds.as_numpy_iterator()]


def test_csv_dataset_matches_tf(real_tf, csv_path):
    def rows(m):
        return _rows(m.data.experimental.CsvDataset(
            csv_path, [m.constant(0.0), m.string, m.int32], header=True))
    assert rows(tf) == rows(real_tf)


def test_csv_dataset_select_cols_matches_tf(real_tf, csv_path):
    def rows(m):
        return _rows(m.data.experimental.CsvDataset(
            csv_path, [m.constant(0.0), m.int64], header=True, select_cols=[0, 2]))
    assert rows(tf) == rows(real_tf)


def test_make_csv_dataset_batches_features_and_label_as_tf(real_tf, csv_path):
    def batches(m):
        ds = m.data.experimental.make_csv_dataset(csv_path, 3, label_name="y", num_epochs=1,
                                                  shuffle=False)
        return [({k: v.tolist() for k, v in f.items()}, y.tolist())
                for f, y in ds.as_numpy_iterator()]
    assert batches(tf) == batches(real_tf)


def test_make_csv_dataset_select_columns_and_inferred_types(real_tf, csv_path):
    ds = tf.data.experimental.make_csv_dataset(csv_path, 4, select_columns=["x", "y"],
                                               num_epochs=1, shuffle=False)
    (batch,) = list(ds)
    assert list(batch) == ["x", "y"]
    assert batch["x"].dtype == tf.float32 and batch["y"].dtype == tf.int32


def test_make_csv_dataset_repeats_by_default(csv_path):
    ds = tf.data.experimental.make_csv_dataset(csv_path, 4, shuffle=False)
    assert len(list(ds.take(3))) == 3


def test_wrong_column_count_names_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2\n3,4,5\n")
    ds = tf.data.experimental.CsvDataset(str(path), [tf.int32, tf.int32])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expect 2 fields but have 3 .*"
                                                             r"bad\.csv, line 2"):
        list(ds)


def test_non_number_field_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1\nabc\n")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Field 0 in .*bad\.csv, line 2"):
        list(tf.data.experimental.CsvDataset(str(path), [tf.int32]))


def test_non_utf8_line_names_file_and_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a\n\xe9t\xe9\n")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"latin\.csv:2: .*not UTF-8"):
        list(tf.data.experimental.CsvDataset(str(path), [tf.string]))


def test_missing_required_field_is_an_error(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("1,\n")
    with pytest.raises(tf.errors.InvalidArgumentError, match="Field 1 is required"):
        list(tf.data.experimental.CsvDataset(str(path), [tf.int32, tf.int32]))
