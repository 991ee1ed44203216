"""Runs notebooks cell by cell on TensorFlow and on tapeflow and counts the cells that pass.

Usage: python scripts/run_guides.py NOTEBOOK.ipynb [...] [--cell-timeout S] [--nb-timeout S]
       [--json OUT.json]

For every notebook the code cells are taken in order; shell and magic lines (`!pip ...`,
`%matplotlib ...`) are dropped and cells left with no code are not counted. All cells of one
notebook run top to bottom in one fresh Python process per framework: once as written (real
TensorFlow) and once with the import lines pointing at tapeflow (`import tensorflow as tf` ->
`import tapeflow as tf`, `import keras` -> `from tapeflow import keras`, ...). A cell passes
when it runs without an exception and, when it ends in an expression, that value's repr()
works too (a notebook shows it). Each cell's exception is caught and the next cell runs, as a
user pressing "run all, continue on error" would see it. Cells that fail on TensorFlow on this
machine (network, GPU, packages not installed) are left out of the count; the score is the
tapeflow passes among the TensorFlow passes.

Matplotlib runs with the Agg backend, so figures are drawn but never shown.
"""

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Line rewrites that turn a TensorFlow notebook into a tapeflow one: only import lines change.
_IMPORT_REWRITES = [
    (re.compile(r"^(\s*)import\s+keras\s*$"), r"\1from tapeflow import keras"),
    (re.compile(r"^(\s*)import\s+keras\s+as\s+(\w+)\s*$"), r"\1from tapeflow import keras as \2"),
    (re.compile(r"^(\s*)from\s+keras(\.[\w.]+)?\s+import\s+"), r"\1from tapeflow.keras\2 import "),
    (re.compile(r"^(\s*)import\s+keras(\.[\w.]+)\s+as\s+"), r"\1import tapeflow.keras\2 as "),
    (re.compile(r"^(\s*)import\s+tensorflow\s*$"), r"\1import tapeflow as tensorflow"),
    (re.compile(r"^(\s*)(from|import)\s+tensorflow\b"), r"\1\2 tapeflow"),
]


def to_tapeflow(source):
    """Returns `source` with its TensorFlow/Keras import lines pointing at tapeflow."""
    out = []
    for line in source.split("\n"):
        for pattern, repl in _IMPORT_REWRITES:
            new = pattern.sub(repl, line)
            if new != line:
                line = new
                break
        out.append(line)
    return "\n".join(out)


def _strip_magics(source):
    """Drops IPython shell (`!cmd`) and magic (`%cmd`, `%%cmd`) lines."""
    kept = [ln for ln in source.split("\n") if not ln.lstrip().startswith(("!", "%"))]
    return "\n".join(kept)


def _has_code(source):
    try:
        return bool(ast.parse(source).body)
    except SyntaxError:
        return True  # counted; it fails when run, on both frameworks


def read_cells(path):
    """Returns the runnable code cells of the notebook at `path`, in order."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        src = _strip_magics(src)
        if _has_code(src):
            cells.append(src)
    return cells


# The worker runs in the child process: cells in one namespace, one result line per cell.
_WORKER = textwrap.dedent(r'''
    import ast, io, json, linecache, os, signal, sys, time, traceback, contextlib
    import matplotlib
    matplotlib.use("Agg")
    cells = json.load(open(sys.argv[1]))
    timeout = int(sys.argv[2])
    results = open(sys.argv[3], "w", buffering=1)
    if sys.argv[4] == "tapeflow":
        class _NoTF:
            # A rewritten notebook must not reach real TensorFlow by another route.
            def find_spec(self, name, path=None, target=None):
                if name == "tensorflow" or name.startswith("tensorflow.") or name == "keras":
                    raise ImportError("run_guides: %s is blocked in the tapeflow run" % name)
        sys.meta_path.insert(0, _NoTF())

    class CellTimeout(Exception):
        pass

    def _alarm(signum, frame):
        raise CellTimeout("cell ran over %d s" % timeout)

    signal.signal(signal.SIGALRM, _alarm)
    ns = {"__name__": "__main__"}

    def run_cell(i, src):
        # Each cell gets a file name whose text linecache knows, as a notebook kernel
        # does, so code that reads a function's source (AutoGraph) finds it.
        filename = "<cell-%d>" % i
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        tree = ast.parse(src, filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), ns)
        if last is not None:
            value = eval(compile(last, filename, "eval"), ns)
            if value is not None:
                repr(value)

    for i, src in enumerate(cells):
        start = time.time()
        out = io.StringIO()
        err = None
        signal.alarm(timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                run_cell(i, src)
        except BaseException as e:  # noqa: BLE001 - a cell's failure is data here
            if isinstance(e, KeyboardInterrupt):
                raise
            msg = str(e).strip().split("\n")[0][:300]
            err = [type(e).__name__, msg]
        finally:
            signal.alarm(0)
        results.write(json.dumps({"i": i, "err": err, "s": round(time.time() - start, 2),
                                  "out": out.getvalue()[-2000:]}) + "\n")
''')


def run_notebook(cells, framework, cell_timeout, nb_timeout):
    """Runs `cells` in a fresh process; returns one result dict per cell."""
    if framework == "tapeflow":
        cells = [to_tapeflow(c) for c in cells]
    with tempfile.TemporaryDirectory(prefix="guide-") as work:
        cells_path = os.path.join(work, "cells.json")
        results_path = os.path.join(work, "results.jsonl")
        worker_path = os.path.join(work, "worker.py")
        with open(cells_path, "w") as f:
            json.dump(cells, f)
        with open(worker_path, "w") as f:
            f.write(_WORKER)
        env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmd = [sys.executable, worker_path, cells_path, str(cell_timeout), results_path, framework]
        hung = _watch(subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL),
                      results_path, cell_timeout, nb_timeout)
        got = _read_results(results_path)
    if hung is not None and hung < len(cells):
        got[hung] = {"i": hung, "s": float(cell_timeout), "out": "",
                     "err": ["CellTimeout", "the cell did not return (stuck outside Python); "
                             "the notebook process was stopped"]}
    lost = ["ProcessEnded", "the notebook process ended before this cell (crash or time limit)"]
    return [got.get(i, {"i": i, "err": lost, "s": 0.0, "out": ""}) for i in range(len(cells))]


def _read_results(path):
    got = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    got[r["i"]] = r
    return got


def _watch(proc, results_path, cell_timeout, nb_timeout):
    """Waits for the worker; stops it when one cell runs well past its limit (a cell
    stuck in native code never sees the alarm) or the notebook past its own. Returns
    the index of the cell it was stopped in, or None."""
    start = last_change = time.time()
    done = -1
    while proc.poll() is None:
        time.sleep(0.5)
        n = len(_read_results(results_path))
        if n != done + 1:
            done, last_change = n - 1, time.time()
        now = time.time()
        if now - last_change > cell_timeout + 30 or now - start > nb_timeout:
            proc.kill()
            proc.wait()
            return done + 1
    return None


def score(name, cells, tf_res, tp_res):
    """Returns the per-notebook summary dict."""
    tf_ok = [i for i in range(len(cells)) if tf_res[i]["err"] is None]
    tp_ok = [i for i in tf_ok if tp_res[i]["err"] is None]
    failures = [{"cell": i, "type": tp_res[i]["err"][0], "message": tp_res[i]["err"][1],
                 "source": cells[i].strip().split("\n")[0][:80]}
                for i in tf_ok if tp_res[i]["err"] is not None]
    tf_failures = [{"cell": i, "type": tf_res[i]["err"][0], "message": tf_res[i]["err"][1]}
                   for i in range(len(cells)) if tf_res[i]["err"] is not None]
    return {"notebook": name, "cells": len(cells), "tf_pass": len(tf_ok),
            "tapeflow_pass": len(tp_ok), "failures": failures, "tf_failures": tf_failures}


def print_notebook(s):
    print(f"== {s['notebook']}: {s['cells']} cells, {s['tf_pass']} pass on TensorFlow, "
          f"{s['tapeflow_pass']} of those pass on tapeflow", flush=True)
    for f in s["tf_failures"]:
        print(f"   (excluded: cell {f['cell']} fails on TensorFlow: {f['type']}: {f['message']})")
    for f in s["failures"]:
        print(f"   cell {f['cell']:3d} [{f['source']}]\n        {f['type']}: {f['message']}")
    sys.stdout.flush()


def print_summary(summaries):
    print("\n%-28s %6s %8s %9s %7s" % ("notebook", "cells", "TF pass", "tapeflow", "%"))
    tot = [0, 0, 0]
    for s in summaries:
        pct = 100.0 * s["tapeflow_pass"] / s["tf_pass"] if s["tf_pass"] else 0.0
        print("%-28s %6d %8d %9d %6.1f%%" % (s["notebook"], s["cells"], s["tf_pass"],
                                             s["tapeflow_pass"], pct))
        tot = [tot[0] + s["cells"], tot[1] + s["tf_pass"], tot[2] + s["tapeflow_pass"]]
    pct = 100.0 * tot[2] / tot[1] if tot[1] else 0.0
    full = sum(1 for s in summaries if s["tf_pass"] and s["tapeflow_pass"] == s["tf_pass"])
    print("%-28s %6d %8d %9d %6.1f%%" % ("TOTAL", tot[0], tot[1], tot[2], pct))
    print(f"\n{tot[2]} of the {tot[1]} cells that pass on TensorFlow pass on tapeflow "
          f"({pct:.1f}%); {full} of {len(summaries)} notebooks fully.")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--cell-timeout", type=int, default=60)
    p.add_argument("--nb-timeout", type=int, default=900)
    p.add_argument("--json", help="also write the summaries to this file")
    args = p.parse_args(argv)
    summaries = []
    for path in args.notebooks:
        name = os.path.splitext(os.path.basename(path))[0]
        cells = read_cells(path)
        tf_res = run_notebook(cells, "tensorflow", args.cell_timeout, args.nb_timeout)
        tp_res = run_notebook(cells, "tapeflow", args.cell_timeout, args.nb_timeout)
        s = score(name, cells, tf_res, tp_res)
        print_notebook(s)
        summaries.append(s)
    print_summary(summaries)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summaries, f, indent=1)


if __name__ == "__main__":
    main()
