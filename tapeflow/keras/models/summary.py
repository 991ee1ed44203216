"""`model.summary()` in the Keras 2 table format (as TensorFlow 2.2 prints it).

Models whose layers form a chain print three columns in 65 characters;
other functional models add a 'Connected to' column in 98 characters.
Layers that were never called on Keras tensors (those of subclassed models)
show 'multiple' as their output shape; layers not built yet show '?'.
"""
from __future__ import annotations

import numpy as np


def _count(weights) -> int:
    return int(sum(int(np.prod(w.shape.as_list(), dtype=np.int64)) for w in weights))


def _print_row(fields, positions, print_fn):
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[:positions[i]]
        line += " " * (positions[i] - len(line))
    print_fn(line)


def _output_shape_text(layer):
    if not layer.built and not layer._inbound_nodes:
        return "?"
    try:
        shape = layer.output_shape
    except AttributeError:
        return "multiple"
    return str(shape)


def _is_sequential_like(model) -> bool:
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential
    if isinstance(model, Sequential) or not isinstance(model, Functional):
        return True
    for node in model._plan:
        if len(node.flat_inputs) > 1:
            return False
    consumers = {}
    for node in model._plan:
        for t in node.flat_inputs:
            consumers[id(t)] = consumers.get(id(t), 0) + 1
    return all(n <= 1 for n in consumers.values()) and len(model._flat_outputs) == 1 and len(
        model._flat_inputs) == 1


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Prints the table; `print_fn` receives one line at a time (default `print`)."""
    print_fn = print_fn or print
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    layers = model._summary_layers()
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    _print_row(header, positions, print_fn)
    print_fn("=" * line_length)
    for i, layer in enumerate(layers):
        name = f"{layer.name} ({type(layer).__name__})"
        params = layer.count_params() if layer.built else "unbuilt"
        fields = [name, _output_shape_text(layer), params]
        if sequential_like:
            _print_row(fields, positions, print_fn)
        else:
            connections = _connections(model, layer)
            _print_row(fields + [connections[0] if connections else ""], positions, print_fn)
            for c in connections[1:]:
                _print_row(["", "", "", c], positions, print_fn)
        print_fn("=" * line_length if i == len(layers) - 1 else "_" * line_length)

    weights = model.weights
    trainable = _count(model.trainable_weights)
    total = _count(weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)


def _connections(model, layer):
    out = []
    for node in model._plan:
        if node.layer is not layer:
            continue
        for t in node.flat_inputs:
            hist = t._keras_history
            if hist is None:
                continue
            src, node_index, tensor_index = hist
            out.append(f"{src.name}[{node_index}][{tensor_index}]")
    return out
