"""`tf.autograph`: Python control flow on tensors inside `tf.function`.

`tf.function` converts the user's Python function (and the user functions it
calls) before tracing: `if`/`while`/`for` whose condition or iterable is a
tensor become `tf.cond`/`tf.while_loop` (`transformer.py` rewrites the
source, `operators.py` and `loops.py` decide at trace time); conditions on
Python values keep Python's meaning.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def collatz_steps(n):
    ...     steps = 0
    ...     while n != 1:
    ...         if n % 2 == 0:
    ...             n = n // 2
    ...         else:
    ...             n = 3 * n + 1
    ...         steps += 1
    ...     return steps
    >>> int(collatz_steps(tf.constant(6)))
    8
"""
import types as _types

from tapeflow.function.autograph.api import (  # noqa: F401
    convert,
    do_not_convert,
    set_verbosity,
    to_code,
    to_graph,
)
from tapeflow.function.autograph.loops import set_loop_options

experimental = _types.SimpleNamespace(do_not_convert=do_not_convert,
                                      set_loop_options=set_loop_options)
