"""TensorFlow `NodeDef`s for tapeflow's linear-algebra ops (`tf.linalg`).

tapeflow's linear-algebra ops are TensorFlow's by name and operands; what differs is
that tapeflow keeps some operands as attributes (a band's widths, a diagonal's offset `k`,
`num_rows`, the padding value), which TensorFlow takes as `Const` inputs.
"""
from __future__ import annotations

import numpy as np

from tapeflow.saved_model.export_ops import base_name, exports, input_refs


@exports("MatrixInverse", "MatrixDeterminant", "Cholesky", "MatrixSolve",
         "LogMatrixDeterminant", "SelfAdjointEigV2")
def _plain(w, node):
    name = base_name(node)
    return w.add_node(node.op.name, input_refs(w, node, name), {"T": node.inputs[0].dtype},
                      name=name)


@exports("MatrixTriangularSolve", "Qr", "Svd")
def _with_flags(w, node):
    """Boolean attributes written where they differ from TF's defaults."""
    defaults = {"lower": True, "adjoint": False, "full_matrices": False, "compute_uv": True}
    name = base_name(node)
    attrs = {"T": node.inputs[0].dtype}
    attrs.update({k: bool(v) for k, v in node.attrs.items()
                  if k in defaults and bool(v) != defaults[k]})
    return w.add_node(node.op.name, input_refs(w, node, name), attrs, name=name)


@exports("MatrixBandPart")
def _band_part(w, node):
    name = base_name(node)
    widths = [w.const(np.int64(node.attrs[k]), name=f"{name}/{k}")
              for k in ("num_lower", "num_upper")]
    return w.add_node("MatrixBandPart", input_refs(w, node, name) + widths,
                      {"T": node.inputs[0].dtype}, name=name)


def _diag_operands(w, node, name, *keys):
    out = []
    for key in keys:
        value = node.attrs[key]
        if key == "padding_value":
            out.append(w.const(np.array(value, node.outputs[0].dtype._np),
                               name=f"{name}/{key}"))
        else:
            out.append(w.const(np.array(value, np.int32), name=f"{name}/{key}"))
    return out


@exports("MatrixDiagPartV3")
def _diag_part(w, node):
    name = base_name(node)
    ins = input_refs(w, node, name) + _diag_operands(w, node, name, "k", "padding_value")
    return w.add_node("MatrixDiagPartV3", ins, {"T": node.inputs[0].dtype}, name=name)


@exports("MatrixDiagV3")
def _diag(w, node):
    name = base_name(node)
    ins = input_refs(w, node, name) + _diag_operands(w, node, name, "k", "num_rows",
                                                     "num_cols", "padding_value")
    return w.add_node("MatrixDiagV3", ins, {"T": node.inputs[0].dtype}, name=name)


@exports("MatrixSetDiagV3")
def _set_diag(w, node):
    name = base_name(node)
    ins = input_refs(w, node, name) + _diag_operands(w, node, name, "k")
    return w.add_node("MatrixSetDiagV3", ins, {"T": node.inputs[0].dtype}, name=name)

