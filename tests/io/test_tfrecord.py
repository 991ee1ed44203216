"""TFRecord files: TF's format both ways, compression, and corrupt files."""
import os

import pytest

import tapeflow as tf

RECORDS = [b"hello", b"", b"x" * 1000, bytes(range(256))]


@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_tf_reads_tapeflow_tfrecords(real_tf, tmp_path, compression):
    path = str(tmp_path / "a.tfrecord")
    with tf.io.TFRecordWriter(path, options=compression) as w:
        for r in RECORDS:
            w.write(r)
    got = [r.numpy() for r in real_tf.data.TFRecordDataset(path, compression_type=compression)]
    assert got == RECORDS


@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_tapeflow_reads_tf_tfrecords(real_tf, tmp_path, compression):
    path = str(tmp_path / "b.tfrecord")
    with real_tf.io.TFRecordWriter(path, options=compression) as w:
        for r in RECORDS:
            w.write(r)
    ds = tf.data.TFRecordDataset(path, compression_type=compression or None)
    assert list(ds.as_numpy_iterator()) == RECORDS
    assert ds.element_spec == tf.TensorSpec([], tf.string)


def test_uncompressed_file_bytes_equal_tfs(real_tf, tmp_path):
    ours, theirs = str(tmp_path / "o"), str(tmp_path / "t")
    with tf.io.TFRecordWriter(ours) as w, real_tf.io.TFRecordWriter(theirs) as v:
        for r in RECORDS:
            w.write(r)
            v.write(r)
    assert open(ours, "rb").read() == open(theirs, "rb").read()


def _write(path, records):
    with tf.io.TFRecordWriter(path) as w:
        for r in records:
            w.write(r)


def test_bad_crc_is_a_data_loss_error_naming_file_and_record(tmp_path):
    path = str(tmp_path / "bad.tfrecord")
    _write(path, [b"first", b"second"])
    data = bytearray(open(path, "rb").read())
    data[-6] ^= 0xFF          # a byte of the second record's payload
    open(path, "wb").write(bytes(data))
    it = iter(tf.data.TFRecordDataset(path))
    assert next(it).numpy() == b"first"
    with pytest.raises(tf.errors.DataLossError, match=r"bad\.tfrecord.*record 1"):
        next(it)


def test_truncated_file_is_a_data_loss_error(tmp_path):
    path = str(tmp_path / "cut.tfrecord")
    _write(path, [b"abcdefgh"])
    open(path, "r+b").truncate(os.path.getsize(path) - 3)
    with pytest.raises(tf.errors.DataLossError, match=r"cut\.tfrecord.*record 0"):
        list(tf.data.TFRecordDataset(path))


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(tf.errors.NotFoundError, match="nope"):
        list(tf.data.TFRecordDataset(str(tmp_path / "nope")))


def test_dataset_tfrecord_writer_output_is_read_by_tf(real_tf, tmp_path):
    path = str(tmp_path / "w.tfrecord")
    tf.data.experimental.TFRecordWriter(path, "GZIP").write(
        tf.data.Dataset.from_tensor_slices([b"a", b"bc"]))
    got = [r.numpy() for r in real_tf.data.TFRecordDataset(path, compression_type="GZIP")]
    assert got == [b"a", b"bc"]
