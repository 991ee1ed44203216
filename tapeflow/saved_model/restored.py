"""The objects `tf.saved_model.load` returns: user objects, concrete and polymorphic functions.

* `_UserObject`: one saved trackable object; its children (Variables, functions, other
  objects) are its attributes, named as when saved. A `__call__` child makes it callable.
* `RestoredConcreteFunction`: one traced function. Its flat inputs are the tensors of its
  `structured_input_signature` (dicts by sorted key, as `tf.nest` flattens) followed by the
  captured Variables; its flat outputs are packed into `structured_outputs`.
* `RestoredFunction`: a `tf.function` with its traces. A call binds the arguments by the
  saved parameter names and defaults, then takes the first trace they match (Python values
  equal, tensors fitting the `TensorSpec`s), first without converting Python values to
  tensors and then with, as TensorFlow does; no match is TensorFlow's ValueError.
"""
from __future__ import annotations

import collections.abc
import pprint

import numpy as np

from tapeflow.framework.op import convert_to_tensor
from tapeflow.framework.tensor import is_tensor
from tapeflow.framework.tensor_spec import TensorSpec
from tapeflow.framework.variables import Variable
from tapeflow.utils import nest


class _UserObject:
    """A restored trackable object: its saved children are its attributes."""

    def _trackable_children(self) -> dict:
        return {k: v for k, v in vars(self).items()
                if not isinstance(v, (RestoredFunction, RestoredConcreteFunction))}

    def _set_child(self, name, value):
        setattr(self, name, value)
        if name == "__call__":
            # Python looks `__call__` up on the class: an object saved with a `__call__`
            # function becomes callable, the others stay not callable, as in TF.
            self.__class__ = _CallableUserObject


class _CallableUserObject(_UserObject):
    """A restored object with a saved `__call__` function."""

    def __call__(self, *args, **kwargs):
        return self.__dict__["__call__"](*args, **kwargs)


class _SignatureMap(collections.abc.Mapping):
    """`loaded.signatures`: signature key -> concrete function returning a dict."""

    def __init__(self):
        self._functions = {}

    def _add(self, key, function):
        self._functions[key] = function

    def __getitem__(self, key):
        return self._functions[key]

    def __iter__(self):
        return iter(self._functions)

    def __len__(self):
        return len(self._functions)

    def __repr__(self):
        return f"_SignatureMap({self._functions!r})"

    def _trackable_children(self) -> dict:
        return {}


# -- structures ----------------------------------------------------------------------------

def _flatten_up_to(shallow, value, out):
    """Appends to `out` the parts of `value` at the leaves of `shallow`; raises TypeError or
    ValueError when `value` does not have `shallow`'s nesting."""
    if isinstance(shallow, collections.abc.Mapping):
        if not isinstance(value, collections.abc.Mapping) or set(value) != set(shallow):
            raise ValueError("the dict keys differ")
        for key in sorted(shallow):
            _flatten_up_to(shallow[key], value[key], out)
    elif isinstance(shallow, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(shallow) or (
                isinstance(shallow, list) != isinstance(value, list)):
            raise ValueError("the sequences differ")
        for s, v in zip(shallow, value):
            _flatten_up_to(s, v, out)
    else:
        out.append((shallow, value))
    return out


def _pack_outputs(structure, flat):
    """`structure` with each TensorSpec leaf replaced by the next tensor of `flat`."""
    it = iter(flat)

    def fill(s):
        if isinstance(s, TensorSpec):
            return next(it)
        if isinstance(s, collections.abc.Mapping):     # tensors come in sorted-key order
            filled = {k: fill(s[k]) for k in sorted(s)}
            return {k: filled[k] for k in s}
        if isinstance(s, tuple) and hasattr(type(s), "_fields"):
            return type(s)(*(fill(v) for v in s))
        if isinstance(s, (list, tuple)):
            return type(s)(fill(v) for v in s)
        return s
    return fill(structure)


def _map_specs(fn, structure):
    """`structure` with `fn(spec)` at each TensorSpec leaf (other leaves kept)."""
    leaves = [fn(s) for s in nest.flatten(structure) if isinstance(s, TensorSpec)]
    return _pack_outputs(structure, leaves)


def _spec_of(value, dtype_hint):
    """The TensorSpec `value` gets when converted to a tensor, or None if it cannot be."""
    try:
        t = convert_to_tensor(value, dtype_hint=dtype_hint)
    except (TypeError, ValueError):
        return None
    return TensorSpec(t.shape, t.dtype)


def _matches(expected, value, allow_conversion) -> bool:
    if isinstance(expected, TensorSpec):
        if allow_conversion and not (is_tensor(value) or isinstance(value, TensorSpec)):
            value = _spec_of(value, expected.dtype)
        if not (is_tensor(value) or isinstance(value, TensorSpec)):
            return False
        return value.dtype == expected.dtype and expected.shape.is_compatible_with(value.shape)
    if is_tensor(value):
        return value is expected
    try:
        return bool(np.all(value == expected)) if not isinstance(value, str) \
            else value == expected
    except Exception:      # values that do not compare (arrays of other shapes)
        return False


# -- concrete functions ---------------------------------------------------------------------

class RestoredConcreteFunction:
    """One traced function of a SavedModel, run by tapeflow's FunctionDef interpreter.

    Args:
        name: the FunctionDef's name.
        program: its compiled `graph_runner.Program`.
        captured: the Variables (or constants) bound to its trailing inputs.
        input_signature: `(args, kwargs)` of TensorSpecs and Python values.
        outputs: the nested output structure, TensorSpecs at the tensor leaves.
        param_names: names of the positional parameters, for binding keywords.
        num_positional: how many arguments may be passed by position (None: all).
        defaults: {parameter name: default value}.
    """

    def __init__(self, name, program, captured, input_signature, outputs,
                 param_names=(), num_positional=None, defaults=None):
        self.name = name
        self._program = program
        self.captured_inputs = list(captured)
        self.structured_input_signature = input_signature
        self.structured_outputs = outputs
        self._param_names = list(param_names)
        self._num_positional = num_positional
        self._defaults = dict(defaults or {})

    @property
    def variables(self) -> tuple:
        return tuple(v for v in self.captured_inputs if isinstance(v, Variable))

    @property
    def trainable_variables(self) -> tuple:
        return tuple(v for v in self.variables if v.trainable)

    @property
    def function_def(self):
        return self._program.fdef

    @property
    def output_shapes(self):
        """The `structured_outputs` with each TensorSpec replaced by its shape."""
        return _map_specs(lambda spec: spec.shape, self.structured_outputs)

    @property
    def output_dtypes(self):
        """The `structured_outputs` with each TensorSpec replaced by its dtype."""
        return _map_specs(lambda spec: spec.dtype, self.structured_outputs)

    def _callable_with(self, inputs, allow_conversion) -> bool:
        try:
            pairs = _flatten_up_to(self.structured_input_signature, inputs, [])
        except (TypeError, ValueError):
            return False
        return all(_matches(e, v, allow_conversion) for e, v in pairs)

    def _call_structured(self, inputs):
        flat = []
        for expected, value in _flatten_up_to(self.structured_input_signature, inputs, []):
            if isinstance(expected, TensorSpec):
                flat.append(convert_to_tensor(value, dtype_hint=expected.dtype))
        outputs = self._program.run(flat + self.captured_inputs)
        return _pack_outputs(self.structured_outputs, outputs)

    def _bind(self, args, kwargs):
        """(args, kwargs) arranged as `structured_input_signature`, or a TypeError."""
        arg_specs, kwarg_specs = self.structured_input_signature
        allowed = len(arg_specs) if self._num_positional is None else self._num_positional
        if len(args) > allowed:
            raise TypeError(f"{self.name}() takes {allowed} positional arguments, got "
                            f"{len(args)}")
        kwargs = dict(kwargs)
        positional = list(args[:len(arg_specs)])
        # Positional arguments past the structured ones bind to the flat signature's
        # keywords, in order (as TF's fallback for signature functions saved to allow it).
        for i, value in enumerate(args[len(arg_specs):], start=len(arg_specs)):
            if i >= len(self._param_names) or self._param_names[i] in kwargs:
                raise TypeError(f"{self.name}() got an unexpected positional argument")
            kwargs[self._param_names[i]] = value
        for i in range(len(positional), len(arg_specs)):
            name = self._param_names[i] if i < len(self._param_names) else None
            if name in kwargs:
                positional.append(kwargs.pop(name))
            elif name in self._defaults:
                positional.append(self._defaults[name])
            else:
                raise TypeError(f"{self.name}() missing required argument: '{name}'")
        return tuple(positional), kwargs

    def __call__(self, *args, **kwargs):
        inputs = self._bind(args, kwargs)
        if not self._callable_with(inputs, allow_conversion=True):
            raise TypeError(
                f"Binding inputs to tf.function failed: the arguments {_describe(inputs)} do "
                f"not match the signature {_describe(self.structured_input_signature)} of "
                f"{self.name}.")
        return self._call_structured(inputs)

    def pretty_printed_signature(self, verbose=True, captures=True):
        """Inputs, output type and captures as text, in TF's format."""
        args, kwargs = self.structured_input_signature
        names = self._param_names + [f"args_{i}" for i in range(len(self._param_names),
                                                                  len(args))]
        params = [(n, "POSITIONAL_OR_KEYWORD", v) for n, v in zip(names, args)]
        params += [(k, "KEYWORD_ONLY", kwargs[k]) for k in sorted(kwargs)]
        output = _type_text(self.structured_outputs)
        if not verbose:
            parts = [f"{n}: {_type_text(v)}" for n, _, v in params]
            if kwargs:
                parts.insert(len(args), "*")
            return f"({', '.join(parts)}) -> {output}"
        lines = ["Input Parameters:"]
        lines += [f"  {n} ({kind}): {_type_text(v)}" for n, kind, v in params]
        lines += ["Output Type:", f"  {output}", "Captures:"]
        held = [f"  {id(v)}: TensorSpec(shape=(), dtype=tf.resource, name=None)"
                for v in self.variables] if captures else []
        return "\n".join(lines + (held or ["  None"]))

    def __repr__(self):
        return f"<ConcreteFunction {self.pretty_printed_signature(verbose=False)} at " \
            f"0x{id(self):X}>"


def _type_text(value):
    """TF's text for a parameter or output type: TensorSpec, Literal[...], List[...], ..."""
    if isinstance(value, TensorSpec):
        return repr(value)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return f"Tuple[{', '.join(_type_text(v) for v in value)}]"
    if isinstance(value, list):
        return f"List[{', '.join(_type_text(v) for v in value)}]"
    if isinstance(value, dict):
        items = ", ".join(f"[{k!r}, {_type_text(value[k])}]" for k in sorted(value))
        return f"Dict[{items}]"
    return f"Literal[{value!r}]"


def _describe(inputs):
    """`(args, kwargs)` as text, tensors and arrays shown by their TensorSpec."""
    def spec(value):
        if is_tensor(value) or isinstance(value, np.ndarray):
            return TensorSpec.from_tensor(value)
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(spec(v) for v in value)
        if isinstance(value, dict):
            return {k: spec(v) for k, v in value.items()}
        return value
    args, kwargs = inputs
    return f"(args={spec(list(args))!r}, kwargs={spec(kwargs)!r})"


# -- polymorphic functions --------------------------------------------------------------------

def _positional_text(positional):
    return "Positional arguments ({} total):\n    * {}".format(
        len(positional), "\n    * ".join(pprint.pformat(a) for a in positional))


class RestoredFunction:
    """A restored `tf.function`: picks the saved trace that matches each call.

    Args:
        name: the attribute name it was saved under (for messages).
        concrete_functions: its traces, in the saved order.
        spec: the decoded function spec: `args` (parameter names, without `self`),
            `defaults` ({name: value}) and `input_signature` (or None).
    """

    def __init__(self, name, concrete_functions, spec):
        self.__name__ = name
        self.concrete_functions = list(concrete_functions)
        self._spec = spec
        self.input_signature = spec.input_signature

    def _canonicalize(self, args, kwargs):
        names = self._spec.args
        if len(args) > len(names) and not self._spec.varargs:
            raise TypeError(f"{self.__name__}() takes {len(names)} positional arguments but "
                            f"{len(args)} were given")
        kwargs = dict(kwargs)
        positional = list(args)
        for name in names[len(args):]:
            if name in kwargs:
                positional.append(kwargs.pop(name))
            elif name in self._spec.defaults:
                positional.append(self._spec.defaults[name])
            else:
                break
        return tuple(positional), kwargs

    def _find(self, inputs):
        for allow_conversion in (False, True):
            for function in self.concrete_functions:
                if function._callable_with(inputs, allow_conversion):
                    return function
        return None

    def __call__(self, *args, **kwargs):
        if not self.concrete_functions:
            raise ValueError("Found zero restored functions for caller function.")
        inputs = self._canonicalize(args, kwargs)
        function = self._find(inputs)
        if function is None:
            raise self._mismatch(args, kwargs)
        return function._call_structured(inputs)

    def _mismatch(self, args, kwargs):
        options = []
        for index, function in enumerate(self.concrete_functions):
            positional, keyword = function.structured_input_signature
            options.append(f"Option {index + 1}:\n  {_positional_text(positional)}\n  "
                           f"Keyword arguments: {keyword}")
        message = (
            "Could not find matching concrete function to call loaded from the SavedModel. "
            f"Got:\n  {_positional_text(args)}\n  Keyword arguments: {kwargs}\n\n Expected "
            f"these arguments to match one of the following {len(self.concrete_functions)} "
            "option(s):\n\n" + "\n\n".join(options))
        if self.input_signature is not None:
            return TypeError("Binding inputs to tf.function failed: " + message)
        return ValueError(message)

    def get_concrete_function(self, *args, **kwargs):
        """The saved trace matching these arguments (tensors or TensorSpecs)."""
        if not args and not kwargs and self.input_signature is not None:
            args = tuple(self.input_signature)
        function = self._find(self._canonicalize(args, kwargs))
        if function is None:
            raise self._mismatch(args, kwargs)
        return function

    def pretty_printed_concrete_signatures(self, verbose=True) -> str:
        """Every saved trace's signature as text, in TF's format."""
        return ("\n\n" if verbose else "\n").join(
            f.pretty_printed_signature(verbose, captures=False)
            for f in self.concrete_functions)

    def __repr__(self):
        return f"<RestoredFunction {self.__name__} ({len(self.concrete_functions)} traces)>"

