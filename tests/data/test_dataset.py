"""tf.data.Dataset: sources, transformations, structure, cardinality, errors."""
import numpy as np
import pytest

import tapeflow as tf

D = tf.data.Dataset


def _np(ds):
    return list(ds.as_numpy_iterator())


# -- sources ---------------------------------------------------------------------

def test_from_tensor_slices_tuple_yields_tensor_tuples():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6, dtype=np.uint8)
    elements = list(D.from_tensor_slices((x, y)))
    assert len(elements) == 6
    xe, ye = elements[4]
    assert isinstance(xe, tf.Tensor) and isinstance(ye, tf.Tensor)
    np.testing.assert_array_equal(xe.numpy(), x[4])
    assert ye.dtype == tf.uint8 and int(ye) == 4


def test_from_tensor_slices_dict_keeps_keys_and_order():
    ds = D.from_tensor_slices({"b": [1.0, 2.0], "a": np.array([3, 4], np.int64)})
    assert list(ds.element_spec) == ["b", "a"]
    assert ds.element_spec["a"] == tf.TensorSpec([], tf.int64)
    first = next(iter(ds))
    assert list(first) == ["b", "a"] and float(first["b"]) == 1.0 and int(first["a"]) == 3


def test_from_tensor_slices_accepts_tensors_and_python_lists():
    ds = D.from_tensor_slices(tf.constant([[1, 2], [3, 4]]))
    assert ds.element_spec == tf.TensorSpec([2], tf.int32)
    assert [e.tolist() for e in _np(ds)] == [[1, 2], [3, 4]]
    assert D.from_tensor_slices([1.5, 2.5]).element_spec.dtype == tf.float32


def test_from_tensor_slices_snapshots_numpy_input():
    x = np.arange(4)
    ds = D.from_tensor_slices(x)
    x[:] = 0
    assert [int(v) for v in ds] == [0, 1, 2, 3]


def test_from_tensor_slices_mismatched_lengths_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(3, 2\), \(4,\)"):
        D.from_tensor_slices((np.zeros((3, 2)), np.zeros(4)))


def test_from_tensor_slices_rejects_scalars():
    with pytest.raises(ValueError, match="rank >= 1"):
        D.from_tensor_slices(3.0)


def test_from_tensors_is_one_element():
    ds = D.from_tensors((np.zeros((2, 3), np.float32), 7))
    assert len(ds) == 1
    (x, n), = list(ds)
    assert x.shape == tf.TensorShape([2, 3]) and int(n) == 7


def test_range_matches_python_range_as_int64():
    assert [int(v) for v in D.range(2, 11, 3)] == [2, 5, 8]
    assert D.range(5).element_spec == tf.TensorSpec([], tf.int64)
    assert D.range(3, dtype=tf.int32).element_spec.dtype == tf.int32
    assert len(D.range(10, 0, -2)) == 5


def test_from_generator_with_output_signature():
    def gen():
        yield 1, [1.0, 2.0]
        yield 2, [3.0, 4.0]
    ds = D.from_generator(gen, output_signature=(tf.TensorSpec([], tf.int32),
                                                 tf.TensorSpec([2], tf.float32)))
    out = _np(ds)
    assert [int(a) for a, _ in out] == [1, 2]
    assert out[1][1].dtype == np.float32 and out[1][1].tolist() == [3.0, 4.0]
    assert len(_np(ds)) == 2      # a second pass calls the generator again
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY


def test_from_generator_with_output_types_and_shapes():
    ds = D.from_generator(lambda: iter([[1, 2], [3, 4]]), output_types=tf.int64,
                          output_shapes=[2])
    assert ds.element_spec == tf.TensorSpec([2], tf.int64)
    assert [v.tolist() for v in _np(ds)] == [[1, 2], [3, 4]]


def test_from_generator_wrong_shape_is_a_clear_error():
    ds = D.from_generator(lambda: iter([[1.0, 2.0, 3.0]]),
                          output_signature=tf.TensorSpec([2], tf.float32))
    with pytest.raises(ValueError, match=r"shape \(3,\) where an element of shape \(2,\)"):
        list(ds)


def test_from_generator_needs_a_signature():
    with pytest.raises(TypeError, match="output_signature"):
        D.from_generator(lambda: iter([1]))


# -- transformations -----------------------------------------------------------

def test_batch_with_and_without_remainder():
    ds = D.range(7)
    assert [b.tolist() for b in _np(ds.batch(3))] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in _np(ds.batch(3, drop_remainder=True))] == [[0, 1, 2], [3, 4, 5]]
    assert ds.batch(3).element_spec.shape.as_list() == [None]
    assert ds.batch(3, drop_remainder=True).element_spec.shape.as_list() == [3]
    assert len(ds.batch(3)) == 3 and len(ds.batch(3, drop_remainder=True)) == 2


def test_batch_of_generic_elements_stacks_and_checks_shapes():
    ds = D.range(5).map(lambda v: tf.fill([2], v))
    assert _np(ds.batch(2))[0].tolist() == [[0, 0], [1, 1]]
    ragged = D.from_generator(lambda: iter([[1], [1, 2]]),
                              output_signature=tf.TensorSpec([None], tf.int32))
    with pytest.raises(ValueError, match="different shapes in component 0"):
        list(ragged.batch(2))


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size"):
        D.range(3).batch(0)


def test_unbatch_inverts_batch():
    ds = D.from_tensor_slices((np.arange(5), np.arange(5) * 2)).batch(2).unbatch()
    assert [(int(a), int(b)) for a, b in ds] == [(i, 2 * i) for i in range(5)]
    assert ds.element_spec[0].shape.as_list() == []


def test_map_passes_tuple_components_as_arguments_and_gets_tensors():
    seen = []

    def f(x, y):
        seen.append((isinstance(x, tf.Tensor) and isinstance(y, tf.Tensor), x._is_symbolic))
        return x * 2, tf.cast(y, tf.float32)
    ds = D.from_tensor_slices((np.arange(3), np.arange(3))).map(
        f, num_parallel_calls=tf.data.AUTOTUNE)
    assert ds.element_spec == (tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.float32))
    assert [(int(a), float(b)) for a, b in ds] == [(0, 0.0), (2, 1.0), (4, 2.0)]
    assert all(ok for ok, _ in seen)
    assert [symbolic for _, symbolic in seen].count(False) == 3   # plus one trace for the spec


def test_map_spec_is_traced_like_tensorflow():
    ds = D.range(1, 4).map(lambda v: tf.fill([v], v))        # length depends on the value
    assert ds.element_spec == tf.TensorSpec([None], tf.int64)
    assert [a.tolist() for a in _np(ds)] == [[1], [2, 2], [3, 3, 3]]
    # A function that needs concrete values still works: its spec comes from a first call.
    ds = D.range(3).map(lambda v: int(v.numpy()) * 2)
    assert ds.element_spec == tf.TensorSpec([], tf.int32) and [int(v) for v in ds] == [0, 2, 4]


def test_map_over_batches_keeps_unknown_batch_dim():
    ds = D.range(10).batch(4).map(lambda b: b + 1)
    assert ds.element_spec.shape.as_list() == [None]
    assert [b.tolist() for b in _np(ds)][-1] == [9, 10]


def test_filter_keeps_true_elements_and_checks_predicate():
    assert [int(v) for v in D.range(10).filter(lambda v: v % 4 == 0)] == [0, 4, 8]
    with pytest.raises(ValueError, match="scalar boolean"):
        list(D.range(3).filter(lambda v: v))
    assert int(D.range(3).filter(lambda v: v > 0).cardinality()) == tf.data.UNKNOWN_CARDINALITY


def test_repeat_take_skip():
    ds = D.range(4)
    assert [int(v) for v in ds.repeat(2)] == [0, 1, 2, 3] * 2
    assert [int(v) for v in ds.repeat().take(6)] == [0, 1, 2, 3, 0, 1]
    assert [int(v) for v in ds.skip(1).take(2)] == [1, 2]
    assert [int(v) for v in ds.take(-1)] == [0, 1, 2, 3]
    assert list(ds.skip(-1)) == []
    assert list(D.range(0).repeat()) == []          # an empty dataset does not spin


def test_generic_take_skip_repeat_match_indexed_ones():
    gen = D.from_generator(lambda: iter(range(4)), output_signature=tf.TensorSpec([], tf.int64))
    for make in (lambda d: d.repeat(2).skip(3).take(4), lambda d: d.take(3).repeat(2)):
        assert [int(v) for v in make(gen)] == [int(v) for v in make(D.range(4))]


def test_batches_span_repeat_epochs():
    assert [b.tolist() for b in _np(D.range(3).repeat(2).batch(4))] == [[0, 1, 2, 0], [1, 2]]


def test_zip_concatenate_enumerate():
    z = D.zip((D.range(3), D.from_tensor_slices([10, 20])))
    assert [(int(a), int(b)) for a, b in z] == [(0, 10), (1, 20)]
    assert len(z) == 2
    z2 = D.zip({"a": D.range(2), "b": D.range(2)})
    assert [sorted(e) for e in _np(z2)] == [["a", "b"]] * 2
    c = D.range(2).concatenate(D.range(5, 7))
    assert [int(v) for v in c] == [0, 1, 5, 6] and len(c) == 4
    e = D.from_tensor_slices([7, 8]).enumerate(start=1)
    assert [(int(i), int(v)) for i, v in e] == [(1, 7), (2, 8)]


def test_concatenate_incompatible_is_a_clear_error():
    with pytest.raises(TypeError, match="Incompatible dataset elements"):
        D.range(2).concatenate(D.from_tensor_slices([1.0]))


def test_cache_replays_first_pass_even_after_shuffle():
    ds = D.range(20).shuffle(20).cache()
    first = [int(v) for v in ds]
    assert [int(v) for v in ds] == first
    calls = []
    gen = D.from_generator(lambda: (calls.append(1) or iter(range(3))),
                           output_signature=tf.TensorSpec([], tf.int64)).cache()
    assert [int(v) for v in gen.repeat(3)] == [0, 1, 2] * 3 and len(calls) == 1


def test_prefetch_flat_map_reduce_single_element():
    assert [int(v) for v in D.range(3).prefetch(tf.data.AUTOTUNE)] == [0, 1, 2]
    assert [int(v) for v in D.range(3).flat_map(lambda v: D.range(v))] == [0, 0, 1]
    assert int(D.range(5).reduce(np.int64(0), lambda s, v: s + v)) == 10
    assert int(D.range(1).get_single_element()) == 0
    with pytest.raises(ValueError, match="more than one"):
        D.range(2).get_single_element()


# -- size, structure, iteration --------------------------------------------------

def test_cardinality_and_len():
    assert tf.data.INFINITE_CARDINALITY == -1 and tf.data.UNKNOWN_CARDINALITY == -2
    assert tf.data.AUTOTUNE == tf.data.experimental.AUTOTUNE == -1
    ds = D.range(10)
    assert int(ds.cardinality()) == 10 and ds.cardinality().dtype == tf.int64
    assert int(ds.repeat().cardinality()) == -1
    assert int(ds.repeat().take(3).cardinality()) == 3
    assert int(ds.skip(12).cardinality()) == 0
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(ds.filter(lambda v: v > 2))


def test_iterator_protocol_and_repr():
    it = iter(D.range(2))
    assert int(next(it)) == 0 and int(it.get_next()) == 1
    with pytest.raises(tf.errors.OutOfRangeError):
        it.get_next()
    assert repr(D.range(2).batch(2)).startswith("<_BatchDataset element_spec=TensorSpec(")


def test_each_for_loop_is_a_fresh_pass():
    ds = D.from_tensor_slices(np.arange(3))
    assert [int(v) for v in ds] == [int(v) for v in ds] == [0, 1, 2]


def test_elements_are_independent_copies():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    ds = D.from_tensor_slices(x)
    for batch in ds.batch(2):
        batch.numpy()[:] = -1          # writing into a yielded array...
    for row in ds:
        row.numpy()[:] = -1
    assert _np(ds.batch(3))[0].tolist() == x.tolist()   # ...never changes the dataset


# -- parity with TensorFlow's tf.data ---------------------------------------------

PIPELINES = {
    "slices_batch": lambda t, x, y: t.data.Dataset.from_tensor_slices((x, y)).batch(3),
    "dict_batch": lambda t, x, y: t.data.Dataset.from_tensor_slices({"b": x, "a": y}).batch(4),
    "skip_take_repeat_batch": lambda t, x, y: (
        t.data.Dataset.from_tensor_slices(y).skip(2).take(5).repeat(2).batch(4)),
    "map_filter": lambda t, x, y: (
        t.data.Dataset.range(10).map(lambda v: v * 2).filter(lambda v: v % 3 == 0)),
    "unbatch": lambda t, x, y: t.data.Dataset.from_tensor_slices(x).batch(4).unbatch().take(5),
    "enumerate_zip": lambda t, x, y: t.data.Dataset.zip(
        (t.data.Dataset.range(3), t.data.Dataset.from_tensor_slices(y).enumerate())),
}


def _flat_element(e):
    if isinstance(e, dict):
        return list(e.values())
    return list(e) if isinstance(e, tuple) else [e]


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_pipelines_match_tensorflow(name, real_tf):
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.uint8)
    ours, theirs = PIPELINES[name](tf, x, y), PIPELINES[name](real_tf, x, y)
    assert repr(ours.element_spec) == repr(theirs.element_spec)
    assert int(ours.cardinality()) == int(theirs.cardinality())
    a, b = _np(ours), _np(theirs)
    assert len(a) == len(b)
    for ea, eb in zip(a, b):
        flat_a, flat_b = _flat_element(ea), _flat_element(eb)
        for va, vb in zip(flat_a, flat_b):
            va = va if not isinstance(va, tuple) else np.array(va)
            vb = vb if not isinstance(vb, tuple) else np.array(vb)
            np.testing.assert_array_equal(va, vb)
            assert np.asarray(va).dtype == np.asarray(vb).dtype


def test_map_functions_are_not_recorded_by_an_open_tape():
    w = tf.Variable(2.0)
    ds = D.from_tensor_slices(np.ones(3, np.float32)).map(lambda v: v * w)
    with tf.GradientTape() as tape:
        total = tf.add_n([x for x in ds]) * w
    assert float(tape.gradient(total, w)) == pytest.approx(6.0)   # d(6 * w)/dw, data as constants


def test_from_generator_tuple_types_without_shapes_have_unknown_shapes():
    def gen():
        for i in range(3):
            yield i, [float(i)] * 2
    ds = D.from_generator(gen, output_types=(tf.int32, tf.float32))
    assert ds.element_spec == (tf.TensorSpec(None, tf.int32), tf.TensorSpec(None, tf.float32))
    first = next(ds.as_numpy_iterator())
    assert type(first[0]) is np.int32 and first[1].tolist() == [0.0, 0.0]   # scalars as NumPy's
    shaped = D.from_generator(gen, output_types=(tf.int32, tf.float32), output_shapes=((), (2,)))
    assert shaped.element_spec[1] == tf.TensorSpec([2], tf.float32)


def test_zip_cardinality_follows_tensorflow():
    assert len(D.zip((D.range(3), D.range(5)))) == 3
    assert int(D.zip((D.range(3), D.range(2).repeat())).cardinality()) == 3
    assert int(D.zip((D.range(3).repeat(), D.range(2).repeat())).cardinality()) == -1
    unknown = D.range(5).filter(lambda v: v > 1)
    assert int(D.zip((unknown, D.range(100))).cardinality()) == tf.data.UNKNOWN_CARDINALITY


def test_iterating_inside_a_traced_function_is_refused_not_frozen():
    ds = D.range(3)

    @tf.function
    def total(d):
        return tf.add_n([x for x in d])
    with pytest.raises(NotImplementedError, match="outside the tf.function"):
        total(ds)
    assert [int(v) for v in ds] == [0, 1, 2]      # eager iteration is unaffected


def test_map_function_of_the_wrong_arity_fails_at_map_time():
    pairs = D.from_tensor_slices((np.arange(3), np.arange(3)))
    with pytest.raises(TypeError, match="2 separate arguments"):
        pairs.map(lambda x: x)
    with pytest.raises(TypeError, match="predicate"):
        D.range(3).filter(lambda x, y: True)
    assert len(list(pairs.map(lambda *xs: xs[0]))) == 3     # *args accepts any arity


def test_with_options_keeps_elements_and_options():
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = False
    ds = D.range(3).with_options(options).batch(2)
    assert [b.tolist() for b in _np(ds)] == [[0, 1], [2]]
    assert ds.options().deterministic is False
    assert ds.options().experimental_distribute.auto_shard_policy.name == "DATA"
    assert D.range(3).options().threading.private_threadpool_size is None
    with pytest.raises(TypeError, match="tf.data.Options"):
        D.range(3).with_options({"deterministic": False})
