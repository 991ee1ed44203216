"""AutoGraph's source rewrite: Python control flow as calls into `operators`.

`convert_function(fdef)` rewrites one `ast.FunctionDef` in four passes:

1. `return` inside `if`/loops becomes `do_return_ = True; retval_ = value`.
   When one branch of an `if` always returns, the statements after the `if`
   move into the other branch; otherwise they are guarded by
   `if not do_return_:`. The function ends with `return ag__.retval(retval_)`.
2. `break`/`continue` become flags (`break_1`, `continue_1`) that guard the
   rest of the loop body; a `break` flag also ends the loop (it joins the
   `while` test, or is the extra test of a `for`).
3. `if`/`while`/`for` statements become local functions over the variables
   the statement assigns, and a call such as
   `(x, y) = ag__.if_stmt(test, if_true, if_false, ag__.get_vars(locals(), names), ...)`.
   The operator decides at trace time: a Python (or eager) condition runs the
   Python statement as before, a symbolic one builds `tf.cond`/`tf.while_loop`.
4. `and`/`or`/`not`, `a if c else b` and calls become `ag__` calls, so that
   they work on tensors and called user functions are converted too.

Generated nodes carry the line of the statement they replace, so tracebacks
and AutoGraph's errors name the user's line.
"""
from __future__ import annotations

import ast
import collections

PREFIX = "ag__"
DO_RETURN = "do_return_"
RETVAL = "retval_"
# Calls left as they are: they inspect the calling frame, or are cheap and tensor-free.
_UNWRAPPED_CALLS = frozenset({"super", "locals", "globals", "vars", "eval", "exec", "print",
                              "isinstance", "issubclass", "getattr", "hasattr", "setattr",
                              "type", "id", "callable"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp)
_LOOPS = (ast.While, ast.For)


# -- small AST helpers ------------------------------------------------------------------------

def _name(id_, ctx=None):
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def _const(v):
    return ast.Constant(value=v)


def _ag(attr):
    return ast.Attribute(value=_name(PREFIX), attr=attr, ctx=ast.Load())


def _call(func, *args, **kwargs):
    return ast.Call(func=func, args=list(args),
                    keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


def _assign(target, value):
    return ast.Assign(targets=[_name(target, ast.Store())], value=value)


def _tuple(names, ctx=None):
    return ast.Tuple(elts=[_name(n, ctx) for n in names], ctx=ctx or ast.Load())


def _str_tuple(names):
    return ast.Tuple(elts=[_const(n) for n in names], ctx=ast.Load())


def _not(flag):
    return ast.UnaryOp(op=ast.Not(), operand=_name(flag))


def _locate(node, origin):
    """Gives a generated node the first line of `origin` (tracebacks show that line)."""
    if not hasattr(origin, "lineno"):
        return node
    node.lineno = node.end_lineno = origin.lineno
    node.col_offset = origin.col_offset
    node.end_col_offset = origin.col_offset + 1
    return node


def _filled(node, origin):
    """`node` with `origin`'s location on every part that has none (generated expressions)."""
    for child in ast.walk(node):
        if not hasattr(child, "lineno") and "lineno" in child._attributes:
            ast.copy_location(child, origin)
    return node


def _located(nodes, origin):
    for n in nodes:
        _locate(n, origin)
        for child in ast.walk(n):
            if not hasattr(child, "lineno") and "lineno" in child._attributes:
                _locate(child, origin)
    return nodes


def _args(names):
    return ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def _def(name, params, body):
    node = ast.FunctionDef(name=name, args=_args(params), body=body or [ast.Pass()],
                           decorator_list=[], returns=None)
    if "type_params" in ast.FunctionDef._fields:        # Python 3.12+
        node.type_params = []
    return node


def _walk_scope(node):
    """Nodes under `node`, not entering nested functions, lambdas, classes, comprehensions."""
    todo = list(ast.iter_child_nodes(node)) if not isinstance(node, list) else list(node)
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, _SCOPES):
            todo.extend(ast.iter_child_nodes(n))


def assigned_names(stmts) -> list:
    """Names the statements bind in the current scope, sorted, generated helpers excluded."""
    out = set()
    for n in _walk_scope(stmts):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
    return sorted(x for x in out if not x.startswith(PREFIX))


def _loads(node) -> collections.Counter:
    return collections.Counter(n.id for n in ast.walk(node)
                               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def _contains(stmts, kinds, stop=_SCOPES + _LOOPS):
    """Whether `kinds` occur in `stmts` (not inside `stop` nodes other than the roots)."""
    todo = list(stmts)
    while todo:
        n = todo.pop()
        if isinstance(n, kinds):
            return True
        if not isinstance(n, stop):
            todo.extend(ast.iter_child_nodes(n))
    return False


# -- pass 1 and 2: return, break, continue as flags -------------------------------------------

def _always(stmts, kind) -> bool:
    """Whether the block always ends in `kind` (Return, Break or Continue)."""
    for s in stmts:
        if isinstance(s, kind):
            return True
        if isinstance(s, ast.If) and _always(s.body, kind) and _always(s.orelse, kind):
            return True
    return False


class _Jumps:
    """Rewrites one kind of jump into `flag = True` and guards what follows it."""

    def __init__(self, kind, flag, replace):
        self.kind, self.flag, self.replace = kind, flag, replace
        self.depth = 0          # loops entered (a return in a nested loop leaves them all)

    def block(self, stmts):
        """The rewritten block; statements after a possible jump run only `if not flag`."""
        out = []
        for idx, s in enumerate(stmts):
            rest = stmts[idx + 1:]
            if isinstance(s, self.kind):
                out.extend(_located(self.replace(s), s))
                return out
            if isinstance(s, ast.If):
                b_always, o_always = _always(s.body, self.kind), _always(s.orelse, self.kind)
                body, orelse = s.body, s.orelse
                moved = bool(rest) and b_always != o_always
                if b_always and not o_always and rest:
                    orelse, rest = orelse + rest, []
                elif o_always and not b_always and rest:
                    body, rest = body + rest, []
                may = self.may(body) or self.may(orelse)
                s.body = self.block(body) or [ast.Pass()]
                s.orelse = self.block(orelse)
                out.append(s)
                if (b_always and o_always) or moved:
                    return out
                if may and rest:
                    out.append(self.guard(rest, s))
                    return out
                continue
            if self.may([s]):
                self.enter(s)
                out.append(s)
                if isinstance(s, _LOOPS) and self.depth:
                    out.append(_located([ast.If(test=_name(self.flag), body=[ast.Break()],
                                                orelse=[])], s)[0])
                if rest:
                    out.append(self.guard(rest, s))
                return out
            out.append(s)
        return out

    def may(self, stmts) -> bool:
        stop = _SCOPES if self.kind is ast.Return else _SCOPES + _LOOPS
        return _contains(stmts, self.kind, stop)

    def enter(self, s):
        if isinstance(s, (ast.With, ast.AsyncWith)):
            s.body = self.block(s.body)
        elif isinstance(s, ast.Try):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
            s.finalbody = self.block(s.finalbody)
            for h in s.handlers:
                h.body = self.block(h.body) or [ast.Pass()]
        elif isinstance(s, _LOOPS):
            self.depth += 1
            s.body = self.block(s.body) or [ast.Pass()]
            self.depth -= 1

    def guard(self, rest, origin):
        node = ast.If(test=_not(self.flag), body=self.block(rest) or [ast.Pass()], orelse=[])
        return _located([node], origin)[0]


def lower_returns(fdef):
    """Pass 1: returns nested in control flow become `do_return_`/`retval_` assignments."""
    nested = any(_contains(s.body + getattr(s, "orelse", []), ast.Return, _SCOPES)
                 for s in _walk_scope(fdef) if isinstance(s, (ast.If,) + _LOOPS))
    if not nested:
        return

    def replace(ret, in_loop=False):
        value = ret.value if ret.value is not None else _const(None)
        return [_assign(DO_RETURN, _const(True)), _assign(RETVAL, value)]

    jumps = _Jumps(ast.Return, DO_RETURN, replace)
    # Inside a loop a return also leaves the loop: append a `break` (lowered in pass 2).
    for loop in [n for n in _walk_scope(fdef) if isinstance(n, _LOOPS)]:
        for n in _walk_scope(loop):
            if isinstance(n, ast.Return):
                n._ag_break = True
    jumps.replace = lambda r: replace(r) + ([ast.Break()] if getattr(r, "_ag_break", False)
                                            else [])
    body = jumps.block(fdef.body)
    head = [_assign(DO_RETURN, _const(False)),
            _assign(RETVAL, _call(_ag("UndefinedReturnValue")))]
    tail = [ast.Return(value=_call(_ag("retval"), _name(RETVAL)))]
    fdef.body = _located(head, fdef.body[0]) + body + _located(tail, fdef.body[-1])


class _LoopJumps(ast.NodeTransformer):
    """Pass 2: break/continue of each loop become flags (innermost loops first)."""

    def __init__(self):
        self.count = 0

    def visit_FunctionDef(self, node):      # nested functions: converted on their own
        if getattr(node, "_ag_root", False):
            self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = visit_FunctionDef

    def visit_While(self, node):
        self.generic_visit(node)
        flag = self.lower(node)
        if flag is None:
            return node
        return _located([_assign(flag, _const(False))], node) + [node]

    visit_For = visit_While

    def lower(self, loop):
        stop = _SCOPES + _LOOPS
        if _contains(loop.body, ast.Continue, stop):
            self.count += 1
            flag = f"continue_{self.count}"
            jumps = _Jumps(ast.Continue, flag, lambda s: [_assign(flag, _const(True))])
            loop.body = _located([_assign(flag, _const(False))], loop) + jumps.block(loop.body)
        if _contains(loop.body, ast.Break, stop):
            self.count += 1
            flag = f"break_{self.count}"
            jumps = _Jumps(ast.Break, flag, lambda s: [_assign(flag, _const(True))])
            loop.body = jumps.block(loop.body) or [ast.Pass()]
            loop._ag_break = flag
            if isinstance(loop, ast.While):
                loop.test = ast.BoolOp(op=ast.And(), values=[_not(flag), loop.test])
            return flag
        return None


# -- pass 3 and 4: statements and expressions as operator calls ------------------------------

class _ControlFlow(ast.NodeTransformer):
    """Rewrites if/while/for (innermost first) and and/or/not/calls into `ag__` calls."""

    def __init__(self, loads, has_class_cell, first_arg, globals_=()):
        self.loads = loads            # Name loads in the whole function (for liveness)
        self.globals = set(globals_)  # names the function declares `global`
        self.count = 0
        self.has_class_cell = has_class_cell
        self.first_arg = first_arg

    def _live_after(self, inner, names):
        """Names read somewhere outside the statement whose own reads are `inner` (counted
        before its children were rewritten): a conservative liveness estimate."""
        return [n for n in names if self.loads[n] > inner[n] or n in (DO_RETURN, RETVAL)]

    def _split(self, names):
        """(local names, global names): globals are declared in each generated function."""
        return ([n for n in names if n not in self.globals],
                [n for n in names if n in self.globals])

    def _def(self, name, params, body, declared):
        node = _def(name, params, body)
        if declared:
            node.body.insert(0, ast.Global(names=list(declared)))
        return node

    def _state(self, names):
        return _call(_ag("get_vars"), _call(_name("locals")), _str_tuple(names))

    def _result(self, names, call, origin):
        target = _tuple(names, ast.Store()) if names else _name("_", ast.Store())
        return ast.Assign(targets=[target], value=call)

    def visit_FunctionDef(self, node):
        if getattr(node, "_ag_root", False):
            self.generic_visit(node)
            return node
        return convert_function(node, self.has_class_cell)

    def visit_If(self, node):
        live_node = _loads(node)
        self.generic_visit(node)
        self.count += 1
        k = self.count
        names, declared = self._split(assigned_names(node.body + node.orelse))
        live = self._live_after(live_node, names)
        ret = [ast.Return(value=_tuple(names))]
        body = self._def(f"{PREFIX}if_true_{k}", names, node.body + ret, declared)
        orelse = self._def(f"{PREFIX}if_false_{k}", names, node.orelse + ret, declared)
        call = _call(_ag("if_stmt"), node.test, _name(body.name), _name(orelse.name),
                     self._state(names), _str_tuple(names), _str_tuple(live))
        return _located([body, orelse, self._result(names, call, node)], node)

    def _loop_options(self, node):
        """`tf.autograph.experimental.set_loop_options(...)` in a body: moved to the call."""
        opts, body = None, []
        for s in node.body:
            if (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                    and isinstance(s.value.func, ast.Attribute)
                    and s.value.func.attr == "set_loop_options"):
                opts = ast.Dict(keys=[_const(k.arg) for k in s.value.keywords],
                                values=[k.value for k in s.value.keywords])
            else:
                body.append(s)
        node.body = body or [ast.Pass()]
        return opts or _const(None)

    def visit_While(self, node):
        if node.orelse:
            self.generic_visit(node)
            return node
        live_node = _loads(node)
        opts = self._loop_options(node)
        self.generic_visit(node)
        self.count += 1
        k = self.count
        names, declared = self._split(assigned_names(node.body))
        live = self._live_after(live_node, names)
        test = _def(f"{PREFIX}while_test_{k}", names, [ast.Return(value=node.test)])
        body = self._def(f"{PREFIX}while_body_{k}", names,
                         node.body + [ast.Return(value=_tuple(names))], declared)
        call = _call(_ag("while_stmt"), _name(test.name), _name(body.name), self._state(names),
                     _str_tuple(names), _str_tuple(live), opts)
        return _located([test, body, self._result(names, call, node)], node)

    def visit_For(self, node):
        if node.orelse:
            self.generic_visit(node)
            return node
        live_node = _loads(node)
        opts = self._loop_options(node)
        self.generic_visit(node)
        self.count += 1
        k = self.count
        targets = set(assigned_names([ast.Assign(targets=[node.target], value=_const(0))]))
        # The loop's target is a loop variable only when read after the loop (its last value).
        kept = set(self._live_after(live_node, sorted(targets)))
        names, declared = self._split(sorted((set(assigned_names(node.body)) - targets) | kept))
        live = self._live_after(live_node, names)
        item = f"{PREFIX}item_{k}"
        unpack = ast.Assign(targets=[node.target], value=_name(item))
        body = self._def(f"{PREFIX}for_body_{k}", [item] + names,
                         [unpack] + node.body + [ast.Return(value=_tuple(names))], declared)
        defs = [body]
        flag = getattr(node, "_ag_break", None)
        extra = _const(None)
        if flag is not None:
            test = _def(f"{PREFIX}for_test_{k}", names,
                        [ast.Return(value=_call(_ag("not_"), _name(flag)))])
            defs.insert(0, test)
            extra = _name(test.name)
        call = _call(_ag("for_stmt"), node.iter, extra, _name(body.name), self._state(names),
                     _str_tuple(names), _str_tuple(live), opts)
        return _located(defs + [self._result(names, call, node)], node)

    def visit_Assert(self, node):
        self.generic_visit(node)
        message = _thunk(node.msg) if node.msg is not None else _const(None)
        call = ast.Expr(value=_call(_ag("assert_stmt"), node.test, message))
        return _located([call], node)[0]

    def visit_Return(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name):     # a variable a Python `if` may have left unset
            node.value = _filled(_call(_ag("ld"), node.value), node.value)
        return node

    # -- expressions ------------------------------------------------------------------------
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        fn = _ag("and_" if isinstance(node.op, ast.And) else "or_")
        result = node.values[-1]
        for value in reversed(node.values[:-1]):
            result = _call(fn, _thunk(value), _thunk(result))
        return _filled(result, node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return _filled(_call(_ag("not_"), node.operand), node)
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return _filled(
            _call(_ag("if_exp"), node.test, _thunk(node.body), _thunk(node.orelse)), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "super" and not node.args \
                and self.has_class_cell and self.first_arg:
            node.args = [_name("__class__"), _name(self.first_arg)]
            return node
        if isinstance(func, ast.Name) and func.id in _UNWRAPPED_CALLS:
            return node
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == PREFIX:
            return node
        args = ast.Tuple(elts=node.args, ctx=ast.Load())
        kw = ast.Dict(keys=[_const(k.arg) if k.arg else None for k in node.keywords],
                      values=[k.value for k in node.keywords])
        return _filled(_call(_ag("converted_call"), func, args, kw), node)


def _thunk(expr):
    return ast.Lambda(args=_args([]), body=expr)


def convert_function(fdef, has_class_cell=False):
    """Rewrites `fdef` (an `ast.FunctionDef`, changed in place) as described above."""
    fdef._ag_root = True
    lower_returns(fdef)
    _LoopJumps().visit(fdef)
    loads = _loads(fdef)
    args = fdef.args.posonlyargs + fdef.args.args
    first = args[0].arg if args else None
    declared = {n for s in _walk_scope(fdef) if isinstance(s, ast.Global) for n in s.names}
    _ControlFlow(loads, has_class_cell, first, declared).visit(fdef)
    del fdef._ag_root
    return fdef
