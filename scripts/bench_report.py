"""Benchmark: `carecall report` (plain and --by) and `carecall export calls` on a large database.

Targets (issue 18): 1,000,000 customers and 3,000,000 calls; the year's plain report
within 5x the equivalent query in the `sqlite3` shell; `report --by caller|tier|week`
within 1.5x the plain report; the calls CSV export at >= 0.5x the rows/s of a
`sqlite3 -csv` dump of the calls table; peak private memory under 300 MB.

    python scripts/bench_report.py                       # full size (takes a few minutes)
    python scripts/bench_report.py --customers 20000 --calls 60000
    python scripts/bench_report.py --db /tmp/bench.db --keep   # reuse the generated file
    python scripts/bench_report.py --no-replay          # without the shell replays (faster)
    python scripts/bench_report.py --db F --keep --alternate 3   # reports only, alternating

Two more lines say what the targets are up against, measured in the same run: each --by
report's own SQL statements (captured from the connection) replayed by the sqlite3 shell,
against the plain report: what SQLite alone needs for that breakdown; and the calls table
read by Python's sqlite3 module and written by its csv module, with no local times,
customer refs or formula checks (the most any Python export can reach).

The database is generated in a child process (so the measured process's peak memory is
the report's and the export's, not the generator's). Every figure is printed next to its
reference, measured in the same run on the same file, as wall time and as CPU time (the
machine is shared: the CPU time is what the work itself cost, the wall time also what
other processes took); the load average is printed at the start and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
         "Europe/London", "Europe/Berlin"]
OUTCOMES = [
    ("completed", 30), ("partial", 3), ("callback", 5), ("refused", 5), ("do_not_call", 0.5),
    ("other_contact", 3), ("no_answer", 30), ("busy", 5), ("voicemail", 15),
    ("wrong_number", 2), ("disconnected", 1.5),
]
FMT = "%Y-%m-%dT%H:%M:%SZ"


def generate(path: Path, customers: int, calls: int, seed: int = 7) -> None:
    """Fill a new carecall database with customers, a year of calls, answers, follow-ups."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from calls.store import Store

    rng = random.Random(seed)
    store = Store.open(path)
    conn = store.db.conn
    conn.execute("PRAGMA synchronous=OFF")
    created = (NOW - timedelta(days=800)).strftime(FMT)
    t0 = time.perf_counter()
    with store.write():
        conn.executemany(
            "INSERT INTO customers (id, ref, name, phone, time_zones, tier, revenue, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (i, f"C{i:07d}", f"Customer {i}", f"+1202555{i % 10000:04d}",
                 json.dumps([ZONES[i % len(ZONES)]]),
                 "A" if i % 20 == 0 else ("B" if i % 20 < 4 else "C"),
                 1000.0 + i % 997, created, created)
                for i in range(1, customers + 1)
            ),
        )
        conn.execute(
            "INSERT INTO scripts (id, name, version, hash, text, stored_at) "
            "VALUES (1, 'care', '1', 'bench', '', ?)", (created,),
        )
    codes = [o for o, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    year = 365 * 24 * 3600
    start = NOW - timedelta(days=365)
    callers = [f"caller{n:02d}" for n in range(40)]
    batch = 200_000
    call_id = 0
    for offset in range(0, calls, batch):
        n = min(batch, calls - offset)
        moments = sorted(rng.randrange(year) for _ in range(n))
        outcomes = rng.choices(codes, weights, k=n)
        rows, answers, followups = [], [], []
        for sec, outcome in zip(moments, outcomes):
            call_id += 1
            began = start + timedelta(seconds=sec)
            talk = outcome in ("completed", "partial", "callback", "refused", "do_not_call",
                               "other_contact")
            ended = began + timedelta(seconds=rng.randint(120, 600) if talk else 40)
            s, e = began.strftime(FMT), ended.strftime(FMT)
            customer = rng.randint(1, customers)
            rows.append((call_id, customer, rng.choice(callers), 1, "care", s,
                         s if talk else None, e, outcome))
            if outcome == "completed":
                score = rng.choices(range(11), [2, 1, 1, 2, 2, 4, 6, 12, 18, 24, 28])[0]
                answers.append((call_id, "nps", "nps", str(score), e))
                answers.append((call_id, "satisfaction", "rating", str(rng.randint(1, 5)), e))
                if score <= 6:
                    closed = rng.random() < 0.7
                    followups.append((
                        "fix_problem", customer, call_id, e,
                        "done" if closed else "open",
                        (ended + timedelta(days=rng.randint(1, 20))).strftime(FMT)
                        if closed else None,
                        (ended + timedelta(days=7)).strftime(FMT),
                    ))
        with store.write():
            conn.executemany(
                "INSERT INTO calls (id, customer_id, caller, script_id, reason, started_at, "
                "connected_at, ended_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany(
                "INSERT INTO answers (call_id, key, qtype, value, answered_at) "
                "VALUES (?, ?, ?, ?, ?)", answers)
            conn.executemany(
                "INSERT INTO followups (kind, customer_id, call_id, created_at, status, "
                "closed_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)", followups)
    if "time_zone" in {r[1] for r in conn.execute("PRAGMA table_info(calls)")}:
        # what the app records on a call row when it writes one (calls.store.calls; a
        # tree from before calls_0003_recorded_for_export has no such columns)
        from calls.store.calls import fill_recorded

        with store.write():
            fill_recorded(conn)
    conn.execute("ANALYZE")
    store.close()
    print(f"generated {customers:,} customers, {calls:,} calls in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)


def peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KiB), mapped file pages
    included: the store reads the database through a memory map (calls/store), so pages
    of the database file we read count here although they are the OS's file cache."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class AnonPeak:
    """Samples the anonymous (private, non-file) resident memory of this process every
    20 ms: what the report and the export themselves allocate, without the mapped
    database."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_kb() -> int:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now_kb())
            self._stop.wait(0.02)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now_kb())


def children_cpu() -> float:
    """CPU seconds of this process's ended child processes (the sqlite3 shell)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(path: Path, replay: bool = True) -> None:
    """Run the report and the export on ``path`` and print figures with references."""
    with AnonPeak() as anon:
        _measure(path, replay)
    print(f"peak private memory (report + export): {anon.peak / 1024:6.0f} MB "
          "(target < 300 MB)")
    print(f"peak resident incl. the memory-mapped database file: {peak_mb():6.0f} MB")


def _timed(work) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process and its ended children, result)."""
    t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
    result = work()
    return (time.perf_counter() - t0, time.process_time() - c0 + children_cpu() - k0,
            result)


def _best(runs: int, work) -> tuple[float, float, object]:
    """The least disturbed of ``runs`` runs (by wall time)."""
    return min((_timed(work) for _ in range(runs)), key=lambda r: r[0])


def _shell(path: Path, sql: str, out: Path | None = None, *flags: str) -> None:
    """Run ``sql`` in the sqlite3 shell on ``path`` (its output to ``out`` or nowhere)."""
    with open(out or os.devnull, "w") as fh:
        subprocess.run(["sqlite3", *flags, str(path), sql], stdout=fh, check=True)


def _traced(conn, seen: list[str], work):
    """Run ``work``, adding each SQL statement it runs on ``conn`` (parameters filled in,
    as the shell takes it) to ``seen``."""
    conn.set_trace_callback(lambda sql: seen.append(f"{sql.rstrip().rstrip(';')};"))
    try:
        return work()
    finally:
        conn.set_trace_callback(None)


def _python_floor(conn, out: Path) -> None:
    """``SELECT * FROM calls`` read by the sqlite3 module, written by ``csv.writer``."""
    import csv

    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        cursor = conn.execute("SELECT * FROM calls")
        writer.writerow([d[0] for d in cursor.description])
        while rows := cursor.fetchmany(5000):
            writer.writerows(rows)


def _line(label: str, value: str, ref: tuple[float, float], got: tuple[float, float],
          target: str) -> None:
    print(f"{label:<34} {value:>14}   wall {got[0] / ref[0]:5.2f}x  cpu {got[1] / ref[1]:5.2f}x"
          f"  the reference   ({target})", flush=True)


def _measure(path: Path, replay: bool) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from calls.export import export_table
    from calls.reports import build_report, day_start
    from calls.store import Store
    from calls.store.reports import _rank_sql

    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)
    store = Store.open(path)
    conn = store.db.conn
    since = (NOW - timedelta(days=365)).date()
    until = NOW.date()
    start, end = day_start(since), day_start(until + timedelta(days=1))
    total = conn.execute("SELECT count(*) FROM calls WHERE started_at >= ? AND started_at < ?",
                         (start, end)).fetchone()[0]
    rows_all = conn.execute("SELECT count(*) FROM calls").fetchone()[0]

    # The equivalent of the report's core in the sqlite3 shell: attempts per outcome,
    # cases per best AAPOR family, the NPS histogram, over the same year.
    period = f"started_at >= '{start}' AND started_at < '{end}'"
    shell_report = (
        f"SELECT outcome, count(*) FROM calls WHERE {period} GROUP BY outcome; "
        f"SELECT rank, count(*) FROM (SELECT min({_rank_sql()}) AS rank FROM calls c "
        f"WHERE {period} AND outcome IS NOT NULL GROUP BY customer_id) GROUP BY rank; "
        "SELECT value, count(*) FROM answers WHERE qtype = 'nps' AND "
        f"answered_at >= '{start}' AND answered_at < '{end}' GROUP BY value;")
    build_report(store, NOW, since, until)       # warm the page cache once
    ref_report = _best(2, lambda: _shell(path, shell_report))
    plain = _best(2, lambda: build_report(store, NOW, since, until))
    report = plain[2]
    print(f"calls in the year: {total:,}; cases {report.activity.cases:,}; "
          f"RR1 {report.rates['RR1']:.3f}; NPS {report.nps.score}", flush=True)
    print(f"{'reference  sqlite3 shell, same SQL':<34} {ref_report[0]:>12.2f} s   "
          f"(cpu {ref_report[1]:.2f} s)")
    _line("report     year (plain)", f"{plain[0]:.2f} s", ref_report, plain,
          "target: within 5x")
    print(f"{'reference  the plain report':<34} {plain[0]:>12.2f} s   (cpu {plain[1]:.2f} s)")
    for by in ("caller", "tier", "week"):
        statements: list[str] = []
        grouped = _timed(lambda by=by, seen=statements: _traced(
            conn, seen, lambda: build_report(store, NOW, since, until, by=by)))
        _line(f"report     year --by {by}", f"{grouped[0]:.2f} s", plain, grouped,
              "target: within 1.5x")
        if not replay:
            continue
        # The same SQL statements, replayed by the sqlite3 shell: what SQLite alone needs
        # for this breakdown, against the plain report (carecall adds about nothing).
        shell = _timed(lambda s=statements: _shell(path, "\n".join(s)))
        _line(f"shell      --by {by}: its own SQL", f"{shell[0]:.2f} s", plain, shell,
              f"{len(statements)} statements replayed")

    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        dump = _timed(lambda: _shell(path, "SELECT * FROM calls", Path(tmp) / "dump.csv",
                                     "-csv"))
        out = Path(tmp) / "calls.csv"
        export = _timed(lambda: export_table(store, "calls", out, fmt="csv"))
        size = out.stat().st_size
        mode = out.stat().st_mode & 0o777
        floor = _timed(lambda: _python_floor(conn, Path(tmp) / "floor.csv"))
    store.close()
    print(f"{'reference  sqlite3 -csv dump':<34} {rows_all / dump[0]:>10,.0f} rows/s   "
          f"(cpu {rows_all / dump[1]:,.0f} rows/s)")
    # a rate: the reference's time over ours
    _line("export     calls csv", f"{export[2] / export[0]:>10,.0f} rows/s",
          (1 / dump[0], 1 / dump[1]), (1 / export[0], 1 / export[1]),
          f"target: >= 0.5x; {size / 1e6:.0f} MB, mode {mode:o}")
    # What any Python export costs at least: the table's rows read through the sqlite3
    # module and written by the csv module (C code), with no local times, no customer refs
    # and no formula check.
    _line("floor      python: cursor -> csv", f"{rows_all / floor[0]:>10,.0f} rows/s",
          (1 / dump[0], 1 / dump[1]), (1 / floor[0], 1 / floor[1]),
          "the most a Python export could reach")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def alternate(path: Path, rounds: int) -> None:
    """The plain report and each --by report in turn, ``rounds`` times in one process: the
    median CPU of each and its ratio to the plain report's, per round too (a shared
    machine's load then weighs on all of them alike)."""
    import statistics

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from calls.reports import build_report
    from calls.store import Store

    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    store = Store.open(path)
    since, until = (NOW - timedelta(days=365)).date(), NOW.date()
    build_report(store, NOW, since, until)       # warm the page cache once
    cpu: dict[str, list[float]] = {"plain": [], "caller": [], "week": [], "tier": []}
    for _ in range(rounds):
        for by, runs in cpu.items():
            runs.append(_timed(lambda by=by: build_report(
                store, NOW, since, until, by=None if by == "plain" else by))[1])
    store.close()
    plain = statistics.median(cpu["plain"])
    for by, runs in cpu.items():
        per_round = ", ".join(f"{x / p:.2f}" for x, p in zip(runs, cpu["plain"]))
        print(f"report --by {by:<7} median cpu {statistics.median(runs):6.2f} s  "
              f"{statistics.median(runs) / plain:5.2f}x the plain report (rounds: {per_round})"
              if by != "plain" else
              f"report (plain)       median cpu {plain:6.2f} s", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def database_options(parser: argparse.ArgumentParser) -> None:
    """The options of the generated database (this script's and bench_export's)."""
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=3_000_000)
    parser.add_argument("--db", type=Path, help="database file (default: a temp file)")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) --db")


def on_database(args: argparse.Namespace, work) -> None:
    """Generate the database of ``args`` (in a child process) unless --keep finds it,
    run ``work(path)``, then remove it unless --keep."""
    tmpdir = None
    if args.db is None:
        tmpdir = tempfile.TemporaryDirectory()
        args.db = Path(tmpdir.name) / "bench.db"
    try:
        if not (args.keep and args.db.exists()):
            if args.db.exists():
                args.db.unlink()
            subprocess.run(
                [sys.executable, __file__, "--generate-only", "--db", str(args.db),
                 "--customers", str(args.customers), "--calls", str(args.calls)],
                check=True,
            )
        work(args.db)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
        elif not args.keep:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(args.db) + suffix)
                if p.exists():
                    os.unlink(p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser)
    parser.add_argument("--no-replay", action="store_true",
                        help="leave out the --by reports' SQL replayed in the shell")
    parser.add_argument("--alternate", type=int, metavar="ROUNDS",
                        help="only the reports: plain and each --by in turn, ROUNDS times "
                        "in one process, median CPU ratios")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate_only:
        generate(args.db, args.customers, args.calls)
        return
    on_database(args, lambda path: alternate(path, args.alternate) if args.alternate
                else measure(path, replay=not args.no_replay))


if __name__ == "__main__":
    main()
