"""keras.datasets loaders on the real formats: IDX gz, .npz, CIFAR python pickles in tar.gz."""
import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error

import numpy as np
import pytest

from tapeflow.keras import datasets
from tapeflow.keras.datasets import _files, _formats, cifar10, cifar100, fashion_mnist, mnist

DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, no system copies, and no network: each test adds what it needs."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", ())

    def offline(url, out):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(_files, "_fetch", offline)
    return tmp_path / "datasets"


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_fashion(folder, n_train=6, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    os.makedirs(folder, exist_ok=True)
    for name, a in arrays.items():
        with gzip.open(os.path.join(folder, name), "wb") as f:
            f.write(_idx(a))
    return arrays


class _Py2Pickler(pickle._Pickler):
    """Writes bytes and str as Python 2 `str` (SHORT_BINSTRING/BINSTRING), protocol 2:
    the encoding of the published CIFAR batches, which were pickled by Python 2."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        if isinstance(obj, str):
            obj = obj.encode("latin1")
        n = len(obj)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj if n < 256
                   else pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str


def _cifar_batch(n, label_keys, seed):
    """One batch file's bytes as CIFAR publishes it: a py2 pickle of a dict of str keys."""
    rng = np.random.default_rng(seed)
    d = {"batch_label": "training batch", "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
         "filenames": [f"img_{i}.png" for i in range(n)]}
    for key, top in label_keys.items():
        d[key] = rng.integers(0, top, n).tolist()
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(d)
    # The published files name NumPy's array rebuilder by its NumPy 1 module path.
    data = buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    return data, {k.encode(): v for k, v in d.items()}


def _write_cifar10_archive(path, n=4):
    batches = {}
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            data, d = _cifar_batch(n, {"labels": 10}, i)
            batches[name] = d
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return batches


# -- real Fashion-MNIST ------------------------------------------------------------

@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_from_the_debian_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]   # the published first labels
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert x_train.max() == 255 and x_train.min() == 0


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_files_match_the_download_checksums():
    for name in fashion_mnist.FILES:
        assert _files.checksum_ok(os.path.join(DEBIAN_FASHION, name), fashion_mnist.remote(name))


# -- files written in the real formats ---------------------------------------------------

def test_fashion_mnist_reads_idx_gz_from_the_keras_cache(keras_home):
    arrays = _write_fashion(keras_home / "fashion-mnist")
    (x_train, _), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x_train.dtype == np.uint8 and x_test.shape == (4, 28, 28)


def test_fashion_mnist_cache_is_preferred_over_system_copy(keras_home, tmp_path, monkeypatch):
    cached = _write_fashion(keras_home / "fashion-mnist", seed=1)
    _write_fashion(tmp_path / "system", seed=2)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (str(tmp_path / "system"),))
    (_, y_train), _ = fashion_mnist.load_data()
    np.testing.assert_array_equal(y_train, cached["train-labels-idx1-ubyte.gz"])


def test_fashion_mnist_uses_system_copy_when_cache_is_empty(keras_home, tmp_path, monkeypatch):
    system = _write_fashion(tmp_path / "system", seed=2)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (str(tmp_path / "system"),))
    (_, y_train), _ = fashion_mnist.load_data()
    np.testing.assert_array_equal(y_train, system["train-labels-idx1-ubyte.gz"])


def test_truncated_idx_gz_names_the_file(keras_home):
    _write_fashion(keras_home / "fashion-mnist")
    path = keras_home / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz is corrupt or truncated"):
        fashion_mnist.load_data()


def test_idx_with_too_few_values_is_refused():
    data = _idx(np.zeros((3, 28, 28), np.uint8))[:-5]
    with pytest.raises(_formats.CorruptDatasetError, match=r"shape \(3, 28, 28\)"):
        _formats.parse_idx(data, "imgs", 3)
    with pytest.raises(_formats.CorruptDatasetError, match="magic"):
        _formats.parse_idx(b"\x01\x02\x08\x03", "imgs", 3)


def test_mnist_reads_the_npz(keras_home):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 5, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 2, dtype=np.uint8)}
    keras_home.mkdir(parents=True)
    np.savez(keras_home / "mnist.npz", **arrays)
    (x_train, _), (_, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_mnist_offline_without_a_copy_says_where_to_put_it(keras_home):
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "mnist.npz" in message and str(keras_home) in message
    assert "network disabled" in message and mnist.REMOTE.url in message
    assert not keras_home.exists() or not any(keras_home.iterdir())   # nothing half-written


def test_truncated_npz_names_the_file(keras_home):
    keras_home.mkdir(parents=True)
    np.savez(keras_home / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    data = (keras_home / "mnist.npz").read_bytes()
    (keras_home / "mnist.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="mnist.npz is corrupt or truncated"):
        mnist.load_data()


def test_npz_missing_arrays_is_explained(keras_home):
    keras_home.mkdir(parents=True)
    np.savez(keras_home / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="lacks the arrays"):
        mnist.load_data()


def test_cifar10_from_the_tar_gz_archive(keras_home):
    keras_home.mkdir(parents=True)
    batches = _write_cifar10_archive(keras_home / "cifar-10-batches-py.tar.gz")
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (20, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (20, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (4, 32, 32, 3) and y_test.shape == (4, 1)
    first = batches["data_batch_1"][b"data"][0].reshape(3, 32, 32)
    np.testing.assert_array_equal(x_train[0], first.transpose(1, 2, 0))   # channels last
    assert y_test[:, 0].tolist() == batches["test_batch"][b"labels"]
    # The batches were kept extracted, as Keras does; the next load reads them from there.
    assert sorted(os.listdir(keras_home / "cifar-10-batches-py")) == sorted(batches)
    os.remove(keras_home / "cifar-10-batches-py.tar.gz")
    (x_again, _), _ = cifar10.load_data()
    np.testing.assert_array_equal(x_again, x_train)


def test_cifar10_from_the_extracted_folder(keras_home):
    folder = keras_home / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        (folder / name).write_bytes(_cifar_batch(3, {"labels": 10}, i)[0])
    (x_train, _), (x_test, _) = cifar10.load_data()
    assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)


def _write_cifar100_archive(path, n=5):
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate(["train", "test"]):
            data, _ = _cifar_batch(n, {"fine_labels": 100, "coarse_labels": 20}, i)
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_cifar100_fine_and_coarse_labels(keras_home):
    keras_home.mkdir(parents=True)
    _write_cifar100_archive(keras_home / "cifar-100-python.tar.gz")
    (x_train, fine), _ = cifar100.load_data()
    (_, coarse), _ = cifar100.load_data(label_mode="coarse")
    assert x_train.shape == (5, 32, 32, 3) and fine.shape == (5, 1) and fine.dtype == np.uint8
    _, d = _cifar_batch(5, {"fine_labels": 100, "coarse_labels": 20}, 0)
    assert fine[:, 0].tolist() == d[b"fine_labels"]
    assert coarse[:, 0].tolist() == d[b"coarse_labels"]
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


class _Exploit:
    """A pickle payload whose loading would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_cifar_pickle_is_refused_without_running_it(keras_home, tmp_path):
    marker = tmp_path / "pwned"
    folder = keras_home / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        (folder / name).write_bytes(_cifar_batch(2, {"labels": 10}, i)[0])
    payload = {"data": np.zeros((1, 3072), np.uint8), "labels": [0], "x": _Exploit(marker)}
    (folder / "data_batch_3").write_bytes(pickle.dumps(payload, protocol=4))
    with pytest.raises(ValueError, match=r"data_batch_3 was not loaded: refusing .*system"):
        cifar10.load_data()
    assert not marker.exists()


def test_safe_unpickler_refuses_object_arrays():
    data = pickle.dumps(np.array([{"a": 1}], dtype=object))
    with pytest.raises(_formats.CorruptDatasetError, match="dtype 'O'"):
        _formats.safe_loads(data, "objects.pkl")


def test_truncated_cifar_archive_names_the_file(keras_home):
    keras_home.mkdir(parents=True)
    path = keras_home / "cifar-10-batches-py.tar.gz"
    _write_cifar10_archive(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="cifar-10-batches-py.tar.gz is corrupt or truncated"):
        cifar10.load_data()


def test_truncated_cifar_batch_names_the_member(keras_home):
    folder = keras_home / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        (folder / name).write_bytes(_cifar_batch(2, {"labels": 10}, i)[0])
    (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes()[:100])
    with pytest.raises(ValueError, match="test_batch is corrupt or truncated"):
        cifar10.load_data()


# -- downloads -------------------------------------------------------------------

_real_fetch = _files._fetch


def test_download_checks_the_checksum_then_renames(keras_home, tmp_path, monkeypatch):
    source = tmp_path / "mirror" / "cifar-10-python.tar.gz"
    source.parent.mkdir()
    _write_cifar10_archive(source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setattr(_files, "_fetch", _real_fetch)
    monkeypatch.setattr(cifar10, "REMOTE", _files.Remote(source.as_uri(), digest))
    (x_train, _), _ = cifar10.load_data()
    assert x_train.shape == (20, 32, 32, 3)
    assert sorted(p.name for p in keras_home.iterdir()) == ["cifar-10-batches-py",
                                                            "cifar-10-batches-py.tar.gz"]


def test_download_with_a_wrong_checksum_leaves_nothing(keras_home, tmp_path, monkeypatch):
    source = tmp_path / "mnist.npz"
    np.savez(source, x_train=np.zeros(1))
    monkeypatch.setattr(_files, "_fetch", _real_fetch)
    monkeypatch.setattr(mnist, "REMOTE", _files.Remote(source.as_uri(), "0" * 64))
    with pytest.raises(ValueError, match="does not match its sha256 checksum"):
        mnist.load_data()
    assert list(keras_home.iterdir()) == []


def test_fashion_mnist_download_checks_decompressed_content(keras_home, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    arrays = _write_fashion(mirror)
    digests = {}
    for name in fashion_mnist.FILES:
        with gzip.open(mirror / name) as f:
            digests[name] = hashlib.sha256(f.read()).hexdigest()
    monkeypatch.setattr(_files, "_fetch", _real_fetch)
    monkeypatch.setattr(fashion_mnist, "BASE_URL", mirror.as_uri() + "/")
    monkeypatch.setattr(fashion_mnist, "CONTENT_SHA256", digests)
    (x_train, _), _ = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    assert sorted(p.name for p in (keras_home / "fashion-mnist").iterdir()) == sorted(digests)


def test_fashion_mnist_offline_error_lists_files_and_alternatives(keras_home):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist") as info:
        fashion_mnist.load_data()
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert str(keras_home / "fashion-mnist") in str(info.value)
