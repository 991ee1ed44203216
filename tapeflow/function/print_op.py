"""`tf.print`: prints tensors when the program runs, eagerly and inside `tf.function`.

Python's `print` inside a `tf.function` runs only while the function is
traced; `tf.print` is a stateful op, so it is part of the traced graph and
prints on every call. Tensors are formatted as TF formats them: `[1 2 3]`,
numbers with the fewest digits that read back as the same value, long
dimensions summarised with `...`. Output goes to stderr unless
`output_stream` says otherwise.

    >>> import sys
    >>> import tapeflow as tf
    >>> tf.print('loss:', tf.constant([1.5, 2.0]), 7, output_stream=sys.stdout)
    loss: [1.5 2] 7
"""
from __future__ import annotations

import sys

import numpy as np

from tapeflow.framework.op import NO_GRADIENT, OpDef, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.utils import nest

# -- formatting ------------------------------------------------------------------------------


def format_scalar(x) -> str:
    """One element as TF prints it: `3` for 3.0, `0.123456791`, `1e-08`, `1` for True."""
    if isinstance(x, (bytes, np.bytes_)):
        return x.decode("utf-8", "replace")
    if isinstance(x, str):
        return x
    dtype = getattr(x, "dtype", None)
    kind = dtype.kind if dtype is not None else ("f" if isinstance(x, float) else "i")
    if kind == "b":
        return "1" if x else "0"
    if kind in "iu":
        return str(int(x))
    if kind == "c":
        return f"({format_scalar(x.real)},{format_scalar(x.imag)})"
    # Shortest of "%.{6,9}g" (float32) or "%.{15,17}g" (float64) that reads back exactly.
    short, full = (6, 9) if dtype is not None and dtype.itemsize <= 4 else (15, 17)
    text = f"{float(x):.{short}g}"
    as_type = dtype.type if dtype is not None else float
    if as_type(text) != x and not np.isnan(x):
        text = f"{float(x):.{full}g}"
    return text


def _format_array(a, summarize, indent=1):
    if a.ndim == 0:
        return format_scalar(a[()])
    n = a.shape[0]
    if summarize >= 0 and n > 2 * summarize:
        idx = list(range(summarize)) + [None] + list(range(n - summarize, n))
    else:
        idx = list(range(n))
    if a.ndim == 1:
        # Strings inside a tensor are quoted, as TF prints them (a scalar string is not).
        fmt = (lambda v: f'"{format_scalar(v)}"') if a.dtype.kind == "O" else format_scalar
        return "[" + " ".join("..." if i is None else fmt(a[i]) for i in idx) + "]"
    sep = "\n" * (a.ndim - 1) + " " * indent
    parts = ["..." if i is None else _format_array(a[i], summarize, indent + 1) for i in idx]
    return "[" + sep.join(parts) + "]"


def format_value(value, summarize=3) -> str:
    """A tensor, array or (nested) Python value as tf.print shows it."""
    if isinstance(value, (np.ndarray, np.generic)):
        return _format_array(np.asarray(value), summarize)
    if isinstance(value, str):
        return value
    return str(value)


def _format_nested(template, arrays, summarize, top=True):
    """Python structures print like Python, with their tensors formatted by TF's rules."""
    if isinstance(template, _Slot):
        return format_value(arrays[template.index], summarize)
    if isinstance(template, dict):
        inner = ", ".join(f"{k!r}: {_format_nested(v, arrays, summarize, False)}"
                          for k, v in template.items())
        return "{" + inner + "}"
    if isinstance(template, (list, tuple)):
        inner = ", ".join(_format_nested(v, arrays, summarize, False) for v in template)
        return ("[" + inner + "]") if isinstance(template, list) else ("(" + inner + ")")
    if isinstance(template, str):
        return template if top else repr(template)
    return str(template)


class _Slot:
    """Where a tensor's value goes in the printed template."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


# -- the op ---------------------------------------------------------------------------------

def _resolve_stream(stream):
    if stream == "stderr":
        return sys.stderr
    if stream == "stdout":
        return sys.stdout
    return stream


def _print_kernel(*arrays, templates, sep, end, stream, summarize):
    text = sep.join(_format_nested(t, arrays, summarize) for t in templates) + end
    if isinstance(stream, str) and stream.startswith("file://"):
        with open(stream[len("file://"):], "a", encoding="utf-8") as f:
            f.write(text)
        return ()
    out = _resolve_stream(stream)
    out.write(text)
    if hasattr(out, "flush"):
        out.flush()
    return ()


PRINT = OpDef("PrintV2", _print_kernel, NO_GRADIENT, num_outputs=0,
              shape_fn=lambda inputs, attrs: [], stateful=True)


def _stream_attr(output_stream):
    # The streams are looked up when printing, so redirected stderr/stdout work.
    if output_stream is None or output_stream is sys.stderr or output_stream is sys.__stderr__:
        return "stderr"
    if output_stream is sys.stdout or output_stream is sys.__stdout__:
        return "stdout"
    if isinstance(output_stream, str):
        if output_stream.startswith("file://"):
            return output_stream
        raise ValueError(f"tf.print: output_stream must be sys.stderr, sys.stdout, a file "
                         f"object or a 'file://<path>' string; got {output_stream!r}.")
    if not hasattr(output_stream, "write"):
        raise ValueError(f"tf.print: output_stream must be sys.stderr, sys.stdout, a file "
                         f"object or a 'file://<path>' string; got {output_stream!r}.")
    return output_stream


def print_v2(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):
    """`tf.print`: prints `inputs` (tensors, Python values, nested structures).

    Args:
        *inputs: what to print, separated by `sep`.
        output_stream: sys.stderr (the default, looked up at each print),
            sys.stdout, a file object, or 'file://<path>' to append to a file.
        summarize: how many leading and trailing elements of each dimension
            to show; -1 shows all.
        sep: the separator between inputs.
        end: printed after the last input.
    """
    tensors = []

    def slot(leaf):
        if isinstance(leaf, Tensor) or getattr(leaf, "_is_variable", False):
            tensors.append(leaf)
            return _Slot(len(tensors) - 1)
        if isinstance(leaf, np.ndarray):
            from tapeflow.framework.op import convert_to_tensor
            tensors.append(convert_to_tensor(leaf))
            return _Slot(len(tensors) - 1)
        return leaf

    templates = [nest.map_structure(slot, x) if nest.is_nested(x) else slot(x) for x in inputs]
    attrs = {"templates": templates, "sep": sep, "end": end,
             "stream": _stream_attr(output_stream), "summarize": int(summarize)}
    execute(PRINT, tuple(tensors), attrs)
