#!/usr/bin/env python3
"""Benchmark importing a customer list again: unchanged, and with 1 % of its rows changed.

Generates a list of N rows (default 200,000; the generator of ``bench_import.py``), then in
one run and one process:

1. imports it into a fresh database (the reference: the first import),
2. imports the same file again (unchanged: recognised by its hash and options),
3. imports a copy with 1 % of the rows changed (a new revenue),

and prints each time and its ratio to the first import's.

Targets (issue 16): the unchanged file under 0.10x the first import, the 1 % changed file
under 0.20x.

Usage: python scripts/bench_reimport.py [--rows N] [--changed FRACTION] [--workers W]
"""

from __future__ import annotations

import argparse
import csv
import random
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
            for label, path in (("first import", first_file), ("unchanged file", first_file),
                                (f"{changed:,} rows changed", changed_file)):
                start = time.perf_counter()
                result = import_customers(store, path, options, now_utc())
                seconds = time.perf_counter() - start
                runs.append((label, seconds, result))
    first = runs[0][1]
    print(f"{args.rows:,} rows; {changed:,} changed ({args.changed:.1%})")
    for label, seconds, r in runs:
        print(f"{label:>22}: {seconds:7.2f}s  {seconds / first:5.2f}x first  (inserted "
              f"{r.inserted:,}, updated {r.updated:,}, unchanged {r.unchanged:,}, "
              f"rejected {r.rejected:,})")
    unchanged, partial = runs[1][1] / first, runs[2][1] / first
    print(f"targets: unchanged < 0.10x: {'met' if unchanged < 0.10 else 'NOT met'}; "
          f"1 % changed < 0.20x: {'met' if partial < 0.20 else 'NOT met'}")


if __name__ == "__main__":
    main()
