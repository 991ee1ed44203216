"""`keras.utils.plot_model` and `model_to_dot`: a model's layers drawn with pydot + Graphviz.

One node per layer ("name (ClassName)", optionally its input/output shapes, dtype,
activation and trainability), one edge per connection: for functional models the
connections recorded when the model was built, for Sequential models the layer order.
"""
from __future__ import annotations

import itertools
import os
import shutil

from tapeflow.utils import nest


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError("You must install pydot (`pip install pydot`) for `plot_model` to "
                          "work.") from None
    if shutil.which("dot") is None:
        raise ImportError("You must install graphviz (see instructions at "
                          "https://graphviz.gitlab.io/download/) for `plot_model` to work.")
    return pydot


def _shape_text(shapes) -> str:
    def one(s):
        dims = list(s) if s is not None else None
        if dims is None:
            return "?"
        return "(" + ", ".join("None" if d is None else str(d) for d in dims) + \
            ("," if len(dims) == 1 else "") + ")"
    return one(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(one(s) for s in shapes) + "]"


def _shapes(tensors):
    out = []
    for t in nest.flatten(tensors):
        shape = getattr(t, "shape", None)
        out.append(None if shape is None or shape.rank is None else shape.as_list())
    return out


def _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
           show_trainable):
    cls = type(layer).__name__
    parts = [f"{layer.name} ({cls})" if show_layer_names else cls]
    if show_layer_activations and hasattr(layer, "activation"):
        act = getattr(layer.activation, "__name__", str(layer.activation))
        parts.append(f"Activation: {act}")
    if show_dtype:
        parts.append(f"dtype: {getattr(layer, 'dtype', 'float32')}")
    if show_shapes:
        node = layer._inbound_nodes[0] if getattr(layer, "_inbound_nodes", None) else None
        if node is not None:
            ins = _shapes(node.flat_inputs) or _shapes(node.outputs)
            parts.append(f"Input shape: {_shape_text(ins)}")
            parts.append(f"Output shape: {_shape_text(_shapes(node.outputs))}")
    if show_trainable:
        parts.append(f"Trainable: {'Y' if layer.trainable else 'N'}")
    return "\n".join(parts)


def _edges(model):
    """(from layer, to layer) pairs of the model's connections."""
    layers = list(model.layers)
    ids = {id(layer) for layer in layers}
    edges = []
    for layer in layers:
        for node in getattr(layer, "_inbound_nodes", [])[:1]:
            for x in node.flat_inputs:
                hist = getattr(x, "_keras_history", None)
                if hist is not None and id(hist[0]) in ids:
                    edges.append((hist[0], layer))
    if not edges and type(model).__name__ == "Sequential":
        edges = list(itertools.pairwise(layers))
    return edges


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False, **kwargs):
    """A `pydot.Dot` graph of `model`'s layers and their connections."""
    pydot = _pydot()
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=str(dpi), concentrate=True)
    dot.set_node_defaults(shape="record", fontname="Helvetica", fontsize="11")
    for layer in model.layers:
        label = _label(layer, show_shapes, show_dtype, show_layer_names,
                       show_layer_activations, show_trainable)
        # pydot quotes the label; record labels treat |{}<> as structure: escape them.
        for ch in "{}|<>":
            label = label.replace(ch, "\\" + ch)
        dot.add_node(pydot.Node(str(id(layer)), label=label.replace("\n", "\\n")))
    for a, b in _edges(model):
        dot.add_edge(pydot.Edge(str(id(a)), str(id(b))))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws `model` to `to_file` (.png, .svg, .pdf or .dot) with pydot and Graphviz.

    Returns an `IPython.display.Image` of a PNG when IPython is installed, else None.
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    if ext in ("dot", "gv"):
        dot.write(to_file, format="raw")
    else:
        dot.write(to_file, format=ext)
    if ext == "png":
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
