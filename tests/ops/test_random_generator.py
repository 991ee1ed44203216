"""tf.random.Generator: TensorFlow's values and TensorFlow's state after every draw."""
import numpy as np
import pytest

import tapeflow as tf


def _draws(fw, seed):
    """A fixed sequence of calls on one generator: each value and the state after it."""
    g = fw.random.Generator.from_seed(seed)
    out = []
    for call in [lambda: g.normal([2, 3]),
                 lambda: g.uniform([5]),
                 lambda: g.uniform([4], dtype="float64", minval=1.0, maxval=3.0),
                 lambda: g.uniform([3, 2], minval=-4, maxval=9, dtype="int32"),
                 lambda: g.uniform([6], minval=0, maxval=2**40, dtype="int64"),
                 lambda: g.truncated_normal([9], stddev=2.0),
                 lambda: g.normal([], dtype="float16"),
                 lambda: g.uniform_full_int([3], dtype="uint64"),
                 lambda: g.normal([7], mean=[1.0] * 7, dtype="float64")]:
        value = call().numpy()
        out.append((value, g.state.numpy().copy()))
    return out


@pytest.mark.parametrize("seed", [7, 1234, 2**70 + 3, -1, [1, 2]])
def test_successive_draws_and_states_equal_tf(real_tf, seed):
    for (ours, our_state), (theirs, their_state) in zip(_draws(tf, seed), _draws(real_tf, seed)):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(our_state, their_state)


def test_from_seed_state_is_tf_layout(real_tf):
    for seed in [0, 5, 2**64 + 9, -3, [4, 5], [1, 2, 3, 4]]:
        np.testing.assert_array_equal(tf.random.Generator.from_seed(seed).state.numpy(),
                                      real_tf.random.Generator.from_seed(seed).state.numpy())
    np.testing.assert_array_equal(tf.random.create_rng_state(2**64 + 5, "philox").numpy(),
                                  [5, 1, 0])


def test_state_is_an_int64_variable_named_as_tf():
    state = tf.random.Generator.from_seed(3).state
    assert isinstance(state, tf.Variable) and state.dtype == tf.int64
    assert state.name == "StateVar:0" and not state.trainable


def test_counter_carries_into_the_high_word(real_tf):
    start = [-3, 5, 11]          # counter low word 2**64 - 3: a draw overflows it
    for fw in (tf, real_tf):
        g = fw.random.Generator.from_state(start, "philox")
        fw.value = g.normal([4]).numpy()
        fw.state = g.state.numpy()
    np.testing.assert_array_equal(tf.value, real_tf.value)
    np.testing.assert_array_equal(tf.state, real_tf.state)


def test_split_gives_tf_generators(real_tf):
    ours, theirs = tf.random.Generator.from_seed(1), real_tf.random.Generator.from_seed(1)
    for a, b in zip(ours.split(3), theirs.split(3)):
        np.testing.assert_array_equal(a.state.numpy(), b.state.numpy())
        np.testing.assert_array_equal(a.normal([3]).numpy(), b.normal([3]).numpy())
    np.testing.assert_array_equal(ours.state.numpy(), theirs.state.numpy())


def test_make_seeds_equal_tf(real_tf):
    np.testing.assert_array_equal(tf.random.Generator.from_seed(8).make_seeds(3).numpy(),
                                  real_tf.random.Generator.from_seed(8).make_seeds(3).numpy())


def test_reset_from_seed_starts_over():
    g = tf.random.Generator.from_seed(42)
    first = g.normal([4]).numpy()
    g.normal([10])
    g.reset_from_seed(42)
    np.testing.assert_array_equal(g.normal([4]).numpy(), first)


def test_skip_returns_old_state_and_advances_as_tf(real_tf):
    for fw in (tf, real_tf):
        g = fw.random.Generator.from_seed(1)
        fw.result = (g.skip(3).numpy(), g.state.numpy())
    np.testing.assert_array_equal(tf.result[0], real_tf.result[0])
    np.testing.assert_array_equal(tf.result[1], real_tf.result[1])


def test_copy_from_and_from_key_counter():
    g = tf.random.Generator.from_seed(9)
    g.normal([3])
    copy = tf.random.Generator(copy_from=g)
    np.testing.assert_array_equal(copy.normal([5]).numpy(), g.normal([5]).numpy())
    kc = tf.random.Generator.from_key_counter(key=4, counter=[2, 3], alg="philox")
    np.testing.assert_array_equal(kc.state.numpy(), [2, 3, 4])
    assert int(kc.key) == 4


def test_draws_inside_tf_function_advance_the_state_per_call(real_tf):
    results = []
    for fw in (tf, real_tf):
        g = fw.random.Generator.from_seed(1234)
        f = fw.function(lambda g=g: g.normal([2]))
        results.append((f().numpy(), f().numpy(), g.state.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_global_generator_can_be_replaced_and_reset():
    replacement = tf.random.Generator.from_seed(5)
    tf.random.set_global_generator(replacement)
    assert tf.random.get_global_generator() is replacement
    tf.random.get_global_generator().reset_from_seed(30)
    np.testing.assert_array_equal(replacement.state.numpy(), [30, 0, 0])


def test_non_deterministic_generators_differ():
    a = tf.random.Generator.from_non_deterministic_state()
    b = tf.random.Generator.from_non_deterministic_state()
    assert not np.array_equal(a.state.numpy(), b.state.numpy())


def test_algorithm_names_convert_as_tf():
    assert tf.random.Generator.from_seed(1, alg="philox").algorithm == 1
    assert tf.random.Generator.from_seed(1, alg=tf.random.Algorithm.AUTO_SELECT).algorithm == 3
    with pytest.raises(ValueError, match="unsupported value foo"):
        tf.random.Generator.from_seed(1, alg="foo")


def test_wrong_state_shape_is_refused():
    with pytest.raises(ValueError, match=r"incompatible"):
        tf.random.Generator.from_state([1, 2], "philox")


def test_integer_uniform_needs_both_bounds():
    with pytest.raises(ValueError, match="must be both `None` or both non-`None`"):
        tf.random.Generator.from_seed(1).uniform([2], dtype=tf.int32)


def test_state_unchanged_when_bounds_are_wrong():
    g = tf.random.Generator.from_seed(1)
    with pytest.raises(ValueError):
        g.uniform([2], dtype=tf.int32)
    np.testing.assert_array_equal(g.state.numpy(), [1, 0, 0])


def test_threefry_generator_is_unimplemented_on_cpu():
    g = tf.random.Generator.from_seed(1, alg="threefry")
    with pytest.raises(tf.errors.UnimplementedError, match="ThreeFry"):
        g.normal([2])


def test_threads_drawing_from_one_generator_get_distinct_streams():
    import threading
    g = tf.random.Generator.from_seed(11)
    draws = []

    def work():
        for _ in range(20):
            draws.append(g.uniform([4]).numpy().tobytes())
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(draws)) == 80
    np.testing.assert_array_equal(g.state.numpy(), [11 + 80 * 4 * 256, 0, 0])


def _first_trace_draws(fw):
    holder = []

    @fw.function
    def draw():
        if not holder:
            holder.append(fw.random.Generator.from_seed(1))
        return holder[0].normal([])
    return [float(draw()), float(draw())]


def test_generator_made_on_first_trace_is_kept(real_tf):
    ours, theirs = _first_trace_draws(tf), _first_trace_draws(real_tf)
    assert ours == theirs and ours[0] != ours[1]


def _traces_per_generator_argument(fw):
    traces = []

    @fw.function
    def draw(g):
        traces.append(1)
        return g.normal([])
    draw(fw.random.Generator.from_seed(1))
    draw(fw.random.Generator.from_seed(2))
    return len(traces)


def test_each_generator_argument_traces_anew(real_tf):
    assert _traces_per_generator_argument(tf) == _traces_per_generator_argument(real_tf) == 2
