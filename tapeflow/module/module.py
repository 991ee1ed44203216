"""`tf.Module`: a named container whose Variables and sub-Modules are found by reflection.

A Module keeps no registry of what it holds: `variables`, `trainable_variables`
and `submodules` walk the instance's attributes in name order, looking inside
lists, tuples and dicts (dicts in sorted-key order, as `tf.nest` flattens them).
A module's own attributes come first, then each sub-Module's, in the order the
sub-Modules were met; every object is reported once, and a Module reached
again through an attribute cycle is not walked twice, so cycles end.

    >>> import tapeflow as tf
    >>> class Scale(tf.Module):
    ...     def __init__(self, name=None):
    ...         super().__init__(name=name)
    ...         with self.name_scope:
    ...             self.w = tf.Variable(2.0, name='w')
    ...     def __call__(self, x):
    ...         return self.w * x
    >>> s = Scale()
    >>> s.name, s.name_scope.name, s.w.name
    ('scale', 'scale/', 'scale/w:0')
    >>> [v.name for v in s.trainable_variables]
    ['scale/w:0']

Checkpoints: `_trackable_children()` names what a Module holds (the same
attributes the walk visits, keyed by attribute name). Lists and dicts assigned as
attributes are kept as `ListWrapper` / `DictWrapper` (train/data_structures.py), so
that Variables appended later are checkpointed and restored.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from tapeflow.framework.context import current_scope, state
from tapeflow.utils import nest

_VALID_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# 'MyModule' -> 'my_module', 'MLP' -> 'mlp', 'HTTPServer' -> 'http_server'.
_CAMEL = re.compile(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))")


def camel_to_snake(name: str) -> str:
    """The default Module name of a class: 'MyModule' -> 'my_module'."""
    return _CAMEL.sub(r"_\1", name).lower()


class ModuleNameScope:
    """The name scope a Module opens: absolute, fixed when the Module was made.

    Entering it replaces the current scope (it does not nest under it), so a
    Module's Variables get the same prefix wherever its methods are called.
    `name` ends with '/', as `tf.Module().name_scope.name` does.
    """

    __slots__ = ("_saved", "name")

    def __init__(self, name: str):
        self.name = name
        self._saved = []

    def __enter__(self) -> str:
        self._saved.append(state.name_scope)
        state.name_scope = [self.name.rstrip("/")]
        return self.name

    def __exit__(self, *exc):
        state.name_scope = self._saved.pop()
        return False

    def __repr__(self):
        return f"<name_scope {self.name!r}>"


def _is_variable(obj) -> bool:
    return getattr(obj, "_is_variable", False) is True


def _is_module(obj) -> bool:
    return isinstance(obj, Module)


class Module:
    """Base class of models and layers: a name, a name scope, and reflection over attributes.

    Args:
        name: a valid Python identifier; by default the class name in snake
            case ('MyModule' -> 'my_module'). Names are not made unique.

    Raises:
        ValueError: `name` is not a valid Python identifier.
    """

    # Attribute names the walks skip (subclasses add their bookkeeping).
    _TF_MODULE_IGNORED_PROPERTIES = frozenset(("_module_scope",))

    def __init__(self, name=None):
        if name is None:
            name = camel_to_snake(type(self).__name__)
        elif not isinstance(name, str) or not _VALID_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid module name. Module names must be valid "
                             "Python identifiers (e.g. a valid class name).")
        self._name = name
        # The scope is fixed now, under the scope the Module is created in (as TF's).
        self._module_scope = ModuleNameScope(_scope_path(name))

    @property
    def name(self) -> str:
        """The name given (or derived from the class); without enclosing scopes."""
        return self._name

    @property
    def name_scope(self) -> ModuleNameScope:
        """The Module's name scope: `with module.name_scope:` prefixes Variable names."""
        scope = self.__dict__.get("_module_scope")
        if scope is None:       # subclasses that set `_name` without Module.__init__
            scope = ModuleNameScope(f"{self._name}/")
            self.__dict__["_module_scope"] = scope
        return scope

    @property
    def variables(self) -> tuple:
        """Variables of this Module (by attribute name), then of its sub-Modules."""
        return tuple(self._flatten(predicate=_is_variable))

    @property
    def trainable_variables(self) -> tuple:
        """The trainable ones among `variables`, in the same order."""
        return tuple(self._flatten(predicate=lambda v: _is_variable(v) and v.trainable))

    @property
    def non_trainable_variables(self) -> tuple:
        """The non-trainable ones among `variables`, in the same order."""
        return tuple(self._flatten(predicate=lambda v: _is_variable(v) and not v.trainable))

    @property
    def submodules(self) -> tuple:
        """Every Module reachable through attributes (not this one), each once."""
        return tuple(self._flatten(predicate=_is_module))

    def _flatten(self, recursive=True, predicate=None, attribute_traversal_key=None,
                 with_path=False, expand_composites=False):
        """The leaves of the attributes matching `predicate` (see the module docstring).

        Args:
            recursive: also walk sub-Modules.
            predicate: keeps the leaves for which it is true (default: all).
            attribute_traversal_key: sort key of attribute names (default: the names).
            with_path: yield `(path, leaf)` pairs, the path being the attribute names
                and indices / keys leading to the leaf; a leaf reachable by several
                paths is then reported once per path.
            expand_composites: accepted for TF's signature; tapeflow has no composite
                tensors to expand.
        """
        return _walk(self, recursive, predicate or (lambda _: True), with_path, (),
                     {id(self)}, [], attribute_traversal_key)

    def _module_attributes(self, key=None):
        """(name, value) pairs the walks visit, in visiting order."""
        d = vars(self)
        ignored = self._TF_MODULE_IGNORED_PROPERTIES
        return [(k, d[k]) for k in sorted(d, key=key) if k not in ignored]

    def __setattr__(self, name, value):
        # As TF's tracking: a plain list or dict becomes a ListWrapper / DictWrapper, so
        # that Variables added to it later are saved and restored (delayed restoration);
        # a restore waiting for this attribute is completed now. (Keras layers set
        # attributes their own way and keep Keras's containers.)
        from tapeflow.train import data_structures, deferred
        object.__setattr__(self, name, data_structures.wrap(value))
        deferred.notify(self)

    def _trackable_children(self) -> dict:
        """Attribute name -> value for each attribute holding Variables or Modules.

        Every instance attribute counts (private ones too, as TF's tracking does),
        read directly, not through a subclass's walk order; lists, tuples and dicts
        are returned as they are, for a checkpoint to walk into (items by index / key).
        """
        out = {}
        for key, value in Module._module_attributes(self):
            if any(_is_variable(x) or _is_module(x) for x in nest.flatten(value)):
                out[key] = value
        return out

    @classmethod
    def with_name_scope(cls, method):
        """Decorator: runs `method` inside the Module's name scope.

            >>> import tapeflow as tf
            >>> class Lazy(tf.Module):
            ...     @tf.Module.with_name_scope
            ...     def __call__(self, x):
            ...         if not hasattr(self, 'w'):
            ...             self.w = tf.Variable(tf.ones([x.shape[1], 2]))
            ...         return tf.matmul(x, self.w)
            >>> m = Lazy()
            >>> _ = m(tf.ones([1, 3]))
            >>> m.w.name
            'lazy/Variable:0'
        """
        @functools.wraps(method)
        def method_with_name_scope(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return method_with_name_scope


def _scope_path(name: str) -> str:
    outer = current_scope()
    return f"{outer}/{name}/" if outer else f"{name}/"


def _leaves_with_paths(value, path):
    """(path, leaf) for each leaf of a nested list/tuple/dict (dicts in sorted-key order)."""
    if not nest.is_nested(value):
        yield path, value
        return
    if isinstance(value, Mapping):
        for k in nest._sorted_keys(value):
            yield from _leaves_with_paths(value[k], path + (k,))
    else:
        for i, v in enumerate(value):
            yield from _leaves_with_paths(v, path + (i,))


def _walk(module, recursive, predicate, with_path, module_path, seen, stack, key=None):
    """A Module's own attribute leaves first, then each sub-Module met, depth first.

    `seen` holds ids already reported (unless paths are wanted); `stack` the ids
    of Modules being walked, so that a cycle back to one stops the recursion.
    """
    if id(module) in stack:
        recursive = False
    found = []
    for name, value in module._module_attributes(key):
        for leaf_path, leaf in _leaves_with_paths(value, (name,)):
            if not with_path:
                if id(leaf) in seen:
                    continue
                seen.add(id(leaf))
            if predicate(leaf):
                yield (module_path + leaf_path, leaf) if with_path else leaf
            if recursive and _is_module(leaf):
                found.append((module_path + leaf_path, leaf))
    stack.append(id(module))
    for path, sub in found:
        yield from _walk(sub, recursive, predicate, with_path, path, seen, stack, key)
    stack.pop()
