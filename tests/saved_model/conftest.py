"""Fixtures of the SavedModel tests: saving with tapeflow, opening with TensorFlow."""
import pytest

import tapeflow as tf
from tapeflow.saved_model import _protos, export_ops

# Their references count up one list output (`output:k`), whatever its length.
_CALL_OPS = {"If", "StatelessIf", "While", "StatelessWhile", "Unpack", "SplitV"}


def node_defs_missing_from_tensorflow(path):
    """(op, problem) for every written NodeDef whose op TF lacks, whose attributes are not
    TF's (unknown ones, or required ones missing) or whose output names are not TF's."""
    from tensorflow.python.framework import op_def_registry
    _, metas = _protos.decode_saved_model((path / "saved_model.pb").read_bytes())
    problems = []
    for fdef in metas[0].graph_def.library.function:
        for node in fdef.node_def:
            op = op_def_registry.get(node.op)
            if op is None:
                problems.append((node.op, "no such TF op"))
                continue
            names = {a.name for a in op.attr}
            required = {a.name for a in op.attr if not a.HasField("default_value")}
            if set(node.attr) - names or required - set(node.attr):
                problems.append((node.op, set(node.attr) ^ (names & (set(node.attr) | required))))
            outputs = tuple(a.name for a in op.output_arg)
            if node.op not in _CALL_OPS and export_ops.output_arg_names(node.op) != outputs:
                problems.append((node.op, f"TF's outputs are {outputs}"))
    return problems


@pytest.fixture
def node_problems(real_tf):
    """`node_defs_missing_from_tensorflow` (TensorFlow's op registry is needed)."""
    return node_defs_missing_from_tensorflow


@pytest.fixture
def save_load(real_tf):
    """save_load(obj, path, **save_kwargs): saved by tapeflow (every node checked against
    TF's op registry), loaded by `tensorflow.saved_model.load`."""
    def run(obj, path, **kwargs):
        tf.saved_model.save(obj, str(path), **kwargs)
        assert node_defs_missing_from_tensorflow(path) == []
        return real_tf.saved_model.load(str(path))
    return run
