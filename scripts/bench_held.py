"""Benchmark ``carecall queue --held`` on a large list against the plain path, same run.

Uses bench_queue's database (``bench-out/queue_N.db``, built once; default 1,000,000
customers) at two moments: Tuesday 15:00 UTC (the Americas' morning, Europe's afternoon:
147,577 held) and Sunday 09:30 UTC (nearly every window shut: ~496,000 held). For each:

- in this process, ``held_report`` (the counted path; median of ``--runs``) against
  ``held_back``, the plain path that checks every customer one by one (once: the
  reference; minutes at 1M, ``--no-plain`` leaves it out), and whether both give the same
  answer: the total, the count per rule, the first 50 with what holds them and when they
  open (exit 1 when they differ);
- as whole processes, what a supervisor waits for: ``carecall queue --held --json``
  against ``carecall queue --json`` (the first page: the aim is "about the time the queue
  takes"), interleaved A/B/B/A ``--starts`` times, CPU (user + sys of the child) and wall,
  bytecode compiled; with ``--against REV`` REV's ``queue --held --json`` too (REV's tree
  from ``git archive`` under /tmp), interleaved, and whether its output is the same.

With ``--called-lately`` the same again on a copy of that database where every customer
was called this morning but the last 1,000 (a batch just added): at Tuesday 15:00 a few
hundred are held, far apart in id order (buying slowed, callbacks) and among the last
added (``bench-out/queue_N.lately.db``, made once).

The load average is printed at the start and the end: on a shared machine compare the
figures of one run with each other, not across runs.

    python scripts/bench_held.py [--customers N] [--runs R] [--starts S] [--against REV]
                                 [--no-plain] [--rebuild] [--called-lately]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "bench-out"
sys.path.insert(0, str(ROOT))

from calls.policy import DEFAULT_POLICY
from calls.queue import HeldReport, held_back, held_counts, held_report
from calls.store import Store

MOMENTS = [("Tue 15:00 UTC", datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
           ("Sun 09:30 UTC", datetime(2026, 3, 15, 9, 30, tzinfo=UTC))]
# One launcher for every tree, so that each pays the same start-up.
LAUNCH = ("import sys; sys.path.insert(0, sys.argv[1]); from calls.cli import main; "
          "sys.argv = ['carecall', *sys.argv[2:]]; sys.exit(main())")


def _bench_queue():
    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "bench_queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def _tree(rev: str) -> Path:
    """REV's files under /tmp (git archive, once per commit), bytecode compiled."""
    sha = subprocess.run(["git", "rev-parse", "--verify", rev + "^{commit}"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.strip()
    tree = Path("/tmp") / f"bench_held-{sha[:12]}"
    if not (tree / "calls").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", "--format=tar", sha, "calls"], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        tar = tree / "tree.tar"
        tar.write_bytes(archive)
        with tarfile.open(tar) as t:
            t.extractall(tree, filter="data")
        tar.unlink()
    subprocess.run([sys.executable, "-m", "compileall", "-q", "calls"], cwd=tree,
                   check=True, capture_output=True)
    return tree


def _process(tree: Path, args: list[str]) -> tuple[float, float, str]:
    """(CPU s, wall s, stdout) of one carecall process from ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCH, str(tree), *args],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"carecall {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


def _called_lately(built: Path) -> Path:
    """A copy of ``built`` where every customer but the last 1,000 ended a care cycle on
    Tuesday 10 March 14:00 UTC and has no birthday or customer-since date (made once)."""
    path = built.with_name(f"{built.stem}.lately.db")
    if path.exists():
        return path
    made = _bench_queue().working_copy(built, "lately-making")
    conn = sqlite3.connect(made)
    top = conn.execute("SELECT max(id) FROM customers").fetchone()[0]
    with conn:
        conn.execute("UPDATE customers SET cycle_ended_at = '2026-03-10T14:00:00Z', "
                     "cycle_status = 'reached', birthday = NULL, customer_since = NULL "
                     "WHERE id <= ?", (top - 1000,))
    conn.close()
    made.rename(path)
    return path


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5, help="in-process runs (median)")
    ap.add_argument("--starts", type=int, default=3, help="A/B/B/A rounds of processes")
    ap.add_argument("--against", metavar="REV", help="also REV's queue --held, interleaved")
    ap.add_argument("--no-plain", action="store_true",
                    help="leave out the one-by-one reference (minutes at 1M)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--called-lately", action="store_true",
                    help="also on a copy where all but the last 1,000 were called lately")
    args = ap.parse_args(argv)

    OUT.mkdir(exist_ok=True)
    path = OUT / f"queue_{args.customers}.db"
    if args.rebuild or not path.exists():
        print(f"building {path} ...", flush=True)
        _bench_queue().build(path, args.customers)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "calls"], cwd=ROOT, check=True,
                   capture_output=True)
    cases = [(path, MOMENTS)]
    if args.called_lately:
        cases.append((_called_lately(path), MOMENTS[:1]))
    trees = {"held": ROOT}
    if args.against:
        trees[f"held {args.against}"] = _tree(args.against)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {_load()}")
    same = True
    for db, moments in cases:
        same = _case(db, moments, trees, args) and same
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {_load()}")
    if not same:
        print("ANSWERS DIFFER")
    return 0 if same else 1


def _case(path: Path, moments: list[tuple[str, datetime]], trees: dict[str, Path],
          args: argparse.Namespace) -> bool:
    """The figures on one database at ``moments``; whether every answer was the same."""
    dbs = {"held": path, "queue": path}
    for name in trees:
        if name != "held":
            dbs[name] = _bench_queue().working_copy(path, "against")
    store = Store.open(path)
    print(f"\ndatabase: {path} ({store.scalar('SELECT count(*) FROM customers'):,} customers)")
    same = True
    for label, now in moments:
        print(f"\n{label}")
        times, cpus = [], []
        report = None
        for _ in range(args.runs):
            c0, t0 = time.process_time(), time.perf_counter()
            report = held_report(store, "ann", now, DEFAULT_POLICY, limit=50)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        assert report is not None
        print(f"  held_report (counted):     {_ms(times)} ms wall {_ms(cpus)} ms CPU "
              f"(median of {args.runs}); {report.total:,} held")
        plain = None
        if not args.no_plain:
            c0, t0 = time.process_time(), time.perf_counter()
            slow = held_back(store, "ann", now, DEFAULT_POLICY)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            plain = HeldReport(now, len(slow), held_counts(slow), slow[:50])
            agree = plain.to_dict() == report.to_dict()
            same = same and agree
            print(f"  held_back (one by one):    {wall * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms "
                  f"CPU (once): {wall / statistics.median(times):.1f}x the counted path; "
                  f"same answer: {'yes' if agree else 'NO'}")
        # Whole processes, interleaved: queue, held, (against), then the reverse.
        at = now.strftime("%Y-%m-%dT%H:%MZ")
        common = ["--at", at, "--caller", "ann", "--json"]
        runs: dict[str, list[tuple[float, float]]] = {"queue": []}
        runs.update({name: [] for name in trees})
        outputs: dict[str, str] = {}
        order = ["queue", *trees]
        for round_ in range(args.starts):
            for name in order if round_ % 2 == 0 else reversed(order):
                extra = ["queue", "--limit", "50"] if name == "queue" else ["queue", "--held"]
                cpu, wall, out = _process(trees.get(name, ROOT),
                                          [*extra, *common, "--db", str(dbs[name])])
                runs[name].append((cpu, wall))
                outputs[name] = out
        queue_cpu = statistics.median(c for c, _ in runs["queue"])
        for name, samples in runs.items():
            cpu = statistics.median(c for c, _ in samples)
            wall = statistics.median(w for _, w in samples)
            what = "carecall queue --json" if name == "queue" else f"carecall queue --{name}"
            print(f"  {what:32s} {cpu * 1000:7.0f} ms CPU {wall * 1000:7.0f} ms wall "
                  f"(median of {len(samples)}; {cpu / queue_cpu:4.1f}x the queue's CPU)")
        held = json.loads(outputs["held"])
        if held != json.loads(json.dumps(report.to_dict())):
            same = False
            print("  the process's --held output differs from held_report in this process")
        for name in trees:
            if name != "held":
                agree = json.loads(outputs[name]) == held
                same = same and agree
                print(f"  {name}: same output as this tree: {'yes' if agree else 'NO'}")
    store.close()
    return same


if __name__ == "__main__":
    sys.exit(main())
