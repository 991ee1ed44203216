"""`tf.function`: a Python function that runs as traced graphs, one per call signature.

A `Function` keeps a cache of `ConcreteFunction`s keyed by the call's
arguments (see `signature.py`): tensors by shape and dtype, Python values by
value, Variables by identity. A call whose key is new traces the Python
function again ("retracing"); with `reduce_retracing=True`
(`experimental_relax_shapes=True`) the second shape seen for an argument
makes one trace with the differing dimensions unknown, which then serves all
such calls. With an `input_signature` the function is traced once, for it.

    >>> import tapeflow as tf
    >>> @tf.function
    ... def square_sum(x, scale=1.0):
    ...     print('tracing')            # Python side effects run while tracing only
    ...     return tf.reduce_sum(x * x) * scale
    >>> float(square_sum(tf.constant([1., 2.])))
    tracing
    5.0
    >>> float(square_sum(tf.constant([3., 4.])))    # same shape and dtype: no retrace
    25.0
    >>> square_sum.experimental_get_tracing_count()
    1
"""
from __future__ import annotations

import functools
import logging
import weakref

from tapeflow.framework.context import state
from tapeflow.function import signature as sig_mod
from tapeflow.function.concrete import trace

# `tf.config.run_functions_eagerly(True)`: call the Python functions directly.
RUN_EAGERLY = False
# A function traced this many times logs a warning explaining the last retrace.
RETRACE_WARNING_THRESHOLD = 5

logger = logging.getLogger("tapeflow")


class _StrongRef:
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __call__(self):
        return self.obj


class Function:
    """A callable that traces `python_function` into graphs and runs their plans.

    Args:
        python_function: the function (or method) to compile.
        name: its name in errors and warnings (default: the function's name).
        input_signature: a list of (nested) `tf.TensorSpec`: trace once for
            these shapes/dtypes; calls must fit them.
        reduce_retracing: generalise shapes (unknown dims) rather than trace
            once per shape. `experimental_relax_shapes` is its older name.
        jit_compile: accepted for compatibility; plans are always compiled.
        autograph: convert Python `if`/`while`/`for` on tensors (and the user
            functions called) into graph control flow before tracing.
    """

    def __init__(self, python_function, name=None, input_signature=None,
                 reduce_retracing=False, jit_compile=None, _instance_ref=None, autograph=True):
        self._python_function = python_function
        self._autograph = bool(autograph)
        self._converted = None
        self._name = name or getattr(python_function, "__name__", type(python_function).__name__)
        self._input_signature = (None if input_signature is None
                                 else sig_mod.check_signature(input_signature))
        self._reduce_retracing = bool(reduce_retracing)
        self._jit_compile = jit_compile
        self._instance_ref = _instance_ref
        self._binder = sig_mod.Binder(python_function, skip_first=_instance_ref is not None)
        self._cache = {}            # call key -> ConcreteFunction
        self._traces = []           # (spec key, ConcreteFunction) in trace order
        self._last_key = None
        self._trace_log = []        # (argument names, call key) per trace: explain_retracing
        self._tracing_count = 0
        self._bound = weakref.WeakKeyDictionary()
        self._bound_by_id = {}
        functools.update_wrapper(self, python_function, updated=())

    # -- properties ------------------------------------------------------------------
    @property
    def python_function(self):
        return self._python_function

    @property
    def input_signature(self):
        return self._input_signature

    @property
    def function_spec(self):
        return self._binder.signature

    def experimental_get_tracing_count(self) -> int:
        """How many times the Python function has been traced."""
        return self._tracing_count

    # -- methods: one Function per instance ----------------------------------------------
    def __get__(self, instance, owner=None):
        if instance is None or self._instance_ref is not None:
            return self
        try:
            bound = self._bound.get(instance)
        except TypeError:
            bound = self._bound_by_id.get(id(instance))
        if bound is None:
            try:
                ref = weakref.ref(instance)
            except TypeError:            # not weak-referenceable: hold it
                ref = _StrongRef(instance)
            bound = Function(self._python_function, self._name, self._input_signature,
                             self._reduce_retracing, self._jit_compile, _instance_ref=ref,
                             autograph=self._autograph)
            try:
                self._bound[instance] = bound
            except TypeError:
                self._bound_by_id[id(instance)] = bound
        return bound

    def _target(self):
        """The Python function to run: converted by AutoGraph unless that is off."""
        if not self._autograph or RUN_EAGERLY:
            return self._python_function
        if self._converted is None:
            from tapeflow.function.autograph import convert
            self._converted = convert(self._python_function)
        return self._converted

    def _call_python(self, *args, **kwargs):
        if self._instance_ref is not None:
            return self._target()(self._instance_ref(), *args, **kwargs)
        return self._target()(*args, **kwargs)

    # -- calling ------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if RUN_EAGERLY or state.graph is not None:
            # Eager debugging, or called while another function is traced: the
            # Python code runs in place (its ops join the enclosing graph).
            return self._call_python(*args, **kwargs)
        names, values = self._binder.bind(args, kwargs)
        if self._input_signature is not None:
            concrete = self._signature_function()
            tensors = sig_mod.bind_to_signature(self._name, self._input_signature, names,
                                                values, args, kwargs)
            return concrete.call_flat(tensors)
        key, tensors = sig_mod.call_key(values)
        concrete = self._cache.get(key)
        if concrete is None:
            concrete = self._concrete_for(names, values, key)
        return concrete.call_flat(tensors)

    def _concrete_for(self, names, values, key):
        """The trace serving `key`: a relaxed one that fits, or a new one."""
        spec_key = key
        # A trace made for unknown dims (relaxed, or from get_concrete_function with
        # TensorSpecs) serves every call that fits it.
        for traced_key, concrete in reversed(self._traces):
            if sig_mod.fits(traced_key, key):
                self._cache[key] = concrete
                return concrete
        if self._reduce_retracing:
            for traced_key, _ in reversed(self._traces):
                general = sig_mod.generalize(traced_key, key)
                if general is not None:
                    spec_key = general
                    break
        concrete = self._trace(names, values, spec_key, key)
        self._cache[key] = concrete
        return concrete

    def _trace(self, names, values, spec_key, key):
        sym = sig_mod.trace_values(values, spec_key)
        binder, call_python = self._binder, self._call_python
        def python(*vals):
            return binder.call(call_python, names, list(vals))
        first = self._tracing_count == 0
        concrete = trace(python, sym, {}, self._name, first_trace=first, arg_names=names)
        if first and concrete.graph.created_variables:
            # As TF: a first trace that created Variables is traced once more with creation
            # disallowed, and that trace runs. A function that makes a new Variable at every
            # call fails on its first call (ValueError), not later on a retrace.
            concrete = trace(python, sym, {}, self._name, first_trace=False, arg_names=names)
        self._tracing_count += 1
        self._note_params(concrete, names, sym)
        self._traces.append((spec_key, concrete))
        self._trace_log.append((names, key))
        self._warn_if_retracing(names, key)
        self._last_key = key
        return concrete

    def _warn_if_retracing(self, names, key):
        count = self._tracing_count
        if self._last_key is None or count < RETRACE_WARNING_THRESHOLD or not (
                count == RETRACE_WARNING_THRESHOLD or count % 10 == 0):
            return
        arg, change = sig_mod.describe_change(names, self._last_key, key)
        cause = f"argument '{arg}': {change}" if arg is not None else change
        logger.warning(
            "%s retraced %d times; the last retrace was caused by %s. Tracing is expensive: "
            "pass tensors rather than Python values for arguments that change, and pass "
            "reduce_retracing=True or an input_signature when shapes vary.",
            self._name, count, cause)

    def _signature_function(self):
        concrete = self._cache.get(None)
        if concrete is None:
            concrete = trace(self._call_python, list(self._input_signature), {}, self._name,
                             first_trace=self._tracing_count == 0, arg_names=self._binder.names)
            self._tracing_count += 1
            self._note_params(concrete, self._binder.names, list(self._input_signature))
            self._cache[None] = concrete
        return concrete

    def _note_params(self, concrete, names, values):
        """(name, kind, spec or value) per parameter, for the printed signatures."""
        sig = self._binder.signature
        kinds = {p.name: p.kind.name for p in sig.parameters.values()} if sig else {}
        concrete._params = [(n, kinds.get(n, "POSITIONAL_OR_KEYWORD"), v)
                            for n, v in zip(names, values)]

    def pretty_printed_concrete_signatures(self, verbose=True):
        """Every traced signature as text, in trace order (TF's format).

        Example:
            >>> import tapeflow as tf
            >>> f = tf.function(lambda x: x + 1)
            >>> _ = f(tf.constant(1))
            >>> print(f.pretty_printed_concrete_signatures(verbose=False))
            (x: TensorSpec(shape=(), dtype=tf.int32, name=None))
            -> TensorSpec(shape=(), dtype=tf.int32, name=None)
        """
        concretes = [c for _, c in self._traces]
        if None in self._cache:
            concretes.insert(0, self._cache[None])
        sep = "\n\n" if verbose else "\n"
        return sep.join(c.pretty_printed_signature(verbose) for c in concretes)

    def get_concrete_function(self, *args, **kwargs):
        """The ConcreteFunction for these arguments (TensorSpecs or tensors), tracing if needed.

        Example:
            >>> import tapeflow as tf
            >>> f = tf.function(lambda x: x + 1)
            >>> cf = f.get_concrete_function(tf.TensorSpec([None], tf.int32))
            >>> cf(tf.constant([1, 2])).numpy()
            array([2, 3], dtype=int32)
        """
        if self._input_signature is not None:
            return self._signature_function()
        names, values = self._binder.bind(args, kwargs)
        key, _ = sig_mod.call_key(values)
        concrete = self._cache.get(key)
        if concrete is None:
            concrete = self._concrete_for(names, values, key)
        return concrete

    def __repr__(self):
        return f"<tapeflow.Function {self._name}>"


def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_implements=None,
             experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None,
             experimental_follow_type_hints=None, name=None):
    """`tf.function`: compiles `func` into traced graphs (decorator or call).

    Example:
        >>> import tapeflow as tf
        >>> v = tf.Variable(0.0)
        >>> @tf.function(reduce_retracing=True)
        ... def add(x):
        ...     v.assign_add(tf.reduce_sum(x))
        ...     return v.read_value()
        >>> for n in (2, 3, 4):
        ...     _ = add(tf.ones([n]))
        >>> float(v), add.experimental_get_tracing_count()
        (9.0, 2)
    """
    relax = bool(reduce_retracing or experimental_relax_shapes)

    def decorate(f):
        if isinstance(f, Function):
            return f
        if not callable(f):
            raise TypeError(f"tf.function expects a Python callable; got {f!r} of type "
                            f"{type(f).__name__}.")
        return Function(f, name=name, input_signature=input_signature,
                        reduce_retracing=relax, jit_compile=jit_compile or experimental_compile,
                        autograph=autograph)

    return decorate if func is None else decorate(func)
