"""Shape rules shared by op families (used when tracing graphs)."""
from __future__ import annotations

from tapeflow.framework import dtypes, errors
from tapeflow.framework.tensor_shape import TensorShape


def broadcast_shapes(op_name: str, a: TensorShape, b: TensorShape) -> TensorShape:
    """NumPy broadcasting over shapes that may have unknown (None) dims."""
    if a.rank is None or b.rank is None:
        return TensorShape(None)
    da, db = a.as_list(), b.as_list()
    n = max(len(da), len(db))
    da = [1] * (n - len(da)) + da
    db = [1] * (n - len(db)) + db
    out = []
    for x, y in zip(da, db):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            raise errors.op_error(op_name, f"Incompatible shapes: {list(a)} vs. {list(b)}")
    return TensorShape(out)


def same_as_first(inputs, attrs):
    x = inputs[0]
    return [(x.shape, x.dtype)]


def elementwise(op_name: str, out_dtype=None):
    """Shape rule of a broadcasting elementwise op (dtype of the first input, or out_dtype)."""
    def rule(inputs, attrs):
        shape = inputs[0].shape
        for x in inputs[1:]:
            shape = broadcast_shapes(op_name, shape, x.shape)
        return [(shape, out_dtype or inputs[0].dtype)]
    return rule


BOOL = dtypes.bool
