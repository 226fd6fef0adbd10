"""Benchmark: `carecall report` for a year and `carecall export calls` on a large database.

Targets (issue 7): 1,000,000 customers and 3,000,000 calls; the year's report under 5 s,
the calls export above 200,000 rows/s, peak memory under 300 MB.

    python scripts/bench_report.py                       # full size (takes a few minutes)
    python scripts/bench_report.py --customers 20000 --calls 60000
    python scripts/bench_report.py --db /tmp/bench.db --keep   # reuse the generated file

The database is generated in a child process (so the measured process's peak memory is
the report's and the export's, not the generator's). Each figure is printed next to a
reference measured in the same run on the same file: a plain ``SELECT count(*)`` over
the calls (what a year's scan costs at least) and a raw cursor dump of every calls row
(what reading the table costs before any formatting).
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
    """Samples the anonymous (private, non-file) resident memory of this process and of
    its child processes (the export's worker) every 20 ms: what the report and the export
    themselves allocate, without the mapped database."""

    def __init__(self) -> None:
        self.peak = 0
        self.children_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_kb(pid: str = "self") -> int:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1])
        except OSError:   # the child has just ended
            pass
        return 0

    @staticmethod
    def children() -> list[str]:
        found: list[str] = []
        for tasks in Path("/proc/self/task").glob("*/children"):
            try:
                found += tasks.read_text().split()
            except OSError:
                continue
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now_kb())
            together = sum(self.now_kb(pid) for pid in self.children())
            self.children_peak = max(self.children_peak, together)
            self._stop.wait(0.02)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now_kb())


def children_cpu() -> float:
    """CPU seconds of this process's ended child processes (the export's worker)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(path: Path) -> None:
    """Run the report and the export on ``path`` and print figures with references."""
    with AnonPeak() as anon:
        _measure(path)
    print(f"peak private memory (report + export): {anon.peak / 1024:6.0f} MB "
          f"(target < 300 MB); the export's worker process: {anon.children_peak / 1024:.0f} MB "
          "(its pages shared with this process, e.g. the customer lookup, count in both)")
    print(f"peak resident incl. the memory-mapped database file: {peak_mb():6.0f} MB")
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores "
          "(figures above 1 per core mean other work shared the machine)")


def _measure(path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from calls.export import export_table
    from calls.reports import build_report
    from calls.store import Store

    store = Store.open(path)
    conn = store.db.conn
    since = (NOW - timedelta(days=365)).date()
    until = NOW.date()

    # Warm the page cache once (a first run after generating measures the disk, not us);
    # then the best of two runs, for the reference and for the report alike: the machine
    # may be shared, and the best run is the one least disturbed by others.
    build_report(store, NOW, since, until)
    ref_count = t_report = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        total = conn.execute("SELECT count(*) FROM calls WHERE started_at >= ?",
                             (since.isoformat(),)).fetchone()[0]
        ref_count = min(ref_count, time.perf_counter() - t0)
        t0 = time.perf_counter()
        report = build_report(store, NOW, since, until)
        t_report = min(t_report, time.perf_counter() - t0)

    # Wall time and this process's CPU time for both: on a shared machine the CPU time
    # is what the work itself cost, the wall time also what other processes took.
    t0, c0 = time.perf_counter(), time.process_time()
    dumped = 0
    for _ in conn.execute("SELECT * FROM calls"):
        dumped += 1
    ref_dump, cpu_dump = time.perf_counter() - t0, time.process_time() - c0

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "calls.csv"
        t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
        written = export_table(store, "calls", out, fmt="csv")
        t_export = time.perf_counter() - t0
        # the export's worker process included: the CPU the export cost in all
        cpu_export = time.process_time() - c0 + children_cpu() - k0
        size = out.stat().st_size
        mode = out.stat().st_mode & 0o777
    store.close()

    print(f"calls in the year: {total:,}; cases {report.activity.cases:,}; "
          f"RR1 {report.rates['RR1']:.3f}; NPS {report.nps.score}")
    print(f"reference  SELECT count(*) (year): {ref_count:6.2f} s")
    print(f"report     year:                   {t_report:6.2f} s   "
          f"(target < 5 s; {t_report / ref_count:.1f}x the count)")
    print(f"reference  raw cursor dump:        {dumped / ref_dump:>10,.0f} rows/s")
    print(f"export     calls csv:              {written / t_export:>10,.0f} rows/s   "
          f"(target > 200,000; {t_export / ref_dump:.1f}x the raw dump time, "
          f"{size / 1e6:.0f} MB, mode {mode:o})")
    print(f"  by CPU time (the export's worker included): raw dump {dumped / cpu_dump:,.0f} "
          f"rows/s, export {written / cpu_export:,.0f} rows/s ({cpu_export / cpu_dump:.1f}x)")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=3_000_000)
    parser.add_argument("--db", type=Path, help="database file (default: a temp file)")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) --db")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate_only:
        generate(args.db, args.customers, args.calls)
        return
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
        measure(args.db)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
        elif not args.keep:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(args.db) + suffix)
                if p.exists():
                    os.unlink(p)


if __name__ == "__main__":
    main()
