"""Public names, declared where each function is defined, and the namespaces built from them.

A public function says its TensorFlow names with `tf_export` (or through the
factory that makes it)::

    @tf_export("math.add", "add")          # canonical name first, as TF lists it
    def add(x, y, name=None): ...

The decorator returns the function unchanged: tapeflow's own code calls it
directly. The `tf.*` namespace modules (`tapeflow/math.py`, ...) are filled by
`namespace("math")` with a thin wrapper per function (`public_function`) that
has the function's exact signature and passes the call through.

The wrapper is where a call on a tensor that has no value yet is caught: such a
tensor (a placeholder of a model under construction) raises `NoValueError` when
an op reads its value, and the wrapper of the public function the user called
offers the whole call, under its declared name, to the registered dispatchers
(`add_dispatcher`). Keras registers one that turns the call into one layer of
the model. This module knows nothing of what a dispatcher does.

    >>> import tapeflow as tf
    >>> from tapeflow.framework import api_export
    >>> api_export.api_names(tf.reduce_sum)
    ('math.reduce_sum', 'reduce_sum')
    >>> api_export.api_names(tf.nn.relu)
    ('nn.relu',)
"""
from __future__ import annotations

import functools
import inspect
import threading

_API_NAMES = "_tf_api_names"        # attribute the declared names are kept in
_EXPORTS: dict = {}                 # namespace ('' is top level) -> {attribute: function}
_WRAPPERS: dict = {}                # id(function) -> its public wrapper
_DISPATCHERS: list = []


class _Depth(threading.local):
    """How many public calls are running in this thread (per thread, as the rest of
    tapeflow's execution state): code that would record a call itself (a Keras
    tensor's operator) leaves it to the public function the user called when one
    is running."""

    n = 0


_depth = _Depth()

# The file name the generated wrappers are compiled under (AutoGraph leaves them alone).
WRAPPER_FILENAME = "<tapeflow public {}>"


class NoValueError(TypeError):
    """Raised by reading the value of a tensor that has none yet.

    A public function's wrapper catches it and offers the call to the
    dispatchers; escaping anywhere else, it is the TypeError of an API that
    cannot take such a tensor.
    """


def tf_export(*names: str):
    """Declares `names` ('math.add', 'add') as the public names of the decorated function.

    The first name is the canonical one (the name TensorFlow gives the function
    first; it names a recorded Keras layer, 'tf.math.add').
    """
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"tf_export expects one or more public names, received {names!r}")

    def declare(fn):
        setattr(fn, _API_NAMES, tuple(names))
        for full in names:
            space, _, attr = full.rpartition(".")
            table = _EXPORTS.setdefault(space, {})
            if attr in table and table[attr] is not fn:
                raise ValueError(f"tf.{full} is declared twice: by {table[attr].__qualname__} "
                                 f"and by {fn.__qualname__}")
            table[attr] = fn
        return fn
    return declare


def export(fn, names):
    """`tf_export(*names)(fn)` for factories, which also name `fn` after its canonical
    name (one `def` makes many functions); `names` is a string or a tuple of them."""
    names = (names,) if isinstance(names, str) else tuple(names)
    fn.__name__ = fn.__qualname__ = names[0].rpartition(".")[2]
    return tf_export(*names)(fn)


def api_names(fn) -> tuple:
    """The declared public names of `fn` (or of the function a wrapper passes to); ()."""
    return getattr(fn, _API_NAMES, ())


def namespaces() -> dict:
    """{namespace: {attribute: function}} of every declaration made so far."""
    return {space: dict(table) for space, table in _EXPORTS.items()}


def namespace(space: str) -> dict:
    """{attribute: public wrapper} of the functions declared in `space` ('math', '');
    a declared class (`tf.autodiff.ForwardAccumulator`) is held as itself."""
    return {attr: fn if isinstance(fn, type) else public_function(fn)
            for attr, fn in _EXPORTS.get(space, {}).items()}


def in_public_call() -> bool:
    """True while a public function (through its namespace wrapper) is running."""
    return _depth.n > 0


def add_dispatcher(dispatcher) -> None:
    """Registers `dispatcher(symbol, fn, args, kwargs)`, asked to take a public call
    that read a tensor with no value; it returns the result or NotImplemented."""
    _DISPATCHERS.append(dispatcher)


def dispatch(fn, args, kwargs, error, symbol=None):
    """Offers `fn(*args, **kwargs)` (named `symbol`, by default `fn`'s canonical name)
    to the dispatchers; re-raises `error` if none takes it."""
    symbol = symbol or api_names(fn)[0]
    for dispatcher in _DISPATCHERS:
        out = dispatcher(symbol, fn, args, kwargs)
        if out is not NotImplemented:
            return out
    raise error


def public_operator(fn, symbol):
    """`fn` bound as an operator of a class whose instances never hold a deferred value
    themselves (Variable): a call with such a value on the other side (`variable + x`
    with `x` a Keras tensor) is offered to the dispatchers as `symbol`."""
    def operator(*args):
        try:
            return fn(*args)
        except NoValueError as e:
            if _depth.n:
                raise           # inside a public function: its wrapper takes the call
            return dispatch(fn, args, {}, e, symbol)
    operator.__name__ = getattr(fn, "__name__", "operator")
    return operator


def public_function(fn):
    """The wrapper the public namespaces hold for `fn`: same signature, same metadata.

    Generated with `fn`'s exact parameters, so that passing the call through
    costs one plain Python call and a counter (`in_public_call`); a `*args,
    **kwargs` wrapper costs several times as much, and every eager op the user
    calls goes through it.
    """
    wrapper = _WRAPPERS.get(id(fn))
    if wrapper is None:
        wrapper = _WRAPPERS[id(fn)] = _make_wrapper(fn)
    return wrapper


def _make_wrapper(fn):
    P = inspect.Parameter
    params = list(inspect.signature(fn).parameters.values())
    last_positional_only = max((i for i, p in enumerate(params) if p.kind is P.POSITIONAL_ONLY),
                               default=None)
    decl, pos, kw, star, starstar = [], [], [], None, None
    for i, p in enumerate(params):
        if p.kind is P.VAR_POSITIONAL:
            star = p.name
            decl.append(f"*{p.name}")
        elif p.kind is P.VAR_KEYWORD:
            starstar = p.name
            decl.append(f"**{p.name}")
        else:
            if p.kind is P.KEYWORD_ONLY:
                if star is None and "*" not in decl:
                    decl.append("*")
                kw.append(p.name)
            else:
                pos.append(p.name)
            # Placeholder defaults; the real ones are copied onto the wrapper below.
            decl.append(p.name if p.default is P.empty else f"{p.name}=None")
        if i == last_positional_only:
            decl.append("/")
    args = "(" + "".join(f"{a}, " for a in pos) + (f"*{star}, " if star else "") + ")"
    kwargs = "{" + "".join(f"{k!r}: {k}, " for k in kw) + (f"**{starstar}" if starstar else "")
    call = ", ".join(pos + ([f"*{star}"] if star else []) + [f"{k}={k}" for k in kw]
                     + ([f"**{starstar}"] if starstar else []))
    source = (f"def {fn.__name__}({', '.join(decl)}):\n"
              f"    _tf_depth_.n += 1\n"
              f"    try:\n"
              f"        return _tf_fn_({call})\n"
              f"    except _tf_no_value_ as _tf_error_:\n"
              f"        return _tf_dispatch_(_tf_fn_, {args}, {kwargs}}}, _tf_error_)\n"
              f"    finally:\n"
              f"        _tf_depth_.n -= 1\n")
    scope = {"_tf_fn_": fn, "_tf_no_value_": NoValueError, "_tf_dispatch_": dispatch,
             "_tf_depth_": _depth}
    exec(compile(source, WRAPPER_FILENAME.format(fn.__name__), "exec"), scope)
    wrapper = functools.wraps(fn)(scope[fn.__name__])
    wrapper.__defaults__ = fn.__defaults__
    wrapper.__kwdefaults__ = fn.__kwdefaults__
    return wrapper
