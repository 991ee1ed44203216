"""tapeflow.debug.to_dot: tapes and traced functions as Graphviz DOT, rendered by `dot`."""
import shutil

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import debug

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")


def _tape():
    w = tf.Variable([[1.0, -2.0], [3.0, 0.5]], name="w")
    x = tf.constant([[1.0, 1.0]])
    with tf.GradientTape(persistent=True) as tape:
        h = tf.nn.relu(tf.matmul(x, w))
        loss = tf.reduce_sum(h * h)
    return tape, loss, w, x


def test_tape_nodes_and_edges_name_ops_shapes_and_dtypes():
    tape, _, _, _ = _tape()
    text = debug.to_dot(tape)
    assert text.startswith('digraph "tape" {') and text.rstrip().endswith("}")
    for op in ("MatMul", "Relu", "Mul", "Sum"):
        assert f'label="{op}' in text
    assert '"w:0\\n(2, 2) float32"' in text
    assert "(1, 2) float32" in text


def test_gradient_norms_on_edges_match_the_tape(rng):
    tape, loss, w, _ = _tape()
    text = debug.to_dot(tape, target=loss)
    g = np.linalg.norm(tape.gradient(loss, w).numpy())
    assert f"|g|={g:.3g}" in text
    assert "no gradient" in text        # the constant input x gets none
    assert "doublecircle" in text


def test_op_nodes_show_the_user_line_when_origins_are_noted():
    debug.explain_none_gradients(True)
    try:
        x = tf.Variable(2.0)
        with tf.GradientTape() as tape:
            y = tf.sin(x)
        assert "test_dot.py:" in debug.to_dot(tape, target=y)
    finally:
        debug.explain_none_gradients(False)


def test_traced_function():
    @tf.function
    def f(x):
        return tf.nn.softmax(tf.matmul(x, tf.ones([3, 2])))

    f(tf.ones([4, 3]))
    text = debug.to_dot(f)
    assert 'label="MatMul' in text and 'label="Softmax' in text
    assert "input 0\\n(4, 3) float32" in text and "output 0" in text


def test_untraced_function_is_an_error():
    with pytest.raises(ValueError, match="not been traced"):
        debug.to_dot(tf.function(lambda x: x))


def test_dot_file_is_written_as_is(tmp_path):
    tape, _, _, _ = _tape()
    path = tmp_path / "tape.dot"
    text = debug.to_dot(tape, path=str(path))
    assert path.read_text() == text


@needs_dot
@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_rendered_by_graphviz(tmp_path, ext, magic):
    tape, loss, _, _ = _tape()
    path = tmp_path / f"tape.{ext}"
    debug.to_dot(tape, target=loss, path=str(path))
    assert path.read_bytes().startswith(magic)


def test_function_run_with_args_carries_gradient_norms():
    w = tf.Variable([[2.0], [1.0]], name="w")

    @tf.function
    def f(x):
        return tf.reduce_sum(tf.square(tf.matmul(x, w)))

    x = tf.constant([[1.0, 1.0]])
    text = debug.to_dot(f, args=(x,))
    with tf.GradientTape() as tape:
        y = f(x)
    g = np.linalg.norm(tape.gradient(y, w).numpy())
    assert 'label="MatMul' in text and f"|g|={g:.3g}" in text
