"""Dataset.cache: in memory and in a file (first complete pass, atomic write, checked read)."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.data import cache as cache_mod

D = tf.data.Dataset


def _counting_generator(calls, values):
    def gen():
        calls.append(1)
        yield from values
    return gen


def test_file_cache_is_written_once_and_read_by_a_new_pipeline(tmp_path):
    calls = []

    def make():
        return D.from_generator(_counting_generator(calls, [1, 2, 3]),
                                output_signature=tf.TensorSpec([], tf.int32))
    path = str(tmp_path / "c")
    assert [int(v) for v in make().cache(path)] == [1, 2, 3]
    assert os.path.exists(path + cache_mod.SUFFIX) and len(calls) == 1
    again = make().cache(path)                 # e.g. the next run of the program
    assert [int(v) for v in again.repeat(2)] == [1, 2, 3] * 2 and len(calls) == 1
    assert len(again) == 3


def test_file_cache_of_equal_shapes_is_an_indexed_source(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
    path = str(tmp_path / "imgs")
    list(D.from_tensor_slices((x, np.arange(6))).map(lambda a, b: (a * 2, b)).cache(path))
    cached = D.from_tensor_slices((x, np.arange(6))).map(lambda a, b: (a * 2, b)).cache(path)
    assert cached._indexed() is not None
    xb, yb = next(iter(cached.shuffle(6, seed=0).batch(6)))
    np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()] * 2)


def test_file_cache_keeps_ragged_elements(tmp_path):
    path = str(tmp_path / "ragged")
    ds = D.range(1, 4).map(lambda n: tf.fill([n], n)).cache(path)
    first = [v.tolist() for v in ds.as_numpy_iterator()]
    second = [v.tolist() for v in D.range(1, 4).map(lambda n: tf.fill([n], n)).cache(path)
              .as_numpy_iterator()]
    assert first == second == [[1], [2, 2], [3, 3, 3]]


def test_an_interrupted_pass_writes_nothing(tmp_path):
    path = str(tmp_path / "partial")
    it = iter(D.range(10).cache(path))
    next(it)
    del it
    assert os.listdir(tmp_path) == []


def test_a_cache_from_another_pipeline_is_refused(tmp_path):
    path = str(tmp_path / "c")
    list(D.range(3).cache(path))
    with pytest.raises(ValueError, match="different pipeline"):
        list(D.from_tensor_slices([1.0, 2.0]).cache(path))


def test_a_corrupt_cache_file_is_named(tmp_path):
    path = str(tmp_path / "c")
    (tmp_path / ("c" + cache_mod.SUFFIX)).write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="c.tfdata-cache.npz is not a readable cache file"):
        list(D.range(3).cache(path))


def test_memory_cache_of_a_map_becomes_an_indexed_source():
    calls = []

    def double(x):
        calls.append(1)
        return x * 2
    ds = D.from_tensor_slices(np.arange(10)).map(double).cache()
    assert ds._indexed() is None                          # nothing cached yet
    first = sorted(int(v) for v in ds.shuffle(10))
    assert ds._indexed() is not None and len(ds) == 10   # now rows of stacked arrays
    batches = [b.numpy() for b in ds.shuffle(10, seed=1).batch(4)]
    assert sorted(np.concatenate(batches).tolist()) == first == list(range(0, 20, 2))
    assert len(calls) == 11                               # one trace + the first pass only


def test_memory_cache_keeps_ragged_elements_as_they_are():
    ds = D.range(1, 4).map(lambda n: tf.fill([n], n)).cache()
    first = [v.tolist() for v in ds.as_numpy_iterator()]
    assert [v.tolist() for v in ds.as_numpy_iterator()] == first == [[1], [2, 2], [3, 3, 3]]
    assert ds._indexed() is None
