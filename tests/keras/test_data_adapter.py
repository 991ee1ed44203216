"""`fit`'s batches of in-memory arrays (`keras/models/data_adapter.py`)."""
import numpy as np

import tapeflow as tf
from tapeflow.keras.models import data_adapter


def test_shuffled_batches_are_a_full_permutation_with_rows_kept_together():
    tf.random.set_seed(3)
    x = {"a": np.arange(100, dtype=np.float32).reshape(50, 2), "b": np.arange(50) * 2}
    y = np.arange(50)
    batches = [data_adapter.unpack(b) for b in data_adapter.make(x, y, batch_size=8,
                                                                 shuffle=True)]
    assert [len(yb) for _, yb, _ in batches] == [8] * 6 + [2]
    order = np.concatenate([yb for _, yb, _ in batches])
    assert sorted(order.tolist()) == list(range(50)) and order.tolist() != list(range(50))
    for xb, yb, sw in batches:
        np.testing.assert_array_equal(xb["a"], x["a"][yb])
        np.testing.assert_array_equal(xb["b"], yb * 2)
        assert xb["a"].flags.c_contiguous and sw is None


def test_unshuffled_batches_keep_order_and_sample_weights():
    x, sw = np.arange(10.0), np.linspace(0, 1, 10)
    batches = list(data_adapter.make(x, x, sample_weight=sw, batch_size=4))
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(np.concatenate([b[2] for b in batches]), sw)


def test_steps_limit_the_samples_of_an_epoch():
    data = data_adapter.make(np.arange(10.0), batch_size=3, steps=2)
    assert [b.tolist() for b in data] == [[0, 1, 2], [3, 4, 5]]     # x alone: no targets
