"""TextLineDataset, list_files and interleave over files, against TF."""
import gzip

import pytest

import tapeflow as tf


@pytest.fixture
def text_files(tmp_path):
    for k in range(4):
        (tmp_path / f"f{k}.txt").write_text("".join(f"l{k}{i}\n" for i in range(k + 1)))
    return tmp_path


def test_text_lines_split_as_tf(real_tf, tmp_path):
    path = str(tmp_path / "a.txt")
    open(path, "wb").write(b"one\ntwo\r\n\nthree\rx\nlast")
    ours = list(tf.data.TextLineDataset(path).as_numpy_iterator())
    assert ours == list(real_tf.data.TextLineDataset(path).as_numpy_iterator())


def test_gzip_text_lines(tmp_path):
    path = str(tmp_path / "a.gz")
    with gzip.open(path, "wb") as f:
        f.write(b"a\nb\n")
    assert list(tf.data.TextLineDataset(path, "GZIP").as_numpy_iterator()) == [b"a", b"b"]


def test_interleave_of_text_files_matches_tf(real_tf, text_files):
    pattern = str(text_files / "*.txt")

    def lines(m):
        return list(m.data.Dataset.list_files(pattern, shuffle=False).interleave(
            m.data.TextLineDataset, cycle_length=2, block_length=2).as_numpy_iterator())
    assert lines(tf) == lines(real_tf)


def test_num_parallel_reads_order_matches_tf(real_tf, text_files):
    files = sorted(str(p) for p in text_files.glob("*.txt"))
    ours = list(tf.data.TextLineDataset(files, num_parallel_reads=3).as_numpy_iterator())
    assert ours == list(real_tf.data.TextLineDataset(files, num_parallel_reads=3)
                        .as_numpy_iterator())


def test_list_files_shuffles_all_files_reproducibly_with_a_seed(text_files):
    pattern = str(text_files / "*.txt")
    a = list(tf.data.Dataset.list_files(pattern, seed=3).as_numpy_iterator())
    b = list(tf.data.Dataset.list_files(pattern, seed=3).as_numpy_iterator())
    assert a == b and sorted(a) == [p.encode() for p in tf.io.gfile.glob(pattern)] and len(a) == 4


def test_list_files_without_match_is_an_error(tmp_path):
    with pytest.raises(tf.errors.InvalidArgumentError, match="No files matched"):
        tf.data.Dataset.list_files(str(tmp_path / "*.none"))
