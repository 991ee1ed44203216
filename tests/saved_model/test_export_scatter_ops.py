"""Scatters and traced TensorArray buffers saved by tapeflow give tapeflow's values in
TensorFlow.
"""
import numpy as np

import tapeflow as tf


class _Accumulating(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None])])
    def doubled(self, x):
        ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(tf.shape(x)[0]):
            ta = ta.write(i, x[i] * 2.0)
        return ta.stack()

    @tf.function(input_signature=[tf.TensorSpec([None, 2])])
    def row_sums(self, x):
        ta = tf.TensorArray(tf.float32, size=2, dynamic_size=True)
        for i in tf.range(tf.shape(x)[0]):
            ta = ta.write(i, tf.reduce_sum(x[i]) + tf.cast(i, tf.float32))
        return ta.stack()

    @tf.function(input_signature=[tf.TensorSpec([3]), tf.TensorSpec([3], tf.int32)])
    def scatter(self, x, ids):
        return (tf.math.unsorted_segment_sum(x, ids, 4) + tf.scatter_nd([[1], [3]], x[:2], [4])
                + tf.tensor_scatter_nd_add(tf.zeros([4]), [[0], [0]], x[1:]))


def test_tensor_arrays_in_loops_and_scatters_give_tapeflows_values(save_load, tmp_path):
    module = _Accumulating()
    loaded = save_load(module, tmp_path / "ta")
    for n in (0, 3):
        x = np.arange(n, dtype=np.float32)
        np.testing.assert_array_equal(loaded.doubled(x).numpy(), module.doubled(x).numpy())
    for n in (1, 3):
        rows = np.ones((n, 2), np.float32)
        np.testing.assert_array_equal(loaded.row_sums(rows).numpy(),
                                      module.row_sums(rows).numpy())
    x, ids = np.array([1.0, 2.0, 3.0], np.float32), np.array([0, 2, 0], np.int32)
    np.testing.assert_array_equal(loaded.scatter(x, ids).numpy(), module.scatter(x, ids).numpy())


class _TracedKeys(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3, 4]), tf.TensorSpec([], tf.int32)])
    def sliced(self, x, n):
        return (x[n, ..., tf.newaxis, ::n], x[-n:, 1, n - 4:], x[..., ::-n], x[-n])


def test_traced_indices_and_slice_bounds_give_tapeflows_values(save_load, tmp_path):
    module = _TracedKeys()
    loaded = save_load(module, tmp_path / "keys")
    x = np.arange(36, dtype=np.float32).reshape(3, 3, 4)
    for n in (1, 2):
        for got, want in zip(loaded.sliced(x, n), module.sliced(x, n)):
            np.testing.assert_array_equal(got.numpy(), want.numpy())
