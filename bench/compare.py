"""tapeflow beside TensorFlow and PyTorch: the same workloads, one command, one table.

Workloads (definitions in bench/workloads.py; the eager-overhead pair in
bench/eager_overhead.py):

  step      the seed CNN's training step (GradientTape + Adam + the seed's metrics) on a
            fixed batch: images/s, eager and tf.function, batch 32 and 128; also the CPU
            time per step (all threads), steadier than wall time on a busy machine, and
            the achieved GFLOP/s (the step's convolution and matmul FLOPs, bench/peak.py)
            beside the machine's sgemm peak measured in the same run (OpenBLAS and oneDNN)
  epoch     one epoch of seed 000's loop on Fashion-MNIST (tf.data shuffle/batch 32,
            tf.function steps, then the test set): training images/s, test accuracy,
            peak RSS of the process
  overhead  eager small-op overhead: x*x + gradient on a scalar; 100 x sin(h)*1.01 on a
            16-vector + gradient
  data      one epoch of from_tensor_slices((x, y)).shuffle(10000).batch(32)

Each framework runs in its own subprocess (so thread pools and memory are its own: peak RSS
is per framework), frameworks interleaved round by round so a busy machine slows all alike.
Figures are medians over rounds; ratios ("tapeflow speed-up", > 1 means tapeflow is faster
or smaller) come from the same run. A framework that is not installed is skipped with a note.

    python bench/compare.py                      # everything (about 10 minutes on 2 cores)
    python bench/compare.py --quick              # a few minutes: fewer rounds, 6400 images
    python bench/compare.py --only step,overhead --frameworks tapeflow,tensorflow
    python bench/compare.py --markdown bench/last_run.md
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# This checkout's tapeflow, not another one installed in the environment.
sys.path.insert(0, os.path.dirname(HERE))

import peak  # noqa: E402  (found through the sys.path entry above)
import workloads  # noqa: E402

WORKLOADS = ("step", "epoch", "overhead", "data")
MODES = {"tapeflow": ("eager", "function"), "tensorflow": ("eager", "function"),
         "pytorch": ("eager",)}


# -- workers (run in a subprocess each) ---------------------------------------------------

def _worker(spec: dict) -> dict:
    task, fw = spec["task"], spec.get("framework")
    if task == "version":
        return {"version": workloads.framework_version(fw)}
    if task == "peak":
        return peak.sgemm_peak()
    if task == "step":
        out = {}
        for mode, batch in spec["configs"]:
            r = workloads.step_throughput(fw, mode == "function", batch,
                                          budget_s=spec["budget_s"])
            out[f"{mode}/{batch}"] = r
        out["peak_rss_mb"] = workloads.peak_rss_mb()
        return out
    if task == "epoch":
        return workloads.seed_epoch(fw, limit=spec.get("limit"))
    if task == "data":
        runs = [workloads.data_epoch(fw, limit=spec.get("limit"))
                for _ in range(spec["repeats"])]
        return {"seconds": statistics.median(r["seconds"] for r in runs),
                "images_per_second": statistics.median(r["images_per_second"] for r in runs)}
    if task == "overhead":
        return _overhead(spec["frameworks"], spec["rounds"], spec["budget_s"])
    raise ValueError(f"unknown task {task!r}")


def _overhead(frameworks, rounds, budget_s):
    """Interleaved rounds of bench/eager_overhead.py's two workloads, in this one process."""
    import eager_overhead as eo
    makers = {"tapeflow": "tapeflow", "tensorflow": "TensorFlow", "pytorch": "PyTorch"}
    by_label = dict(eo.FRAMEWORKS)
    loaded = {}
    for fw in frameworks:
        try:
            square, chain, _ = by_label[makers[fw]]()
        except ImportError:
            continue
        square(), chain()          # warm up
        loaded[fw] = (square, chain)
    times = {(fw, w): [] for fw in loaded for w in ("square", "chain")}
    for _ in range(rounds):
        for fw, (square, chain) in loaded.items():
            times[(fw, "square")].append(eo._time_per_call(square, budget_s))
            times[(fw, "chain")].append(eo._time_per_call(chain, budget_s))
    return {f"{fw}/{w}": statistics.median(v) for (fw, w), v in times.items()}


def _run(spec: dict, timeout: float = 1800) -> dict | None:
    """Runs one worker in a fresh interpreter; returns its result or None (after a note)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              check=False)
    except subprocess.TimeoutExpired:
        print(f"  note: {spec} timed out after {timeout:.0f} s", flush=True)
        return None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = "\n    ".join(proc.stderr.strip().splitlines()[-6:])
    print(f"  note: {spec['task']} on {spec.get('framework', '-')} failed:\n    {tail}",
          flush=True)
    return None


# -- orchestration ------------------------------------------------------------------------

def _available(frameworks):
    ok, versions = [], {}
    for fw in frameworks:
        r = _run({"task": "version", "framework": fw}, timeout=300)
        if r is None:
            print(f"note: {workloads.LABELS[fw]} skipped (not installed or fails to import)")
            continue
        ok.append(fw)
        versions[fw] = r["version"]
    return ok, versions


class Table:
    """Rows of (workload, framework, value, unit, higher_is_better, rounds)."""

    def __init__(self):
        self.rows = []

    def add(self, workload, fw, values, unit, higher_is_better=True):
        if values:
            self.rows.append((workload, fw, statistics.median(values), unit,
                              higher_is_better, len(values)))

    def value(self, workload, fw):
        for w, f, v, *_ in self.rows:
            if w == workload and f == fw:
                return v
        return None

    def lines(self, markdown=False):
        out = []
        if markdown:
            out += ["| workload | framework | median | tapeflow speed-up | runs |",
                    "|---|---|---:|---:|---:|"]
        else:
            out.append(f"{'workload':<42}{'framework':<12}{'median':>16}"
                       f"{'tapeflow speed-up':>19}{'runs':>6}")
        last = None
        for w, fw, v, unit, hib, n in self.rows:
            base = self.value(w, "tapeflow")
            ratio = "" if base is None else f"{(base / v if hib else v / base):.2f}x"
            if fw == "tapeflow" and base is not None:
                ratio = "1.00x"
            shown = _fmt(v, unit)
            if markdown:
                out.append(f"| {w if w != last else ''} | {workloads.LABELS[fw]} | {shown} "
                           f"| {ratio} | {n} |")
            else:
                out.append(f"{(w if w != last else ''):<42}{workloads.LABELS[fw]:<12}"
                           f"{shown:>16}{ratio:>19}{n:>6}")
            last = w
        return out


def _fmt(v, unit):
    if unit == "GFLOP/s":
        return f"{v:.1f} GFLOP/s"
    if unit == "s/call":
        return f"{v * 1e6:.1f} us" if v < 1e-3 else f"{v * 1e3:.2f} ms"
    if unit == "img/s":
        return f"{v:,.0f} img/s"
    if unit == "MiB":
        return f"{v:,.0f} MiB"
    if unit == "%":
        return f"{v * 100:.2f} %"
    if unit == "s":
        return f"{v:.2f} s"
    if unit == "cpu-ms":
        return f"{v:.1f} CPU-ms"
    return f"{v:.4g} {unit}"


def run_all(args) -> tuple[Table, list[str]]:
    table, notes = Table(), []
    fws = args.frameworks
    rounds = 1 if args.quick else args.rounds

    if "step" in args.only:
        batches = args.batch
        configs = {fw: [(m, b) for m in MODES[fw] for b in batches] for fw in fws}
        res = {fw: [] for fw in fws}
        for r in range(rounds):
            for fw in fws:
                print(f"step: round {r + 1}/{rounds}, {workloads.LABELS[fw]} ...", flush=True)
                out = _run({"task": "step", "framework": fw, "configs": configs[fw],
                            "budget_s": 1.0 if args.quick else args.budget})
                if out:
                    res[fw].append(out)
        for mode in ("function", "eager"):
            for b in batches:
                for fw in fws:
                    vals = [o[f"{mode}/{b}"]["images_per_second"] for o in res[fw]
                            if f"{mode}/{b}" in o]
                    table.add(f"train step, {mode}, batch {b}", fw, vals, "img/s")
        for mode in ("function", "eager"):
            for b in batches:
                for fw in fws:
                    vals = [o[f"{mode}/{b}"]["cpu_ms"] for o in res[fw]
                            if "cpu_ms" in o.get(f"{mode}/{b}", {})]
                    table.add(f"train step CPU time, {mode}, batch {b}", fw, vals, "cpu-ms",
                              higher_is_better=False)
        notes += _against_the_limit(table, fws, batches)

    if "epoch" in args.only:
        limit = args.limit or (6400 if args.quick else None)
        res = {fw: [] for fw in fws}
        for fw in fws:
            print(f"epoch: {workloads.LABELS[fw]} ({limit or 60000} images) ...", flush=True)
            out = _run({"task": "epoch", "framework": fw, "limit": limit})
            if out:
                res[fw].append(out)
                print(f"  {out['epoch_s']:.1f} s, test accuracy "
                      f"{out['test_accuracy'] * 100:.2f}%, peak RSS {out['peak_rss_mb']:.0f} MiB",
                      flush=True)
        name = f"seed epoch, {limit or 60000} img"
        for key, label, unit, hib in (("images_per_second", "train", "img/s", True),
                                      ("epoch_s", "train + test", "s", False),
                                      ("peak_rss_mb", "peak RSS", "MiB", False),
                                      ("test_accuracy", "test accuracy", "%", True)):
            for fw in fws:
                table.add(f"{name}: {label}", fw, [o[key] for o in res[fw]], unit, hib)
        notes.append("Epoch rows: one run per framework (a full epoch is long); test accuracy "
                     "is a sanity check that all three train the same model alike, not a "
                     "speed figure. tapeflow and TensorFlow run tf.function steps, PyTorch "
                     "eager.")

    if "overhead" in args.only:
        print("overhead: interleaved rounds in one process ...", flush=True)
        out = _run({"task": "overhead", "frameworks": fws, "rounds": 5 if args.quick else 15,
                    "budget_s": 0.05 if args.quick else 0.2})
        if out:
            for w, label in (("square", "eager x*x + grad (scalar)"),
                             ("chain", "eager 100x sin(h)*1.01 + grad")):
                for fw in fws:
                    if f"{fw}/{w}" in out:
                        table.add(label, fw, [out[f"{fw}/{w}"]], "s/call", False)
            notes.append("Overhead rows: each figure is already the median of interleaved "
                         "rounds inside one process (bench/eager_overhead.py).")

    if "data" in args.only:
        res = {fw: [] for fw in fws}
        for fw in fws:
            print(f"data: {workloads.LABELS[fw]} ...", flush=True)
            out = _run({"task": "data", "framework": fw, "repeats": 1 if args.quick else 3,
                        "limit": args.limit})
            if out:
                res[fw].append(out["images_per_second"])
        for fw in fws:
            table.add("tf.data: shuffle(10000).batch(32)", fw, res[fw], "img/s")
        notes.append("Data rows: PyTorch runs DataLoader(TensorDataset, batch_size=32, "
                     "shuffle=True), its idiom for the same pipeline.")
    return table, notes


def _against_the_limit(table, fws, batches) -> list[str]:
    """GFLOP/s rows for the step, and the sgemm peak measured now (in a fresh process)."""
    for mode in ("function", "eager"):
        for b in batches:
            for fw in fws:
                v = table.value(f"train step, {mode}, batch {b}", fw)
                if v:
                    table.add(f"train step GFLOP/s, {mode}, batch {b}", fw,
                              [v * peak.step_flops(b) / b / 1e9], "GFLOP/s")
    print("peak: sgemm with OpenBLAS and oneDNN ...", flush=True)
    p = _run({"task": "peak"})
    if not p:
        return []
    best = max(v for v in (p["openblas"], p["onednn"]) if v)
    out = [peak.describe(p) + " (measured after the step rounds, same run)."]
    for b in batches:
        v = table.value(f"train step GFLOP/s, function, batch {b}", "tapeflow")
        if v:
            out.append(f"tapeflow's tf.function step at batch {b}: {v:.0f} GFLOP/s = "
                       f"{v / best * 100:.0f}% of that peak ({peak.step_flops(b) / b / 1e6:.1f} "
                       f"MFLOP per image in convolutions and products).")
    return out


def targets(table: Table, batches=(32, 128)) -> list[str]:
    """The judged targets (issue 12), checked against this run's numbers.

    At each batch: tapeflow's tf.function step >= 1.25x the best of TensorFlow's
    tf.function and PyTorch eager; tapeflow eager >= TensorFlow's tf.function. One seed
    epoch: tapeflow trains faster than TensorFlow, with at most 0.6x its peak memory.
    """
    out = []
    for b in batches:
        fn = table.value(f"train step, function, batch {b}", "tapeflow")
        eager = table.value(f"train step, eager, batch {b}", "tapeflow")
        tf_fn = table.value(f"train step, function, batch {b}", "tensorflow")
        others = {"TensorFlow function": tf_fn,
                  "PyTorch eager": table.value(f"train step, eager, batch {b}", "pytorch")}
        others = {k: v for k, v in others.items() if v}
        if fn and others:
            best = max(others, key=others.get)
            ratio = fn / others[best]
            out.append(f"{'MET ' if ratio >= 1.25 else 'MISS'} tapeflow function >= 1.25x the "
                       f"best of TF function / PyTorch eager (batch {b}): {fn:.0f} vs {best} "
                       f"{others[best]:.0f} img/s = {ratio:.2f}x")
        if eager and tf_fn:
            out.append(f"{'MET ' if eager >= tf_fn else 'MISS'} tapeflow eager >= TensorFlow "
                       f"function (batch {b}): {eager:.0f} vs {tf_fn:.0f} img/s = "
                       f"{eager / tf_fn:.2f}x")
    for w, unit in dict.fromkeys((r[0], r[3]) for r in table.rows):
        if w.endswith(": train") and unit == "img/s":
            mine, tfv = table.value(w, "tapeflow"), table.value(w, "tensorflow")
            if mine and tfv:
                out.append(f"{'MET ' if mine > tfv else 'MISS'} tapeflow trains the seed epoch "
                           f"faster than TensorFlow: {mine:.0f} vs {tfv:.0f} img/s")
        if unit == "MiB" and w.endswith("peak RSS"):
            mine, tfm = table.value(w, "tapeflow"), table.value(w, "tensorflow")
            if mine and tfm:
                out.append(f"{'MET ' if mine <= 0.6 * tfm else 'MISS'} tapeflow peak memory <= "
                           f"0.6x TensorFlow's (one seed epoch): {mine:.0f} vs {tfm:.0f} MiB = "
                           f"{mine / tfm:.2f}x")
    return out


def machine(versions) -> list[str]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numpy
    vers = ", ".join(f"{workloads.LABELS[fw]} {v}" for fw, v in versions.items())
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    now = datetime.datetime.now(datetime.timezone.utc)
    return [f"date: {now:%Y-%m-%d %H:%M} UTC, load average at start (1/5/15 min): {load}",
            (f"machine: {os.cpu_count()} CPUs (nproc), {cpu}, "
             f"{platform.system()} {platform.machine()}"),
            f"versions: Python {platform.python_version()}, NumPy {numpy.__version__}, {vers}"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--only", default=",".join(WORKLOADS),
                    help=f"comma-separated subset of {','.join(WORKLOADS)}")
    ap.add_argument("--frameworks", default=",".join(workloads.FRAMEWORKS),
                    help="comma-separated subset of tapeflow,tensorflow,pytorch")
    ap.add_argument("--quick", action="store_true",
                    help="one round, short timings, a 6400-image epoch")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the step workload (3)")
    ap.add_argument("--budget", type=float, default=3.0,
                    help="seconds of timed steps per configuration and round (3)")
    ap.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--limit", type=int, default=None,
                    help="images in the epoch and data workloads (default: all 60000)")
    ap.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(_worker(json.loads(args.worker))), flush=True)
        return 0
    args.only = [w for w in args.only.split(",") if w]
    bad = [w for w in args.only if w not in WORKLOADS]
    fws = [f for f in args.frameworks.split(",") if f]
    bad += [f for f in fws if f not in workloads.FRAMEWORKS]
    if bad:
        ap.error(f"unknown workload or framework: {', '.join(bad)}")
    start = time.time()
    args.frameworks, versions = _available(fws)
    head = machine(versions)
    print("\n".join(head), flush=True)
    table, notes = run_all(args)
    checks = targets(table, args.batch)
    print()
    print("\n".join(table.lines()))
    if checks:
        print("\ntargets (same run):")
        print("\n".join("  " + c for c in checks))
    for n in notes:
        print("note: " + n)
    end_load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"({time.time() - start:.0f} s; load average at the end: {end_load})")
    if args.markdown:
        cmd = "python bench/compare.py " + " ".join(argv if argv is not None else sys.argv[1:])
        md = (["```", *head, f"command: {cmd.strip()}",
               f"took {time.time() - start:.0f} s; load average at the end: {end_load}", "```",
               "", *table.lines(markdown=True)]
              + (["", "Targets (same run):", ""] + [f"- {c}" for c in checks]
                 if checks else [])
              + [""] + [f"- {n}" for n in notes])
        with open(args.markdown, "w") as f:
            f.write("\n".join(md) + "\n")
        print(f"markdown table written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
