"""keras.utils.get_file: Keras's cache layout, hashes, extraction, offline errors.
No test touches the network: origins are file:// URLs or the fetch is replaced."""
import hashlib
import os
import tarfile
import urllib.error

import pytest

import tapeflow as tf
from tapeflow.keras.datasets import _files


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src" / "data.txt"
    path.parent.mkdir()
    path.write_bytes(b"hello data\n")
    return path


def test_downloads_into_cache_subdir(tmp_path, source):
    cache = str(tmp_path / "cache")
    got = tf.keras.utils.get_file("data.txt", source.as_uri(), cache_dir=cache)
    assert got == os.path.join(cache, "datasets", "data.txt")
    assert open(got, "rb").read() == b"hello data\n"


def test_default_cache_is_keras_home(tmp_path, source, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    got = tf.keras.utils.get_file(origin=source.as_uri(), cache_subdir="sub")
    assert got == str(tmp_path / "home" / "sub" / "data.txt")


def test_cached_file_is_used_without_fetching(tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "datasets"
    cache.mkdir(parents=True)
    (cache / "x.bin").write_bytes(b"cached")

    def no_network(url, out):
        raise AssertionError("fetched although the file was cached")
    monkeypatch.setattr(_files, "_fetch", no_network)
    digest = hashlib.sha256(b"cached").hexdigest()
    got = tf.keras.utils.get_file("x.bin", "https://example.invalid/x.bin",
                                  cache_dir=str(tmp_path / "cache"), file_hash=digest)
    assert open(got, "rb").read() == b"cached"


def test_hash_mismatch_is_an_error_and_keeps_nothing(tmp_path, source):
    cache = str(tmp_path / "cache")
    with pytest.raises(ValueError, match="hash does not match"):
        tf.keras.utils.get_file("data.txt", source.as_uri(), cache_dir=cache,
                                file_hash="0" * 64)
    assert os.listdir(os.path.join(cache, "datasets")) == []


def test_offline_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    def offline(url, out):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(_files, "_fetch", offline)
    cache = str(tmp_path / "cache")
    with pytest.raises(OSError, match=r"put it at .*cache/datasets/y\.csv"):
        tf.keras.utils.get_file("y.csv", "https://example.invalid/y.csv", cache_dir=cache)


def test_extract_tar_gz_into_name_extracted(tmp_path, source):
    archive = tmp_path / "src" / "pack.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(source, arcname="inner/data.txt")
    got = tf.keras.utils.get_file("pack.tar.gz", archive.as_uri(), extract=True,
                                  cache_dir=str(tmp_path / "cache"))
    assert got.endswith(os.path.join("datasets", "pack_extracted"))
    assert open(os.path.join(got, "inner", "data.txt"), "rb").read() == b"hello data\n"
