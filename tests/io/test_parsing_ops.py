"""tf.train.Example, parse_single_example/parse_example, serialized tensors, files."""
import numpy as np
import pytest

import tapeflow as tf


def _example(m, i):
    return m.train.Example(features=m.train.Features(feature={
        "x": m.train.Feature(float_list=m.train.FloatList(value=[i, 2.0 * i])),
        "n": m.train.Feature(int64_list=m.train.Int64List(value=list(range(i)))),
        "s": m.train.Feature(bytes_list=m.train.BytesList(value=[b"w%d" % i]))}))


def _spec(m):
    return {"x": m.io.FixedLenFeature([2], m.float32), "n": m.io.VarLenFeature(m.int64),
            "s": m.io.FixedLenFeature([], m.string),
            "d": m.io.FixedLenFeature([], m.int64, default_value=7)}


def test_example_bytes_equal_tfs(real_tf):
    for i in range(3):
        assert (_example(tf, i).SerializeToString()
                == _example(real_tf, i).SerializeToString())


def test_tf_parses_tapeflow_example(real_tf):
    data = _example(tf, 2).SerializeToString()
    assert real_tf.train.Example.FromString(data) == _example(real_tf, 2)


def test_parse_single_example_matches_tf(real_tf):
    data = _example(real_tf, 3).SerializeToString()
    ours = tf.io.parse_single_example(data, _spec(tf))
    theirs = real_tf.io.parse_single_example(data, _spec(real_tf))
    for key in ours:
        want = theirs[key].values if key == "n" else theirs[key]
        np.testing.assert_array_equal(ours[key].numpy(), want.numpy())
        assert ours[key].dtype.name == want.dtype.name


def test_parse_example_batch_matches_tf_with_varlen_padded(real_tf):
    data = [_example(real_tf, i).SerializeToString() for i in range(4)]
    ours = tf.io.parse_example(tf.constant(data), _spec(tf))
    theirs = real_tf.io.parse_example(data, _spec(real_tf))
    theirs["n"] = real_tf.sparse.to_dense(theirs["n"])
    for key in ours:
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())


def test_parse_example_in_dataset_map(tmp_path):
    path = str(tmp_path / "e.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for i in range(3):
            w.write(_example(tf, i).SerializeToString())
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32)}
    ds = tf.data.TFRecordDataset(path).map(lambda r: tf.io.parse_single_example(r, spec)["x"])
    assert ds.element_spec.shape.as_list() == [2]
    np.testing.assert_array_equal(np.stack(list(ds.as_numpy_iterator())),
                                  [[0, 0], [1, 2], [2, 4]])


def test_missing_required_feature_is_an_error():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Feature: q .*required"):
        tf.io.parse_single_example(_example(tf, 1).SerializeToString(),
                                   {"q": tf.io.FixedLenFeature([], tf.int64)})


def test_wrong_feature_type_is_an_error_naming_the_key():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Key: x.*float but expected.*int64"):
        tf.io.parse_single_example(_example(tf, 1).SerializeToString(),
                                   {"x": tf.io.FixedLenFeature([2], tf.int64)})


@pytest.mark.parametrize("value", [[[1.5, 2.0]], [1, 2, 3], ["a", "bc"], True, [[1, 2]]])
def test_serialize_tensor_bytes_equal_tfs_and_parse_both_ways(real_tf, value):
    ours = tf.io.serialize_tensor(tf.constant(value)).numpy()
    theirs = real_tf.io.serialize_tensor(real_tf.constant(value)).numpy()
    assert ours == theirs
    dtype = real_tf.constant(value).dtype.name
    back = tf.io.parse_tensor(theirs, dtype)
    np.testing.assert_array_equal(back.numpy(), real_tf.io.parse_tensor(ours, dtype).numpy())


def test_parse_tensor_of_wrong_dtype_is_an_error():
    data = tf.io.serialize_tensor(tf.constant([1.0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Type mismatch"):
        tf.io.parse_tensor(data, tf.int32)


def test_read_write_file_and_decode_raw(tmp_path, real_tf):
    path = str(tmp_path / "f.bin")
    tf.io.write_file(path, b"\x01\x00\x02\x00\xff\xff")
    data = tf.io.read_file(path)
    assert data.numpy() == b"\x01\x00\x02\x00\xff\xff"
    np.testing.assert_array_equal(tf.io.decode_raw(data, tf.int16).numpy(),
                                  real_tf.io.decode_raw(data.numpy(), real_tf.int16).numpy())
    np.testing.assert_array_equal(
        tf.io.decode_raw(data, tf.uint16, little_endian=False).numpy(),
        real_tf.io.decode_raw(data.numpy(), real_tf.uint16, little_endian=False).numpy())


def test_read_missing_file_is_not_found(tmp_path):
    with pytest.raises(tf.errors.NotFoundError, match="missing.txt"):
        tf.io.read_file(str(tmp_path / "missing.txt"))
