"""Converting functions: `convert`, `converted_call`, `to_code`, `do_not_convert`.

A user function is converted once per code object: its source is parsed,
rewritten by `transformer.convert_function` and compiled with the original
file name and line numbers (so tracebacks show the user's lines), inside a
factory whose free variables are `ag__` (the operators) and the function's
own free variables. Each conversion then builds a function over the original
closure cells and globals, so `nonlocal` and module state stay shared.

Only user code is converted: functions of tapeflow, of the standard library
and of installed packages run as they are.

    >>> import tapeflow as tf
    >>> def clip_sum(x):
    ...     s = 0.0
    ...     for v in x:
    ...         if v > 1.0:
    ...             v = 1.0
    ...         s += v
    ...     return s
    >>> float(tf.function(clip_sum)(tf.constant([0.5, 3.0, 0.25])))
    1.75
"""
from __future__ import annotations

import ast
import functools
import inspect
import logging
import os
import sysconfig
import textwrap
import types
import weakref

from tapeflow.framework.api_export import WRAPPER_FILENAME
from tapeflow.function.autograph import loops, operators, transformer

logger = logging.getLogger("tapeflow")
_WRAPPER_PREFIX = WRAPPER_FILENAME.split("{")[0]
_VERBOSITY = [0]
_CODE_CACHE: dict = {}                      # code object -> (converted code, source) or None
_FUNCTION_CACHE = weakref.WeakKeyDictionary()   # function -> converted function
_NOT_CONVERTED = "__tapeflow_do_not_convert__"

_LIBRARY_DIRS = tuple(sorted({os.path.realpath(p) for p in (
    sysconfig.get_paths().get("stdlib"), sysconfig.get_paths().get("purelib"),
    sysconfig.get_paths().get("platlib"), os.path.dirname(os.__file__)) if p})) + (
    operators._PACKAGE_DIR,)
_LIBRARY_MODULES = frozenset({"tapeflow", "numpy", "tensorflow", "keras", "scipy", "builtins",
                              "functools", "collections", "itertools"})


def set_verbosity(level, alsologtostdout=False):
    """`tf.autograph.set_verbosity`: >0 logs which functions are converted and why not."""
    _VERBOSITY[0] = int(level)


def _log(level, msg, *args):
    if _VERBOSITY[0] >= level:
        logger.info(msg, *args)


def do_not_convert(func=None):
    """`tf.autograph.experimental.do_not_convert`: run `func` as written inside tf.function."""
    if func is None:
        return do_not_convert

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    setattr(wrapper, _NOT_CONVERTED, True)
    return wrapper


def is_user_code(f) -> bool:
    """Whether `f` is a Python function written by the user (not tapeflow's or a library's)."""
    if not isinstance(f, types.FunctionType) or getattr(f, _NOT_CONVERTED, False):
        return False
    code = f.__code__
    if code.co_filename.startswith(_WRAPPER_PREFIX):
        return False        # a public function's generated wrapper (framework/api_export.py)
    module = (getattr(f, "__module__", None) or "").split(".")[0]
    # Code typed at a prompt or in a doctest is the user's, whatever module runs it.
    if module in _LIBRARY_MODULES and not code.co_filename.startswith("<"):
        return False
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE |
                        inspect.CO_ASYNC_GENERATOR):
        return False
    path = os.path.realpath(code.co_filename)
    return not any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


# -- conversion ------------------------------------------------------------------------------

def _parse(f):
    """The FunctionDef of `f`, lines numbered as in its file; None when unavailable."""
    try:
        lines, first = inspect.getsourcelines(f)
    except (OSError, TypeError):
        return None
    source = textwrap.dedent("".join(lines))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    ast.increment_lineno(tree, first - 1)
    if f.__name__ == "<lambda>":
        return _lambda_def(f, tree)
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef) or \
            tree.body[0].name != f.__name__:
        return None                            # source we cannot isolate
    fdef = tree.body[0]
    fdef.decorator_list = []
    return fdef


def _lambda_def(f, tree):
    """`def lambda_(args): return body` for the one lambda of `f`'s line, or None."""
    code = f.__code__
    n_args = code.co_argcount + code.co_kwonlyargcount
    params = list(code.co_varnames[:n_args])
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)
             and n.lineno == code.co_firstlineno
             and [a.arg for a in n.args.posonlyargs + n.args.args + n.args.kwonlyargs] == params]
    if len(found) != 1:
        return None                            # none, or several alike on one line
    lam = found[0]
    fdef = transformer._def("lambda_", [], [ast.Return(value=lam.body)])
    fdef.args = lam.args
    return ast.copy_location(fdef, lam)


def _convert_code(f):
    code = f.__code__
    hit = _CODE_CACHE.get(code, False)
    if hit is not False:
        return hit
    fdef = _parse(f)
    if fdef is None:
        _log(1, "AutoGraph could not read the source of %s; it runs unconverted.", f)
        _CODE_CACHE[code] = None
        return None
    fdef = transformer.convert_function(fdef, "__class__" in code.co_freevars)
    display = ast.unparse(fdef)
    freevars = list(code.co_freevars)
    factory = transformer._def("ag__factory", ["ag__"] + freevars,
                               [fdef, ast.Return(value=transformer._name(fdef.name))])
    module = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(module)
    compiled = compile(module, code.co_filename, "exec", dont_inherit=True)
    factory_code = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in factory_code.co_consts
                 if isinstance(c, types.CodeType) and c.co_name == fdef.name)
    _CODE_CACHE[code] = (inner, display)
    return _CODE_CACHE[code]


def convert(f):
    """The converted version of user function `f` (or `f` itself when it is not converted)."""
    if type(f) is types.MethodType:
        inner = convert(f.__func__)
        return f if inner is f.__func__ else types.MethodType(inner, f.__self__)
    try:
        hit = _FUNCTION_CACHE.get(f)
    except TypeError:
        hit = None
    if hit is not None:
        return hit
    if not is_user_code(f) or "ag__" in f.__code__.co_freevars:     # (already converted)
        return f
    converted = _convert_code(f)
    if converted is None:
        return f
    inner = converted[0]
    cells = dict(zip(f.__code__.co_freevars, f.__closure__ or ()))
    cells["ag__"] = types.CellType(AG)
    closure = tuple(cells[n] for n in inner.co_freevars)
    new = types.FunctionType(inner, f.__globals__, f.__name__, f.__defaults__, closure)
    new.__kwdefaults__ = f.__kwdefaults__
    new.__qualname__, new.__module__, new.__doc__ = f.__qualname__, f.__module__, f.__doc__
    new.__dict__.update(f.__dict__)
    _log(2, "AutoGraph converted %s", f.__qualname__)
    try:
        _FUNCTION_CACHE[f] = new
    except TypeError:
        pass
    return new


def converted_call(f, args, kwargs):
    """Calls `f(*args, **kwargs)` from converted code, converting `f` when it is user code."""
    from tapeflow.function.polymorphic import Function
    if isinstance(f, Function):
        return f(*args, **kwargs)
    if type(f) is types.MethodType and f.__name__ == "get_next" and \
            _is_dataset_iterator(f.__self__):
        f, args = next, (f.__self__,)
    if f is next and args and _is_dataset_iterator(args[0]):
        from tapeflow.framework.context import state
        if state.graph is not None:
            return loops.iterator_next(args[0])
    if type(f) is types.MethodType and isinstance(f.__func__, types.FunctionType):
        target = convert(f.__func__)
        if target is not f.__func__:
            return target(f.__self__, *args, **kwargs)
        return f(*args, **kwargs)
    if type(f) is types.FunctionType:
        return convert(f)(*args, **kwargs)
    if type(f) is functools.partial:
        return converted_call(f.func, f.args + tuple(args), {**f.keywords, **kwargs})
    call = None if isinstance(f, type) else next(
        (c.__dict__["__call__"] for c in type(f).__mro__ if "__call__" in c.__dict__), None)
    if isinstance(call, types.FunctionType) and is_user_code(call):   # a user callable object
        return convert(call)(f, *args, **kwargs)
    if f is enumerate and args and loops._is_dataset(args[0]):       # as TF: dataset ops
        return args[0].enumerate(*args[1:], **kwargs)
    if f is zip and args and all(loops._is_dataset(a) for a in args):
        from tapeflow.data.dataset import Dataset
        return Dataset.zip(tuple(args))
    if f is len and args and operators.is_symbolic(args[0]):
        return _len(args[0])
    if f is range and any(operators.is_symbolic(a) for a in args):
        from tapeflow.ops.array_ops import range as tf_range
        return tf_range(*args)
    return f(*args, **kwargs)


def _is_dataset_iterator(x) -> bool:
    from tapeflow.data.dataset import DatasetIterator
    return isinstance(x, DatasetIterator)


def _len(x):
    from tapeflow.ops import array_ops
    if x.shape.rank is not None and x.shape.rank > 0 and x.shape[0] is not None:
        return x.shape[0]
    if x.shape.rank == 0:
        raise operators.user_error(ValueError, "len requires a non-scalar tensor, got one of "
                                   f"shape {x.shape}")
    return array_ops.shape(x)[0]


def to_code(entity, recursive=True, experimental_optional_features=None):
    """`tf.autograph.to_code`: the source AutoGraph makes of `entity` (a function or method).

    Example:
        >>> import tapeflow as tf
        >>> def relu(x):
        ...     if x > 0:
        ...         return x
        ...     return 0.0
        >>> print(tf.autograph.to_code(relu).splitlines()[0])
        def relu(x):
    """
    f = getattr(entity, "python_function", entity)
    f = getattr(f, "__func__", f)
    if not isinstance(f, types.FunctionType):
        raise TypeError(f"to_code expects a Python function or method; got {entity!r}.")
    converted = _convert_code(f)
    if converted is None:
        raise ValueError(f"AutoGraph could not read the source of {f.__qualname__}: "
                         "source code is needed to convert a function.")
    return converted[1] + "\n"


def to_graph(entity, recursive=True, experimental_optional_features=None):
    """`tf.autograph.to_graph`: the converted Python function."""
    f = getattr(entity, "python_function", entity)
    return convert(f)


AG = types.SimpleNamespace(
    converted_call=converted_call, if_stmt=operators.if_stmt, while_stmt=loops.while_stmt,
    for_stmt=loops.for_stmt, and_=operators.and_, or_=operators.or_, not_=operators.not_,
    if_exp=operators.if_exp, assert_stmt=operators.assert_stmt, get_vars=operators.get_vars,
    retval=operators.retval, ld=operators.ld,
    UndefinedReturnValue=operators.UndefinedReturnValue, Undefined=operators.Undefined)

