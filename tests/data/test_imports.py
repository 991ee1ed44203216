"""The data package's modules import downwards only: no import cycle among them."""
import ast
import pathlib

DATA = pathlib.Path(__file__).resolve().parents[2] / "tapeflow" / "data"


def _module_level_imports(path):
    """tapeflow.data modules imported at module level (not inside functions)."""
    out = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "tapeflow.data":
                out |= {a.name for a in node.names}
            elif node.module.startswith("tapeflow.data."):
                out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[2] for a in node.names
                    if a.name.startswith("tapeflow.data.")}
    return out


def test_the_data_modules_form_no_import_cycle():
    graph = {p.stem: _module_level_imports(p) for p in DATA.glob("*.py")
             if p.stem != "__init__"}
    assert graph["dataset"] <= {"structure", "options"}       # the base imports no stage
    order, state = [], {}

    def visit(name, path):
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", f"import cycle: {' -> '.join(path + [name])}"
        state[name] = "open"
        for dep in sorted(graph.get(name, ())):
            visit(dep, path + [name])
        state[name] = "done"
        order.append(name)

    for name in sorted(graph):
        visit(name, [])
    assert set(order) == set(graph)
