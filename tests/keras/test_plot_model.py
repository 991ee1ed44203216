"""keras.utils.plot_model / model_to_dot: pydot graphs rendered by Graphviz."""
import shutil

import pytest

import tapeflow as tf

pydot = pytest.importorskip("pydot")
pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")


def _functional():
    i = tf.keras.Input((4,))
    a = tf.keras.layers.Dense(3, activation="relu")(i)
    b = tf.keras.layers.Dense(3)(i)
    return tf.keras.Model(i, tf.keras.layers.Add()([a, b]))


def _edges(dot):
    names = {n.get_name(): n.get("label") for n in dot.get_nodes()}
    return sorted((names[e.get_source()].split(" ")[0].strip('"'),
                   names[e.get_destination()].split(" ")[0].strip('"')) for e in dot.get_edges())


def test_functional_edges_follow_the_connections():
    model = _functional()
    dense, dense_1, add = (layer.name for layer in model.layers[1:])
    inp = model.layers[0].name
    assert _edges(tf.keras.utils.model_to_dot(model)) == sorted(
        [(inp, dense), (inp, dense_1), (dense, add), (dense_1, add)])


def test_sequential_edges_follow_the_layer_order():
    model = tf.keras.Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(2),
                                 tf.keras.layers.Dense(1)])
    first, second = (layer.name for layer in model.layers)
    assert _edges(tf.keras.utils.model_to_dot(model)) == [(first, second)]


def test_labels_show_shapes_and_activations():
    dot = tf.keras.utils.model_to_dot(_functional(), show_shapes=True,
                                      show_layer_activations=True)
    labels = " ".join(n.get("label") for n in dot.get_nodes() if n.get("label"))
    assert "(Dense)" in labels and "Activation: relu" in labels
    assert "Output shape: (None, 3)" in labels and "Input shape: (None, 4)" in labels


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                        ("dot", b"digraph")])
def test_plot_model_writes_the_file(tmp_path, ext, magic):
    path = tmp_path / f"model.{ext}"
    tf.keras.utils.plot_model(_functional(), str(path), show_shapes=True)
    assert path.read_bytes().lstrip().startswith(magic)
