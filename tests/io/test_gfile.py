"""tf.io.gfile on the local file system."""
import pytest

import tapeflow as tf


def test_gfile_write_read_and_listing(tmp_path):
    d = str(tmp_path / "a" / "b")
    tf.io.gfile.makedirs(d)
    assert tf.io.gfile.isdir(d)
    with tf.io.gfile.GFile(d + "/x.txt", "w") as f:
        f.write("hi\nthere\n")
    with tf.io.gfile.GFile(d + "/x.txt") as f:
        assert f.readlines() == ["hi\n", "there\n"]
    with tf.io.gfile.GFile(d + "/x.txt", "rb") as f:
        assert f.read() == b"hi\nthere\n"
    assert tf.io.gfile.listdir(d) == ["x.txt"]
    assert tf.io.gfile.glob(d + "/*.txt") == [d + "/x.txt"]


def test_rename_copy_remove(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    open(a, "w").write("1")
    tf.io.gfile.copy(a, b)
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.io.gfile.rename(a, b)
    tf.io.gfile.rename(a, b, overwrite=True)
    assert not tf.io.gfile.exists(a) and tf.io.gfile.exists(b)
    tf.io.gfile.remove(b)
    assert not tf.io.gfile.exists(b)


def test_missing_files_raise_not_found(tmp_path):
    with pytest.raises(tf.errors.NotFoundError):
        tf.io.gfile.GFile(str(tmp_path / "none"))
    with pytest.raises(tf.errors.NotFoundError):
        tf.io.gfile.remove(str(tmp_path / "none"))
