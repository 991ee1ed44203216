"""keras.random: seeds as Keras 3 takes them (None, an int, a SeedGenerator)."""
import numpy as np
import pytest

from tapeflow import keras

R = keras.random


@pytest.mark.parametrize("draw", [lambda s: R.normal((3,), seed=s),
                                  lambda s: R.uniform((3,), seed=s),
                                  lambda s: R.truncated_normal((3,), seed=s),
                                  lambda s: R.randint((3,), 0, 100, seed=s)])
def test_an_int_seed_gives_the_same_values_at_every_call(draw):
    np.testing.assert_array_equal(draw(5).numpy(), draw(5).numpy())
    assert not np.array_equal(draw(5).numpy(), draw(6).numpy())


def test_a_seed_generator_advances_and_replays_from_its_seed():
    first, again = R.SeedGenerator(1337), R.SeedGenerator(1337)
    a, b = R.normal((4,), seed=first), R.normal((4,), seed=first)
    assert not np.array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), R.normal((4,), seed=again).numpy())


def test_draws_take_floatx_and_their_arguments():
    x = R.uniform((1000,), minval=2.0, maxval=3.0, seed=1)
    assert x.dtype.name == "float32" and 2.0 <= x.numpy().min() and x.numpy().max() < 3.0
    n = R.normal((4000,), mean=5.0, stddev=0.5, seed=2).numpy()
    assert abs(n.mean() - 5.0) < 0.05 and abs(n.std() - 0.5) < 0.05
    ints = R.randint((1000,), 3, 7, seed=3)
    assert ints.dtype.name == "int32" and set(ints.numpy().tolist()) == {3, 4, 5, 6}


def test_dropout_zeroes_about_rate_and_scales_the_rest():
    out = R.dropout(np.ones((10000,), np.float32), 0.25, seed=4).numpy()
    np.testing.assert_allclose(np.unique(out), [0.0, 4 / 3], rtol=1e-6)
    assert abs((out == 0).mean() - 0.25) < 0.02


def test_shuffle_permutes_along_the_axis():
    x = np.arange(12).reshape(6, 2)
    out = R.shuffle(x, seed=5).numpy()
    assert sorted(out[:, 0].tolist()) == [0, 2, 4, 6, 8, 10]
    np.testing.assert_array_equal(out[:, 1], out[:, 0] + 1)


def test_a_seed_of_another_type_is_an_error():
    with pytest.raises(ValueError, match="SeedGenerator.*str"):
        R.normal((2,), seed="7")
