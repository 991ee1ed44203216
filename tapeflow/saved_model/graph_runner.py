"""Runs TensorFlow `FunctionDef`s with tapeflow's ops: the SavedModel reader's interpreter.

A `FunctionDef` is a list of `NodeDef`s (op name, inputs, attributes) between named
input and output arguments. `FunctionLibrary.program(name)` compiles one once: inputs
parsed (`x` an argument, `node:out_arg:i` an output, `^node` a control edge), attributes
decoded, nodes put in dependency order (control edges included, so a variable update
runs before the read that depends on it). `Program.run` then executes the nodes with the
rules of `import_ops`, which call tapeflow's public ops, so the same run works eagerly,
inside tf.function tracing and under GradientTape.

`FunctionLibrary.check(name)` finds, before anything runs, an op no rule knows, in the
function or in any function it calls (`StatefulPartitionedCall`'s `f`, `If`'s branches,
`While`'s cond and body).
"""
from __future__ import annotations

from tapeflow.framework.context import state
from tapeflow.saved_model import import_ops
from tapeflow.saved_model.structure_decoder import (
    SavedModelFormatError,
    decode_shape,
    decode_tensor,
    to_dtype,
)
from tapeflow.saved_model.structure_decoder import DT_RESOURCE, DT_VARIANT


def _decode_attr(value):
    kind = value.WhichOneof("value")
    if kind == "type":
        return None if value.type in (DT_RESOURCE, DT_VARIANT) else to_dtype(value.type)
    if kind == "s":
        return value.s.decode("utf-8", "replace")
    if kind == "shape":
        return decode_shape(value.shape)
    if kind == "tensor":
        return decode_tensor(value.tensor)
    if kind == "func":
        return value.func.name
    if kind == "list":
        lst = value.list
        for field in ("i", "f", "b", "s", "type", "shape", "func"):
            items = getattr(lst, field)
            if len(items):
                if field == "s":
                    return [s.decode("utf-8", "replace") for s in items]
                if field == "type":
                    return [None if t in (DT_RESOURCE, DT_VARIANT) else to_dtype(t)
                            for t in items]
                if field == "shape":
                    return [decode_shape(s) for s in items]
                if field == "func":
                    return [f.name for f in items]
                return list(items)
        return []
    if kind is None:
        return None
    return getattr(value, kind)


# Attributes a rule never reads: placement and bookkeeping, some holding types the reader
# has no use for.
_SKIPPED_ATTRS = ("Tin", "Tout", "config_proto", "config", "executor_type", "T", "Tshape",
                  "Tpaddings", "Tmultiples", "Tindices", "Tparams", "Taxis")


def _decode_attrs(node):
    attrs = {}
    for key, value in node.attr.items():
        if key.startswith("_") and key != "_gradient_op_type" or key in _SKIPPED_ATTRS:
            continue
        attrs[key] = _decode_attr(value)
    return attrs


def _function_names(attrs):
    for key in ("f", "then_branch", "else_branch", "cond", "body"):
        if isinstance(attrs.get(key), str):
            yield attrs[key]


class _Node:
    __slots__ = ("name", "op", "rule", "inputs", "controls", "attrs")

    def __init__(self, proto, rule):
        self.name = proto.name
        self.op = proto.op
        self.rule = rule
        data = [i for i in proto.input if not i.startswith("^")]
        self.controls = [i[1:] for i in proto.input if i.startswith("^")]
        self.inputs = [_parse_ref(i) for i in data]
        self.attrs = _decode_attrs(proto)


def _parse_ref(ref: str):
    """(node, output_arg, index) for 'node:out:i', (name, None, 0) for an argument or a
    plain graph-style 'node' / 'node:i' reference."""
    parts = ref.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], int(parts[2])
    if len(parts) == 2:
        return parts[0], None, int(parts[1])
    return parts[0], None, 0


def _dependency_order(nodes, names):
    """Nodes sorted so that each follows its data and control inputs (stable otherwise)."""
    by_name = {n.name: n for n in nodes}
    deps = {n.name: {r[0] for r in n.inputs if r[0] in by_name} | set(n.controls) & names
            for n in nodes}
    order, done, visiting = [], set(), set()

    def visit(node):
        stack = [(node, iter(sorted(deps[node.name])))]
        visiting.add(node.name)
        while stack:
            current, pending = stack[-1]
            for dep in pending:
                if dep in done:
                    continue
                if dep in visiting:
                    raise SavedModelFormatError(f"the nodes around '{dep}' form a cycle")
                visiting.add(dep)
                stack.append((by_name[dep], iter(sorted(deps[dep]))))
                break
            else:
                stack.pop()
                visiting.discard(current.name)
                done.add(current.name)
                order.append(current)
    for n in nodes:
        if n.name not in done:
            visit(n)
    return order


class _Context:
    """What a rule sees of the running function: its op and node, nested calls, and the
    values computed so far (for a custom gradient's captured tensors)."""

    __slots__ = ("library", "op", "node", "program", "env", "streams")

    def __init__(self, library, program, env, streams):
        self.library = library
        self.streams = streams
        self.program = program
        self.env = env
        self.op = self.node = None

    def lookup(self, tensor_name):
        """The value of a graph-style tensor name (`x:0`, `mul:0`) of this function."""
        return self.program._lookup(self.env, _parse_ref(tensor_name))

    def call(self, name, inputs):
        # The callee's random nodes keep streams of their own per calling node, as in TF,
        # where nested calls are inlined: each call site has its own kernels.
        streams = self.streams.setdefault((self.node, name), {})
        return self.library.program(name).run(inputs, streams)

    def variable_named(self, shared_name):
        return self.library.variable_named(shared_name)


class Program:
    """One compiled `FunctionDef`: `run(flat_inputs)` returns its flat outputs."""

    def __init__(self, fdef, library):
        self.name = fdef.signature.name
        self.fdef = fdef
        self._library = library
        self.arg_names = [a.name for a in fdef.signature.input_arg]
        self.arg_types = [a.type for a in fdef.signature.input_arg]
        self.output_names = [a.name for a in fdef.signature.output_arg]
        nodes = [_Node(n, import_ops.OPS.get(n.op)) for n in fdef.node_def]
        self.unknown_ops = sorted({n.op for n in nodes if n.rule is None})
        self.callees = sorted({f for n in nodes for f in _function_names(n.attrs)})
        self.gradient_op_types = sorted({n.attrs["_gradient_op_type"] for n in nodes
                                         if "_gradient_op_type" in n.attrs})
        self._nodes = _dependency_order(nodes, {n.name for n in nodes})
        self._outputs = [_parse_ref(fdef.ret[name]) for name in self.output_names]
        # {node name: Philox stream} of the random nodes (kept across runs, as the kernels
        # of a function instantiated once); {(calling node, function): {...}} for nested calls.
        self.random_streams = {}

    def _lookup(self, env, ref):
        name, arg, index = ref
        if arg is None and name in env["__args__"]:
            return env["__args__"][name]
        try:
            node, values = env[name]
        except KeyError:
            raise SavedModelFormatError(f"function {self.name} refers to '{name}', which is "
                                        "neither an input nor a node") from None
        pos = index if arg is None else node.rule.output_index(arg, index)
        if pos >= len(values):
            raise SavedModelFormatError(f"function {self.name}: node '{name}' ({node.op}) has "
                                        f"no output {arg}:{index}")
        return values[pos]

    def run(self, inputs, streams=None):
        """The flat outputs for `inputs`; random nodes draw from `streams` (default: the
        program's own when run eagerly; new ones when traced into a function, whose
        instantiation has kernels of its own in TF)."""
        if len(inputs) != len(self.arg_names):
            raise TypeError(f"function {self.name} takes {len(self.arg_names)} inputs "
                            f"({', '.join(self.arg_names)}), got {len(inputs)}")
        env = {"__args__": dict(zip(self.arg_names, inputs))}
        if streams is None:
            streams = self.random_streams if state.graph is None else {}
        ctx = _Context(self._library, self, env, streams)
        for node in self._nodes:
            ctx.op, ctx.node = node.op, node.name
            args = [self._lookup(env, r) for r in node.inputs]
            try:
                result = node.rule.fn(ctx, args, node.attrs)
            except Exception as e:
                e.add_note(f"(while running node '{node.name}' ({node.op}) of the function "
                           f"{self.name} loaded from {self._library.path})")
                raise
            if result is None:
                result = []
            elif not isinstance(result, (list, tuple)):
                result = [result]
            env[node.name] = (node, list(result))
        return [self._lookup(env, r) for r in self._outputs]


class FunctionLibrary:
    """The `FunctionDef`s of a SavedModel, compiled on first use.

    Args:
        library: the `FunctionDefLibrary` message.
        path: the SavedModel directory (named in errors).
        variables: {shared name: Variable} for `VarHandleOp`s inside functions.
    """

    def __init__(self, library, path, variables=None, gradients=None):
        self.path = path
        self._fdefs = {f.signature.name: f for f in library.function}
        self._programs = {}
        self._variables = variables or {}
        self._gradient_names = {g.registered_op_type: g.gradient_func
                                for g in library.registered_gradients}
        self._gradients = gradients or {}

    def gradient(self, op_type):
        """(function name, captured tensor names, output structure) of the gradient saved
        for the custom-gradient op type `op_type`, or None."""
        name = self._gradient_names.get(op_type)
        if name is None or name not in self._fdefs:
            return None
        captures, structure = self._gradients.get(name, ((), None))
        if structure is None:       # one gradient per input of the marked IdentityN
            structure = [True] * len(self._fdefs[name].signature.output_arg)
        return name, list(captures), structure

    def program(self, name) -> Program:
        program = self._programs.get(name)
        if program is None:
            fdef = self._fdefs.get(name)
            if fdef is None:
                raise SavedModelFormatError(f"the SavedModel at {self.path} has no function "
                                            f"named {name}")
            program = self._programs[name] = Program(fdef, self)
        return program

    def check(self, name) -> None:
        """Raises NotFoundError naming the first op no rule knows in `name` or its callees."""
        from tapeflow import errors
        seen, pending = set(), [name]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            program = self.program(current)
            if program.unknown_ops:
                raise errors.NotFoundError(
                    None, None,
                    f"Op type not supported by tapeflow's SavedModel reader: "
                    f"{', '.join(program.unknown_ops)} (in function {current} of the "
                    f"SavedModel at {self.path}). The reader knows "
                    f"{len(import_ops.OPS)} TensorFlow ops.")
            pending.extend(program.callees)
            pending.extend(g[0] for g in map(self.gradient, program.gradient_op_types) if g)

    def variable_named(self, shared_name):
        try:
            return self._variables[shared_name]
        except KeyError:
            raise SavedModelFormatError(
                f"a function of the SavedModel at {self.path} creates or looks up the "
                f"variable '{shared_name}', which is not one of the saved variables") from None
