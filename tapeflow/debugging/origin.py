"""Where a tensor came from: the user's source line, and for a gradient the forward op.

While a debugging mode is on (`enable_check_numerics`, `tapeflow.debug.explain_none_gradients`,
`set_log_device_placement`), `framework.op.execute` calls `dispatch_hook` after every op; it
notes, for each output, an `Origin`: the op, the first frame of the user's code on the stack
(tapeflow's own frames are skipped) and, when the op runs inside a backward pass, the forward
op whose gradient rule made it. Origins are kept in a table keyed by the tensor's id and
dropped when the tensor dies, so nothing outlives what it describes. Off (the default),
nothing is recorded and dispatch pays one `is None` test.
"""
from __future__ import annotations

import linecache
import os
import sys
import sysconfig
import weakref

import tapeflow

_PACKAGE_DIR = os.path.dirname(os.path.abspath(tapeflow.__file__)) + os.sep
# The main job ships inside the package but is user code: its lines are what users read.
_USER_DIRS = (os.path.join(_PACKAGE_DIR, "examples") + os.sep,)
# Keras layers: an op run inside a layer's call is also named by its layer.
_LAYER_FILE = os.path.join(_PACKAGE_DIR, "keras", "layers", "base.py")
# The standard library (contextlib's `with` machinery, ...) is nobody's line either.
_STDLIB_DIR = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep


class Origin:
    """The op that made a tensor and the user's line that called it.

    Attributes:
        op: the op type ('Log').
        filename, lineno, function: the user's frame (None when not found).
        grad_of: for an op run by a gradient rule, the forward op's `Origin`.
        inputs: the op's inputs, kept only while gradients are being explained
            (`tapeflow.debug.explain_none_gradients`), to trace values made
            outside a tape back to the Variables they read.
        layer: "'dense_1' (Dense)" when a Keras layer's call ran the op.
    """

    __slots__ = ("filename", "function", "grad_of", "inputs", "layer", "lineno", "op")

    def __init__(self, op, filename, lineno, function, grad_of=None, inputs=None, layer=None):
        self.op = op
        self.inputs = inputs
        self.layer = layer
        self.filename = filename
        self.lineno = lineno
        self.function = function
        self.grad_of = grad_of

    @property
    def where(self) -> str:
        """'file.py:12 in fn' (or 'an unknown line')."""
        if self.filename is None:
            return "an unknown line"
        return f"{self.filename}:{self.lineno} in {self.function}"

    @property
    def source_line(self) -> str:
        if self.filename is None:
            return ""
        return linecache.getline(self.filename, self.lineno).strip()

    def describe(self) -> str:
        """'Log at file.py:12 in fn: `y = tf.math.log(x)`' (and the Keras layer)."""
        line = self.source_line
        layer = f" in layer {self.layer}" if self.layer else ""
        return f"{self.op}{layer} at {self.where}" + (f": `{line}`" if line else "")

    def __repr__(self):
        return f"<Origin {self.describe()}>"


def is_user_file(filename: str) -> bool:
    if filename.startswith(("<tapeflow", "<frozen")):
        return False
    if filename.startswith(_STDLIB_DIR) and "site-packages" not in filename:
        return False
    return not filename.startswith(_PACKAGE_DIR) or filename.startswith(_USER_DIRS)


def user_frame(depth: int = 1):
    """(filename, lineno, function) of the innermost frame of user code, or Nones."""
    f = sys._getframe(depth)
    while f is not None:
        code = f.f_code
        if is_user_file(code.co_filename):
            return code.co_filename, f.f_lineno, code.co_name
        f = f.f_back
    return None, None, None


# -- the table ----------------------------------------------------------------------------

_ORIGINS: dict = {}       # id(tensor) -> (weakref, Origin)


def _drop_key(key):
    def callback(ref, _origins=_ORIGINS, key=key):
        entry = _origins.get(key)
        if entry is not None and entry[0] is ref:
            del _origins[key]
    return callback


def note(tensor, origin: Origin) -> None:
    """Remembers `origin` for `tensor` while the tensor lives."""
    key = id(tensor)
    try:
        ref = weakref.ref(tensor, _drop_key(key))
    except TypeError:
        return
    _ORIGINS[key] = (ref, origin)


def origin_of(tensor):
    """The `Origin` noted for `tensor`, or None."""
    entry = _ORIGINS.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return None
    return entry[1]


def clear() -> None:
    _ORIGINS.clear()


# -- finding the op being differentiated -------------------------------------------------

def _backward_codes():
    from tapeflow.autodiff import backprop
    from tapeflow.function import gradients
    return backprop.backward.__code__, gradients.FunctionGradient._trace_backward.__code__


_CODES = None
_REVERSE = [None, None]     # [the `mapped` dict of a backward trace, {id(placeholder): fwd}]


def _forward_of(frame, trace_frame):
    """The forward tensor whose gradient the walk in `frame` is computing."""
    outputs = frame.f_locals.get("outputs")
    if outputs is None:
        return None
    out = outputs[0] if type(outputs) is tuple and outputs else outputs
    if trace_frame is not None:
        # A tf.function's backward is traced on placeholders standing for the
        # forward values: map the placeholder back to the forward tensor.
        mapped = trace_frame.f_locals.get("mapped")
        if mapped is not None:
            if _REVERSE[0] is not mapped or len(_REVERSE[1]) != len(mapped):
                fwd = {}
                for node in trace_frame.f_locals["self"].on_path:
                    for o in node.outputs:
                        p = mapped.get(id(o))
                        if p is not None:
                            fwd[id(p)] = o
                _REVERSE[0], _REVERSE[1] = mapped, fwd
            out = _REVERSE[1].get(id(out), out)
    return out


def current_origin(op_name: str, depth: int = 2) -> Origin:
    """The `Origin` of an op being dispatched now (called from the dispatch hook)."""
    global _CODES
    if _CODES is None:
        _CODES = _backward_codes()
    walk_code, trace_code = _CODES
    walk = trace = layer = None
    f = sys._getframe(depth)
    while f is not None:
        code = f.f_code
        if layer is None and code.co_name == "__call__" and code.co_filename == _LAYER_FILE:
            obj = f.f_locals.get("self")
            layer = f"'{obj.name}' ({type(obj).__name__})" if obj is not None else None
        if code is walk_code:
            if walk is None:
                walk = f
        elif code is trace_code:
            if trace is None:
                trace = f
        elif is_user_file(code.co_filename):
            grad_of = None
            if walk is not None:
                fwd = _forward_of(walk, trace)
                grad_of = origin_of(fwd) if fwd is not None else None
                if grad_of is None:
                    fwd_op = walk.f_locals.get("op")
                    grad_of = Origin(getattr(fwd_op, "name", "?"), None, None, None)
            return Origin(op_name, code.co_filename, f.f_lineno, code.co_name, grad_of,
                          layer=layer)
        f = f.f_back
    return Origin(op_name, None, None, None)
