#!/usr/bin/env python3
"""Benchmark importing a customer list again: unchanged, and with 1 % of its rows changed.

Generates a list of N rows (default 200,000; the generator of ``bench_import.py``), then in
one run and one process:

1. imports it into a fresh database (the reference: the first import),
2. imports the same file again (unchanged: recognised by its hash and options),
3. imports a copy with 1 % of the rows changed (a new revenue),

and prints each time and its ratio to the first import's: wall time, and CPU time (this
process and its worker processes; on a machine shared with other work the CPU ratio is the
steadier figure), with the load average before and after.

Targets (issue 16): the unchanged file under 0.10x the first import, the 1 % changed file
under 0.20x.

Usage: python scripts/bench_reimport.py [--rows N] [--changed FRACTION] [--workers W]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def changed_copy(source: Path, target: Path, fraction: float, seed: int = 5) -> int:
    """Write ``source`` to ``target`` with ``fraction`` of its rows given a new revenue."""
    rng = random.Random(seed)
    changed = 0
    with open(source, newline="", encoding="utf-8") as src, \
            open(target, "w", newline="", encoding="utf-8") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        header = next(reader)
        writer.writerow(header)
        revenue = header.index("Annual Revenue")
        for row in reader:
            if rng.random() < fraction:
                row[revenue] = f"{rng.uniform(10, 90000):.2f}"
                changed += 1
            writer.writerow(row)
    return changed


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from bench_import import generate

    from calls.clock import now_utc
    from calls.ingest.customers import ImportOptions, import_customers
    from calls.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        first_file, changed_file = Path(tmp) / "list.csv", Path(tmp) / "list_changed.csv"
        generate(first_file, args.rows)
        changed = changed_copy(first_file, changed_file, args.changed)
        options = ImportOptions(workers=args.workers)
        with Store.open(Path(tmp) / "bench.db") as store:
            runs = []
            load_before = os.getloadavg()[0]
            for label, path in (("first import", first_file), ("unchanged file", first_file),
                                (f"{changed:,} rows changed", changed_file)):
                cpu0 = _cpu()
                start = time.perf_counter()
                result = import_customers(store, path, options, now_utc())
                seconds = time.perf_counter() - start
                runs.append((label, seconds, _cpu() - cpu0, result))
    first, first_cpu = runs[0][1], runs[0][2]
    print(f"{args.rows:,} rows; {changed:,} changed ({args.changed:.1%}); load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores")
    for label, seconds, cpu, r in runs:
        print(f"{label:>22}: {seconds:7.2f}s wall {seconds / first:5.2f}x first, "
              f"{cpu:6.2f}s CPU {cpu / first_cpu:5.2f}x first  (inserted {r.inserted:,}, "
              f"updated {r.updated:,}, unchanged {r.unchanged:,}, rejected {r.rejected:,})")
    for kind, i in (("wall", 1), ("CPU", 2)):
        unchanged, partial = runs[1][i] / runs[0][i], runs[2][i] / runs[0][i]
        print(f"targets ({kind}): unchanged < 0.10x: "
              f"{'met' if unchanged < 0.10 else 'NOT met'} ({unchanged:.3f}x); 1 % changed "
              f"< 0.20x: {'met' if partial < 0.20 else 'NOT met'} ({partial:.3f}x)")


if __name__ == "__main__":
    main()
