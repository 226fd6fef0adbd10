"""Benchmark: `carecall export calls` CSV against a `sqlite3 -csv` dump of the calls table.

Target (issue 18): the export's rows/s at >= 0.5x the dump's, measured in the same run on
the same file. Each round runs, one after the other: the dump (the reference), the plain
export path (Python shapes every row: calls.export.RowShaper), and the SQL path
(calls.export.sql_csv_chunks: SQLite builds the lines, on 1 connection and on N at once).
Every export's file is compared byte for byte with the plain path's.

Since a call row records what the export writes beside it (its customer's ref and zone,
its moments' local times: migration calls_0003_recorded_for_export), the table's dump
writes those columns too. So two references: the dump of the table as it is
(``SELECT *``) and the stricter one, the dump without the recorded columns (the table as
it was before them); ratios are given against both (``narrow``: the stricter).

    python scripts/bench_export.py --db /tmp/bench.db --keep            # 1M/3M, 3 rounds
    python scripts/bench_export.py --customers 100000 --calls 300000 --rounds 5

The database is the one scripts/bench_report.py generates (same seed, same options).
Figures are wall time (what a user waits; other processes on the machine take part of
it) and CPU time of this process and its threads (the work itself; the dump's is the
sqlite3 shell's). The SQL path runs on several threads: its CPU time is their sum, so
its CPU ratio is below its wall ratio whenever a second core is free. The load average
is printed at the start and at the end of each round.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import children_cpu, database_options, on_database


def _timed(work) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process's threads and ended children)."""
    t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
    work()
    return time.perf_counter() - t0, time.process_time() - c0 + children_cpu() - k0


def _dump(path: Path, out: Path, columns: str = "*") -> None:
    with open(out, "w") as fh:
        subprocess.run(["sqlite3", "-csv", str(path), f"SELECT {columns} FROM calls"],
                       stdout=fh, check=True)


def _narrow_columns(store) -> str:
    """The calls table's columns without what a call records for the export (all of them
    in a tree from before calls_0003: this script runs in an older tree's copy too, for
    an A/B/B/A comparison of the same figures)."""
    try:
        from calls.store.calls import RECORDED
    except ImportError:
        RECORDED = ()

    return ", ".join(r[1] for r in store.db.conn.execute("PRAGMA table_info(calls)")
                     if r[1] not in RECORDED)


def _export(store, out: Path, *, plain: bool, workers: int) -> None:
    from calls import export

    saved = export.SQL_CSV_MIN_ROWS, export.sql_workers
    export.SQL_CSV_MIN_ROWS = float("inf") if plain else 0
    export.sql_workers = lambda: workers
    try:
        export.export_table(store, "calls", out, fmt="csv")
    finally:
        export.SQL_CSV_MIN_ROWS, export.sql_workers = saved


def measure(path: Path, rounds: int, workers: int) -> None:
    from calls.export import sql_workers
    from calls.store import Store

    workers = workers or max(2, sql_workers())
    store = Store.open(path)
    rows = store.scalar("SELECT count(*) FROM calls")
    print(f"{rows:,} calls, {store.scalar('SELECT count(*) FROM customers'):,} customers; "
          f"{os.cpu_count()} cores, SQL path on 1 and {workers} connections", flush=True)
    kinds = [("plain path (Python per row)", {"plain": True, "workers": 1}),
             ("SQL path, 1 connection", {"plain": False, "workers": 1}),
             (f"SQL path, {workers} connections", {"plain": False, "workers": workers})]
    got: dict[str, list[tuple[float, float]]] = {k: [] for k, _ in kinds}
    dumps: list[tuple[float, float]] = []
    narrows: list[tuple[float, float]] = []
    narrow_columns = _narrow_columns(store)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        _dump(path, Path(tmp) / "warm.csv")          # the file's pages in the OS cache
        for n in range(1, rounds + 1):
            load = os.getloadavg()[0]
            dump = _timed(lambda: _dump(path, Path(tmp) / "dump.csv"))
            dumps.append(dump)
            narrow = _timed(lambda: _dump(path, Path(tmp) / "narrow.csv", narrow_columns))
            narrows.append(narrow)
            print(f"round {n} (load {load:.1f})  sqlite3 -csv dump {rows / dump[0]:>10,.0f} "
                  f"rows/s  (cpu {rows / dump[1]:,.0f} rows/s); without the recorded "
                  f"columns {rows / narrow[0]:,.0f} rows/s (cpu {rows / narrow[1]:,.0f})",
                  flush=True)
            for label, how in kinds:
                out = Path(tmp) / f"{how['plain']}{how['workers']}.csv"
                took = _timed(lambda out=out, how=how: _export(store, out, **how))
                got[label].append(took)
                same = ("" if how["plain"] else "  same bytes as the plain path"
                        if filecmp.cmp(out, Path(tmp) / "True1.csv", shallow=False)
                        else "  DIFFERENT from the plain path")
                print(f"  {label:<30} {rows / took[0]:>10,.0f} rows/s  wall "
                      f"{rows / took[1]:>10,.0f} cpu  "
                      f"{dump[0] / took[0]:5.2f}x  cpu {dump[1] / took[1]:5.2f}x the dump; "
                      f"narrow {narrow[0] / took[0]:5.2f}x / {narrow[1] / took[1]:5.2f}x"
                      f"{same}", flush=True)
            print(f"  load at the end of the round: {os.getloadavg()[0]:.1f}", flush=True)
    store.close()
    print(f"medians over {rounds} rounds (each ratio against the same round's dump):")
    for label, runs in got.items():
        wall = statistics.median(d[0] / t[0] for d, t in zip(dumps, runs))
        cpu = statistics.median(d[1] / t[1] for d, t in zip(dumps, runs))
        n_wall = statistics.median(d[0] / t[0] for d, t in zip(narrows, runs))
        n_cpu = statistics.median(d[1] / t[1] for d, t in zip(narrows, runs))
        print(f"  {label:<30} {statistics.median(rows / t[0] for t in runs):>10,.0f} rows/s "
              f"wall {statistics.median(rows / t[1] for t in runs):>10,.0f} cpu")
        print(f"  {'':<30} wall {wall:5.2f}x  cpu {cpu:5.2f}x the dump; without the "
              f"recorded columns wall {n_wall:5.2f}x  cpu {n_cpu:5.2f}x   (target: >= 0.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0,
                        help="connections of the parallel SQL path (default: as the export)")
    args = parser.parse_args()
    on_database(args, lambda path: measure(path, args.rounds, args.workers))


if __name__ == "__main__":
    main()
