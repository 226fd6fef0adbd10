#!/usr/bin/env python3
"""Compare the benchmarks of ``scripts/`` between two git revisions, alternating runs.

    python scripts/bench_compare.py [OLD] [NEW] [--bench NAME ...] [--rounds 4] [--full]

OLD defaults to e5863d6 (the last commit before #12's redesign), NEW to HEAD. Each
revision is checked out into a temporary git worktree under /tmp (removed at the end) and
compiled to bytecode; every benchmark runs there with this venv's Python and the tree on
``PYTHONPATH`` (the same libraries for both sides: the comparison is of our code only),
with private XDG folders and no ``CARECALL_*`` variables.

The runs alternate old, new, new, old, old, new, ... (ABBA rounds), so that a load that
rises or falls during the comparison hits both sides alike; the machine is shared. Per
figure it prints both medians, the ratio new/old of the medians (above 1.00 = slower, for
rates too), the range of the per-round ratios, each side's spread (max - min over the
median) and the load average seen at the start of those runs. Figures marked ``ref`` are
a benchmark's reference (the same SQL, tomllib, csv.reader ... at both revisions): their
ratio shows how even the load fell on the two sides.

How each benchmark is run (``--list`` prints it):
- each revision's own script, when the script exists at both with the same options
  (bench_queue, bench_import, bench_tui, bench_survey, bench_planner, bench_orders);
- the newer script copied into the old tree, when it did not exist at OLD (bench_cli,
  bench_phones; for bench_phones the old module ``calls.phones`` stands in for
  ``calls.ingest.phones``; bench_cli's ``--version`` case is left out: OLD had none);
- bench_survey_same_text: bench_survey's figures with OLD's quarterly.toml in both trees
  (the shipped script grew 60 lines since: its own bench_survey measures both);
- a shared driver in this file (bench_report): its script's figures changed between the
  revisions (OLD timed the best of two, NEW the best of two plus --by and the sqlite3
  shell); the driver generates the database with each revision's own
  ``bench_report.py --generate-only`` and times ``build_report`` and ``export_table``
  alike on both (median of three, wall and CPU incl. child processes).

The exit code is 0 whatever the figures say: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
NUM = r"([\d,]+(?:\.\d+)?)"


@dataclass(frozen=True)
class Figure:
    """One figure a benchmark prints: a regex whose group ``v`` is the number (``key``,
    if present, names the figure through ``name``)."""

    name: str
    pattern: str
    unit: str = "ms"
    rate: bool = False          # higher is better (rows/s): the ratio is inverted
    reference: bool = False     # the same code at both revisions

    def read(self, text: str) -> dict[str, float]:
        found = {}
        for m in re.finditer(self.pattern, text, re.MULTILINE):
            groups = m.groupdict()
            name = self.name.format(key=groups.get("key", "").strip())
            found[name] = float(groups["v"].replace(",", ""))
        return found


@dataclass(frozen=True)
class Bench:
    """How to run one benchmark of ``scripts/`` and read its figures."""

    name: str
    small: tuple[str, ...]
    full: tuple[str, ...]
    figures: tuple[Figure, ...]
    how: str
    borrow: bool = False                    # the script is missing at OLD: copy NEW's
    aliases: dict[str, str] = field(default_factory=dict)   # module -> old module
    prepare: tuple[str, ...] | None = None  # an unmeasured first run (builds its files)
    driver: str | None = None               # a shared driver in this file instead
    cpu_clock: bool = False                 # the script's timings read the CPU clock
    # The script changed its options after this commit: NEW runs this commit's version
    # (the last one with OLD's options that works the redesigned code).
    pinned: str | None = None
    repeat: int = 1                         # rounds x this: quick, noisy benchmarks


def _ms(name: str, label: str, **kw) -> Figure:
    return Figure(name, re.escape(label) + r"\s*" + NUM.replace("(", "(?P<v>", 1) + r" ms",
                  **kw)


V = NUM.replace("(", "(?P<v>", 1)

BENCHES = {b.name: b for b in (
    Bench("bench_queue", ("--customers", "200000", "--runs", "9"), ("--runs", "15"), (
        Figure("reference SELECT 50", r"reference: plain indexed SELECT of 50 rows: " + V,
               reference=True),
        Figure("page {key}", r"^  (?P<key>\w{3} \d\d:\d\d UTC) \(.*?\):\s+" + V + " ms"),
        Figure("page {key} first", r"^  (?P<key>[a-z_]+)\s+" + V + r" ms  \("),
        _ms("claim_next", "claim_next:"),
        _ms("explain", "explain a random customer:"),
        Figure("{key} queue", r"^(?P<key>Sunday \d\d:\d\d UTC): queue " + V + " ms"),
        Figure("{key} next opening", r"^(?P<key>Sunday \d\d:\d\d UTC):.*found in " + V + " ms"),
    ), "each revision's own script", prepare=("--customers", "200000", "--runs", "1"),
        repeat=3),
    Bench("bench_import", ("--rows", "50000"), (), (
        Figure("carecall import", r"^carecall import:\s+" + V + "s", unit="s"),
        Figure("sqlite-utils insert", r"^sqlite-utils insert --csv:\s+" + V + "s", unit="s",
               reference=True),
        Figure("carecall cpu", r"^cpu: carecall " + V + "s", unit="s"),
        Figure("importer peak", r"peak memory: importer " + V + " MB", unit="MB"),
    ), "each revision's own script"),
    Bench("bench_tui", ("--customers", "100000", "--calls", "10"), (), (
        Figure("{key} (core)", r"^  (?P<key>[a-z][a-z /-]+?)\s+" + V + r" ms\s+[\d.]+ ms"),
        Figure("{key} (app)", r"^  (?P<key>[a-z][a-z /-]+?)\s+[\d.]+ ms\s+" + V + " ms"),
    ), "OLD's own script; NEW runs bench_tui.py as of 53d5c29 (the last with --calls, "
       "adapted to the call session; later it became #18's --against benchmark). It waits "
       "for a new call screen per customer: a NEW that reuses the screen (#18) times out "
       "on 'outcome saved / next'",
        prepare=("--customers", "100000", "--calls", "1"), pinned="53d5c29"),
    Bench("bench_cli", ("--runs", "7"), ("--runs", "15"), (
        Figure("python -c pass (cpu)", r"^  python -c pass\s+CPU\s+" + V, reference=True),
        Figure("python -c 'import sqlite3' (cpu)", r"^  python -c 'import sqlite3'\s+CPU\s+" + V,
               reference=True),
        Figure("{key} (cpu)", r"^  (?P<key>carecall (?:--help|queue --limit 50 --json|"
                              r"report --help))\s+CPU\s+" + V),
        Figure("{key} (wall)", r"^  (?P<key>carecall (?:--help|queue --limit 50 --json|"
                               r"report --help))\s+CPU\s+[\d.]+ ms\s+wall\s+" + V),
    ), "NEW's script copied into the old tree (it did not exist at OLD); --version left "
       "out", borrow=True),
    Bench("bench_report", ("--customers", "100000", "--calls", "300000"), (), (
        Figure("reference count(*) year", r"^reference count " + V + " s", unit="s",
               reference=True),
        Figure("report year (wall)", r"^report wall " + V + " s", unit="s"),
        Figure("report year (cpu)", r"^report cpu " + V + " s", unit="s"),
        Figure("export calls csv (wall)", r"^export wall " + V + " s", unit="s"),
        Figure("export calls csv (cpu)", r"^export cpu " + V + " s", unit="s"),
    ), "a shared driver (bench_compare.py --driver report) on each revision's generated "
       "database", driver="report"),
    Bench("bench_survey", ("--rounds", "300"), (), (
        _ms("tomllib.loads", "reference: tomllib.loads of quarterly.toml", reference=True),
        _ms("load + validate", "load + validate quarterly"),
        Figure("detractor call", r"^\s+" + V + r" ms\s+\(\s*[\d.]+ x reference\), "),
    ), "each revision's own script", repeat=3),
    Bench("bench_survey_same_text", ("--rounds", "300"), (), (
        Figure("tomllib.loads", r"^reference tomllib " + V + " ms", reference=True),
        Figure("check_script_text", r"^validate " + V + " ms"),
        Figure("detractor call", r"^call " + V + " ms"),
    ), "a shared driver (bench_compare.py --driver survey): bench_survey's figures on OLD's "
       "quarterly.toml in both trees, so that only the code differs", driver="survey",
        repeat=3),
    Bench("bench_planner", ("--customers", "100000"), ("--customers", "1000000"), (
        _ms("full scan", "reference: full scan of customers", reference=True),
        _ms("plan first run", "plan, first run"),
        _ms("plan again same day", "plan, again the same day"),
        _ms("plan next day", "plan, the next day"),
        _ms("list thank-you notes", "list thank-you notes"),
        _ms("mail-merge table", "mail-merge table"),
    ), "each revision's own script", repeat=2),
    Bench("bench_orders", ("--lines", "200000", "--customers", "20000"), (), (
        Figure("import-orders", r"^carecall import-orders:\s+" + V + "s", unit="s"),
        Figure("csv.reader", r"^csv.reader \(reference\):\s+" + V + "s", unit="s",
               reference=True),
        Figure("importer peak", r"peak memory: importer " + V + " MB", unit="MB"),
    ), "each revision's own script"),
    Bench("bench_phones", ("--numbers", "20000"), (), (
        Figure("phone_parts", r"^phone_parts \(internals\):\s+" + V + "s", unit="s"),
        Figure("public API", r"^public API \(plain\):\s+" + V + "s", unit="s", reference=True),
    ), "NEW's script copied into the old tree (it did not exist at OLD), calls.phones "
       "standing in for calls.ingest.phones", borrow=True,
        aliases={"calls.ingest.phones": "calls.phones"}, repeat=2),
)}


# The in-process benchmarks once more with their own timings read from the CPU clock
# (``name:cpu``): on a loaded machine the wall clock also counts the time other processes
# held the cores; CPU time is closer to the work our code does (a TUI figure then counts
# what the app's threads computed between the key and the frame, not the waiting).
for _name in ("bench_queue", "bench_tui", "bench_survey", "bench_planner", "bench_phones"):
    BENCHES[f"{_name}:cpu"] = replace(
        BENCHES[_name], name=f"{_name}:cpu", cpu_clock=True,
        how=BENCHES[_name].how + "; timings read the process's CPU clock")


# --- shared drivers (run inside a tree: ``calls`` comes from its PYTHONPATH) ---------------

def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def driver_report(args: list[str]) -> None:
    """The year's report and the calls CSV export on a generated database (median of 3)."""
    from datetime import UTC, datetime, timedelta

    from calls.export import export_table
    from calls.reports import build_report
    from calls.store import Store

    db = Path(args[0])
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    since, until = (now - timedelta(days=365)).date(), now.date()
    store = Store.open(db)
    build_report(store, now, since, until)            # the page cache warmed once

    def timed(work: Callable[[], object]) -> tuple[float, float]:
        walls, cpus = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), _cpu()
            work()
            walls.append(time.perf_counter() - t0)
            cpus.append(_cpu() - c0)
        return statistics.median(walls), statistics.median(cpus)

    count, _ = timed(lambda: store.db.conn.execute(
        "SELECT count(*) FROM calls WHERE started_at >= ?", (since.isoformat(),)).fetchone())
    report = timed(lambda: build_report(store, now, since, until))
    with tempfile.TemporaryDirectory() as tmp:
        export = timed(lambda: export_table(store, "calls", Path(tmp) / "calls.csv",
                                            fmt="csv"))
    store.close()
    print(f"reference count {count:.4f} s")
    print(f"report wall {report[0]:.4f} s\nreport cpu {report[1]:.4f} s")
    print(f"export wall {export[0]:.4f} s\nexport cpu {export[1]:.4f} s")


def driver_survey(args: list[str]) -> None:
    """bench_survey's figures on one given script text (the same file for both trees), with
    each tree's own ``walk``, timed by the CPU clock; validation is ``check_script_text``
    (never a cached parse)."""
    import tomllib

    sys.path.insert(0, str(Path.cwd() / "scripts"))
    import bench_survey as bs

    bs.time = _CpuClock()
    from calls.survey import parse_script
    from calls.survey.script import check_script_text

    text, rounds = Path(args[0]).read_text(encoding="utf-8"), int(args[1])
    reference = bs._time(lambda: tomllib.loads(text), rounds)
    validate = bs._time(lambda: check_script_text(text, "quarterly.toml"), rounds)
    script = parse_script(text, "quarterly.toml")
    call = bs._time(lambda: bs.walk(script), rounds)
    print(f"reference tomllib {reference * 1e3:.4f} ms\nvalidate {validate * 1e3:.4f} ms\n"
          f"call {call * 1e3:.4f} ms")


class _CpuClock:
    """Stands in for the ``time`` module inside one benchmark script: its ``perf_counter``
    is the process's CPU clock (all threads), everything else the real module's."""

    perf_counter = staticmethod(time.process_time)
    perf_counter_ns = staticmethod(time.process_time_ns)

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def driver_script(args: list[str]) -> None:
    """Run a script's ``main`` after making each ``NEW=OLD`` module alias; with
    ``--cpu-clock`` the script's own timings read the CPU clock (see ``_CpuClock``)."""
    import importlib
    import importlib.util

    sep = args.index("--")
    cpu_clock = False
    for option in args[:sep]:
        if option == "--cpu-clock":
            cpu_clock = True
            continue
        new, old = option.split("=")
        if importlib.util.find_spec(new.rpartition(".")[0]) is None:
            sys.modules[new] = importlib.import_module(old)
    script = Path(args[sep + 1])
    sys.argv = [str(script), *args[sep + 2:]]
    sys.path.insert(0, str(script.parent))
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[script.stem] = module
    spec.loader.exec_module(module)
    if cpu_clock:
        module.time = _CpuClock()
    module.main()


# --- the comparison ------------------------------------------------------------------------

@dataclass
class Tree:
    """One revision checked out in a temporary worktree."""

    label: str
    rev: str
    path: Path
    home: Path
    commit: str = ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CARECALL_") and k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = f"{self.path}{os.pathsep}{self.home.parent / 'site'}"
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[var] = str(self.home / var.lower())
        return env


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


# The venv may hold carecall as an editable install: its import hook would hand a module
# missing from the tree (calls.ingest at OLD) over from the venv's own checkout instead.
SITECUSTOMIZE = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path_hooks[:] = [h for h in sys.path_hooks
                     if "__editable__" not in getattr(h, "__module__", "")]
sys.path[:] = [p for p in sys.path if "__editable__" not in p]
"""


def make_tree(label: str, rev: str, base: Path) -> Tree:
    path = base / label
    git("worktree", "add", "--detach", "--quiet", str(path), rev)
    home = base / f"{label}-home"
    home.mkdir()
    tree = Tree(label, rev, path, home, git("rev-parse", "--short", rev))
    subprocess.run([sys.executable, "-m", "compileall", "-q", "calls", "tui", "scripts"],
                   cwd=path, env=tree.env(), check=False, stdout=subprocess.DEVNULL)
    check = subprocess.run(     # its output says whether the tree is the one imported
        [sys.executable, "-c", ("import calls, importlib.util as u; print(calls.__file__); "
                                "print(u.find_spec('calls.__not_there__') is None)")],
        cwd=path, env=tree.env(), capture_output=True, text=True, check=False)
    if check.stdout.split() != [str(path / "calls" / "__init__.py"), "True"]:
        raise SystemExit(f"{label}: calls is not imported from {path} alone: {check.stdout}")
    return tree


def command(bench: Bench, tree: Tree, new: Tree, args: tuple[str, ...]) -> list[str]:
    """The command line that runs ``bench`` in ``tree``."""
    py = sys.executable
    if bench.driver == "report":
        return [py, str(HERE), "--driver", "report", str(tree.home / "report.db")]
    if bench.driver == "survey":
        text = tree.home.parent / "old" / "calls" / "data" / "scripts" / "quarterly.toml"
        return [py, str(HERE), "--driver", "survey", str(text), *args[1:]]
    stem = bench.name.removesuffix(":cpu")
    script = tree.path / "scripts" / f"{stem}.py"
    if bench.pinned and tree is new:
        script = tree.path / "scripts" / f"_{stem}_{bench.pinned}.py"
        if not script.exists():
            script.write_text(git("show", f"{bench.pinned}:scripts/{stem}.py") + "\n",
                              encoding="utf-8")
    if bench.borrow and not script.exists():
        shutil.copy(new.path / "scripts" / f"{stem}.py", script)
    if bench.aliases or bench.cpu_clock:
        options = [f"{k}={v}" for k, v in bench.aliases.items()]
        options += ["--cpu-clock"] if bench.cpu_clock else []
        return [py, str(HERE), "--driver", "script", *options, "--", str(script), *args]
    return [py, str(script), *args]


def prepare(bench: Bench, tree: Tree, new: Tree, args: tuple[str, ...]) -> None:
    """Unmeasured work before the rounds: kept databases built, caches warm."""
    if bench.driver == "report":
        n = dict(zip(args[::2], args[1::2], strict=True))
        subprocess.run([sys.executable, str(tree.path / "scripts" / "bench_report.py"),
                        "--generate-only", "--db", str(tree.home / "report.db"),
                        "--customers", n["--customers"], "--calls", n["--calls"]],
                       cwd=tree.path, env=tree.env(), check=True, stdout=subprocess.DEVNULL)
    elif bench.prepare is not None:
        subprocess.run(command(bench, tree, new, bench.prepare), cwd=tree.path,
                       env=tree.env(), check=False, capture_output=True)


def run_once(bench: Bench, tree: Tree, new: Tree, args: tuple[str, ...],
             owner: dict[str, Figure]) -> tuple[dict[str, float], float, float]:
    """(figures, load average at the start, wall seconds) of one run; ``owner`` learns
    which ``Figure`` each name came from."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(command(bench, tree, new, args), cwd=tree.path, env=tree.env(),
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    figures: dict[str, float] = {}
    for figure in bench.figures:
        found = figure.read(proc.stdout)
        figures.update(found)
        owner.update(dict.fromkeys(found, figure))
    if proc.returncode != 0 or not figures:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        print(f"    {bench.name} at {tree.label} failed (exit {proc.returncode}): "
              f"{' / '.join(tail)}", flush=True)
    return figures, load, wall


def spread(values: list[float]) -> float:
    med = statistics.median(values)
    return (max(values) - min(values)) / med if med else float("nan")


def abba(rounds: int) -> list[str]:
    """The order of the runs: old new, new old, old new, ... (a drift in the load over
    the comparison falls on both sides alike)."""
    order = []
    for r in range(rounds):
        order += ["old", "new"] if r % 2 == 0 else ["new", "old"]
    return order


def summarise(rounds: list[dict[str, dict[str, float]]], owner: dict[str, Figure]
              ) -> list[dict]:
    """Per figure, from rounds of ``{"old": figures, "new": figures}``: both medians, the
    ratio new/old of the medians (for a rate old/new: above 1 is always slower), the
    ratio in each round that has the figure on both sides, each side's runs."""
    names = list(dict.fromkeys(k for r in rounds for side in ("new", "old") for k in r[side]))
    rows = []
    for name in names:
        figure = owner[name]
        olds = [r["old"][name] for r in rounds if name in r["old"]]
        news = [r["new"][name] for r in rounds if name in r["new"]]
        row = {"figure": name, "unit": figure.unit, "reference": figure.reference,
               "old_runs": olds, "new_runs": news, "old": None, "new": None,
               "ratio": None, "round_ratios": []}
        if olds:
            row["old"] = statistics.median(olds)
        if news:
            row["new"] = statistics.median(news)
        if olds and news:
            def slower(o: float, n: float, rate: bool = figure.rate) -> float:
                return (o / n if rate else n / o) if o and n else float("nan")
            row["ratio"] = slower(row["old"], row["new"])
            row["round_ratios"] = [slower(r["old"][name], r["new"][name]) for r in rounds
                                   if name in r["old"] and name in r["new"]]
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    """The figures of one benchmark as a table (see :func:`summarise`)."""
    print(f"  {'figure':<42} {'old':>10} {'new':>10} {'new/old':>8} {'per round':>13} "
          f"{'spread old/new':>15}")
    for row in rows:
        name = row["figure"] + (" ref" if row["reference"] else "")
        if row["ratio"] is None:
            side = "new" if row["new"] is not None else "old"
            print(f"  {name:<42} only at {side}: {row[side]:.4g} {row['unit']}")
            continue
        pairs = row["round_ratios"] or [float("nan")]
        print(f"  {name:<42} {row['old']:>10.4g} {row['new']:>10.4g} {row['ratio']:>8.3f} "
              f"{min(pairs):>6.2f}-{max(pairs):<6.2f} {100 * spread(row['old_runs']):>6.0f}%/"
              f"{100 * spread(row['new_runs']):.0f}%  {row['unit']}")


def markdown(results: list[dict], old: str, new: str) -> str:
    """The figures of a comparison as Markdown tables (for docs/performance.md)."""
    out = []
    for result in results:
        loads = result["loads"]
        out.append(f"**{result['bench']}** {' '.join(result['args'])} — load "
                   f"{min(loads):.1f}-{max(loads):.1f} (median {statistics.median(loads):.1f})\n")
        out.append(f"| figure | {old} | {new} | new/old | per round |\n|---|---|---|---|---|")
        for row in result["figures"]:
            name = row["figure"] + (" (ref)" if row["reference"] else "")
            if row["ratio"] is None:
                continue
            pairs = row["round_ratios"]
            out.append(f"| {name} | {row['old']:.4g} {row['unit']} | {row['new']:.4g} "
                       f"{row['unit']} | {row['ratio']:.2f} | {min(pairs):.2f}-{max(pairs):.2f} |")
        out.append("")
    return "\n".join(out)


def compare(bench: Bench, old: Tree, new: Tree, rounds: int, full: bool) -> dict:
    """Run ``bench`` in ABBA order and print its table; return the figures as a dict."""
    args = bench.full if full else bench.small
    for tree in (old, new):
        prepare(bench, tree, new, args)
    trees = {"old": old, "new": new}
    done: list[dict[str, dict[str, float]]] = []
    loads: list[float] = []
    owner: dict[str, Figure] = {}
    seconds = 0.0
    rounds *= bench.repeat
    for i, side in enumerate(abba(rounds)):
        if i % 2 == 0:
            done.append({})
        figures, load, wall = run_once(bench, trees[side], new, args, owner)
        done[-1][side] = figures
        loads.append(load)
        seconds += wall
    print(f"\n{bench.name} {' '.join(args)}  ({rounds} rounds ABBA, {seconds:.0f} s; load "
          f"{min(loads):.1f}-{max(loads):.1f}, median {statistics.median(loads):.1f}; "
          f"{bench.how})")
    rows = summarise(done, owner)
    print_table(rows)
    sys.stdout.flush()
    return {"bench": bench.name, "args": list(args), "loads": loads, "how": bench.how,
            "figures": rows}


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--driver":
        drivers = {"report": driver_report, "script": driver_script, "survey": driver_survey}
        drivers[sys.argv[2]](sys.argv[3:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", nargs="?", default="e5863d6")
    ap.add_argument("new", nargs="?", default="HEAD")
    ap.add_argument("--bench", action="append", choices=sorted(BENCHES),
                    help="a benchmark to run (repeat; default: all of them)")
    ap.add_argument("--rounds", type=int, default=4, help="ABBA rounds (one old + one new run)")
    ap.add_argument("--full", action="store_true", help="the benchmarks' full sizes")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--markdown", type=Path, help="also write them as Markdown tables")
    ap.add_argument("--list", action="store_true", help="say how each benchmark is run")
    args = ap.parse_args()
    if args.list:
        for b in BENCHES.values():
            print(f"{b.name:<24} {' '.join(b.small) or '(defaults)':<36} {b.how}")
        return 0
    # Stopped by a signal, it still removes its worktrees (a background job ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    base = Path(tempfile.mkdtemp(prefix="carecall-compare-"))
    (base / "site").mkdir()
    (base / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    trees: list[Tree] = []
    results = []
    try:
        for label, rev in (("old", args.old), ("new", args.new)):
            trees.append(make_tree(label, rev, base))
        old, new = trees
        print(f"old = {old.rev} ({old.commit}), new = {new.rev} ({new.commit}); "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
              f"ratio > 1 means new is slower", flush=True)
        for name in args.bench or list(BENCHES):
            try:
                results.append(compare(BENCHES[name], old, new, args.rounds, args.full))
            except Exception as exc:  # noqa: BLE001 -- one broken benchmark must not hide the rest
                print(f"\n{name}: not compared ({exc})", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        for tree in trees:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(tree.path)], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        git("worktree", "prune")
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        if args.markdown:
            args.markdown.write_text(markdown(results, args.old, args.new), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
