"""tapeflow's own debugging tools, beside the TF API (`tf.debugging`).

- `explain_gradients(tape, target, sources)`: why each None gradient is None.
- `explain_none_gradients(True)`: every `tape.gradient` warns with those reasons.
- `explain_retracing(fn)`: every trace of a `tf.function` and what caused it.
- `gradient_flow(model, grads)`: per-layer gradient statistics and their plot;
  `GradientFlowRecorder` collects them during training.
- `to_dot(tape_or_function, target=None, path=None)`: the recorded or traced graph in
  Graphviz DOT (SVG/PNG through `dot`), with gradient norms on a tape's edges.
"""
from tapeflow.debug.dot import render, to_dot  # noqa: F401
from tapeflow.debug.explain import explain_gradients, explain_none_gradients  # noqa: F401
from tapeflow.debug.flow import GradientFlow, GradientFlowRecorder, gradient_flow  # noqa: F401
from tapeflow.debug.retracing import explain_retracing  # noqa: F401
