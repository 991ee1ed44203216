"""`tf.autodiff`: `ForwardAccumulator` (forward mode, `forward.py`) and `GradientTape`
(reverse mode, `tape.py`); `custom_gradient.py` and `backprop.py` hold the rest.

Filled with the classes that declare an 'autodiff.*' name where they are defined
(see `framework/api_export.py`); the implementation modules are reached by their
paths (`from tapeflow.autodiff import backprop`), not as attributes of the namespace.
"""
from tapeflow.autodiff import forward, tape  # noqa: F401  (they declare the names)
from tapeflow.framework.api_export import namespace as _namespace

globals().update(_namespace("autodiff"))
del _namespace
del backprop, forward, tape  # noqa: F821
