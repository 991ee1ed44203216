"""tf.summary: event files that TensorBoard's own EventAccumulator reads back."""
import os

import numpy as np
import pytest

import tapeflow as tf

ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
tensor_util = pytest.importorskip("tensorboard.util.tensor_util")


def _load(logdir):
    acc = ea.EventAccumulator(str(logdir), size_guidance={ea.TENSORS: 0, ea.IMAGES: 0})
    acc.Reload()
    return acc


def _values(acc, tag):
    return [(e.step, tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]


def test_scalars_are_read_back_with_their_steps(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(3):
            assert tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
    writer.flush()
    got = _values(_load(tmp_path), "loss")
    assert [s for s, _ in got] == [0, 1, 2]
    np.testing.assert_allclose([float(v) for _, v in got], [1.0, 0.5, 1 / 3], rtol=1e-6)
    acc = _load(tmp_path)
    assert acc.SummaryMetadata("loss").plugin_data.plugin_name == "scalars"


def test_event_file_is_named_as_tensorboard_expects(tmp_path):
    tf.summary.create_file_writer(str(tmp_path)).close()
    (name,) = os.listdir(tmp_path)
    assert name.startswith("events.out.tfevents.") and name.endswith(".v2")


def test_histogram_buckets_count_every_value(tmp_path, rng):
    data = rng.normal(size=1000)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default(step=4):
        tf.summary.histogram("weights", data, buckets=20)
    writer.flush()
    ((step, table),) = _values(_load(tmp_path), "weights")
    assert step == 4 and table.shape == (20, 3)
    assert table[:, 2].sum() == 1000
    assert table[0, 0] == pytest.approx(data.min()) and table[-1, 1] == pytest.approx(data.max())
    np.testing.assert_array_equal(table[:, 2], np.histogram(data, 20)[0])


def test_histogram_of_one_repeated_value():
    from tapeflow.summary.ops import histogram_buckets
    table = histogram_buckets(np.full(5, 2.0), 3)
    assert table[:, 2].tolist() == [0, 0, 5] and set(table[:, :2].ravel()) == {2.0}


def test_images_are_pngs_tensorboard_decodes(tmp_path, rng):
    pil = pytest.importorskip("PIL.Image")
    import io
    images = rng.uniform(size=(4, 6, 5, 3)).astype(np.float32)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        tf.summary.image("samples", images, step=1, max_outputs=2)
    writer.flush()
    ((step, parts),) = _values(_load(tmp_path), "samples")
    assert step == 1 and parts[0] == b"5" and parts[1] == b"6" and len(parts) == 4
    decoded = np.asarray(pil.open(io.BytesIO(parts[2])))
    np.testing.assert_array_equal(decoded, np.round(images[0] * 255).astype(np.uint8))


def test_text(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        tf.summary.text("notes", "hello **world**", step=0)
    writer.flush()
    ((_, value),) = _values(_load(tmp_path), "notes")
    assert value.item() == b"hello **world**"


def test_no_default_writer_writes_nothing():
    assert tf.summary.scalar("loss", 1.0, step=0) is False


def test_missing_step_is_an_error(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default(), pytest.raises(ValueError, match="No step set"):
        tf.summary.scalar("loss", 1.0)


def test_set_step_is_the_default_step(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    tf.summary.experimental.set_step(9)
    try:
        with writer.as_default():
            tf.summary.scalar("loss", 1.0)
    finally:
        tf.summary.experimental.set_step(None)
    writer.flush()
    assert [s for s, _ in _values(_load(tmp_path), "loss")] == [9]


def test_record_if_skips_summaries(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(4):
            with tf.summary.record_if(lambda step=step: step % 2 == 0):
                tf.summary.scalar("loss", float(step), step=step)
    writer.flush()
    assert [s for s, _ in _values(_load(tmp_path), "loss")] == [0, 2]


def test_summaries_inside_a_function_write_at_every_call(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))

    @tf.function
    def step_fn(x, step):
        tf.summary.scalar("total", tf.reduce_sum(x), step=step)
        return x * 2

    with writer.as_default():
        for i in range(3):
            step_fn(tf.constant([1.0, float(i)]), tf.constant(i, tf.int64))
    writer.flush()
    got = _values(_load(tmp_path), "total")
    assert [(s, float(v)) for s, v in got] == [(0, 1.0), (1, 2.0), (2, 3.0)]


def test_name_scope_prefixes_tags(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default(), tf.name_scope("train"):
        tf.summary.scalar("loss", 1.0, step=0)
    writer.flush()
    assert "train/loss" in _load(tmp_path).Tags()["tensors"]


def test_trace_export_writes_the_function_graph(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))

    @tf.function
    def f(x):
        return tf.nn.relu(tf.matmul(x, tf.ones([2, 3])))

    tf.summary.trace_on(graph=True)
    f(tf.ones([1, 2]))
    with writer.as_default():
        tf.summary.trace_export("f", step=0)
    writer.flush()
    graph = _load(tmp_path).Graph()
    ops = [n.op for n in graph.node]
    assert "MatMul" in ops and "Relu" in ops and "Placeholder" in ops
    relu = next(n for n in graph.node if n.op == "Relu")
    assert list(relu.input) == [next(n.name for n in graph.node if n.op == "MatMul")]
    dims = [d.size for d in relu.attr["_output_shapes"].list.shape[0].dim]
    assert dims == [1, 3]
