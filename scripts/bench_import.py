#!/usr/bin/env python3
"""Benchmark `carecall import` against `sqlite-utils insert --csv` on the same file.

Generates a customer list of N rows (default 200,000) with realistic phone formats (US,
Canada, UK, Germany, France; national and international, extensions, a few bad rows),
then in the same run:

1. imports it with carecall into a fresh database (a subprocess, as a user runs it),
2. loads the same file with `sqlite-utils insert --csv` (the reference),

and prints rows/s for both, the ratio, and carecall's peak memory (the largest resident
set of the importing process and of each of its phone-parsing workers, from getrusage).

Targets (issue 2): ratio >= 2.0 and peak memory < 250 MB whatever the file size.

Usage: python scripts/bench_import.py [--rows N] [--workers W] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

HEADER = ["Customer Id", "First Name", "Last Name", "Company", "City", "Country", "Phone",
          "Mobile", "Email", "Annual Revenue", "Customer Since", "Last Purchase", "Birthday",
          "Account Owner", "Segment"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` customers to ``path``, streaming (constant memory)."""
    import make_demo_list as demo

    rng = random.Random(seed)
    areas = {"US": demo.US_AREAS, "CA": demo.CA_AREAS, "GB": demo.GB_AREAS,
             "DE": demo.DE_AREAS, "FR": demo.FR_AREAS}
    countries = [c for c, _ in demo.MIX]
    weights = [w for _, w in demo.MIX]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for n in range(1, rows + 1):
            country = rng.choices(countries, weights)[0]
            city, prefix = rng.choice(areas[country])
            if country in ("US", "CA"):
                phone = demo.us_number(rng, prefix, country)
            elif country == "GB":
                phone = demo.gb_number(rng, prefix)
            elif country == "DE":
                phone = demo.de_number(rng, prefix)
            else:
                phone = demo.fr_number(rng, prefix)
            if rng.random() < 0.003:
                phone = rng.choice(["-4396", "n/a", "555-0199", ""])
            rev = demo.revenue(rng)
            w.writerow([
                f"C{n:07d}", rng.choice(demo.FIRST[country]), rng.choice(demo.LAST[country]),
                rng.choice(demo.COMPANY[country]), city,
                rng.choice(demo.COUNTRY_SPELLINGS[country]), phone,
                "", f"c{n}@example.com", f"{rev:.2f}",
                f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}",
                f"19{rng.randint(45, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice(demo.OWNERS), rng.choice(demo.SEGMENTS),
            ])


def child_import(file: str, db: str, workers: int | None) -> None:
    """Run one import in this process and print its result and peak memory as JSON."""
    from calls.clock import now_utc
    from calls.ingest.customers import ImportOptions, import_customers
    from calls.store import Store

    start = time.perf_counter()
    with Store.open(db) as store:
        result = import_customers(store, file, ImportOptions(workers=workers), now_utc())
    elapsed = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "seconds": elapsed, "rows_read": result.rows_read, "inserted": result.inserted,
        "rejected": result.rejected, "maxrss_kb": own.ru_maxrss,
        "workers_maxrss_kb": workers.ru_maxrss,
        "cpu_s": own.ru_utime + own.ru_stime,
        "workers_cpu_s": workers.ru_utime + workers.ru_stime,
    }))


def run_timed(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd``; its wall time, the CPU seconds it and its children used, its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed:\n{proc.stderr}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed, cpu, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description="carecall import vs sqlite-utils insert --csv")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="phone-parsing processes (default: every core)")
    parser.add_argument("--keep", type=Path, help="keep the generated file and databases here")
    parser.add_argument("--child-import", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(*args.child_import, args.workers)
        return

    tmp = Path(tempfile.mkdtemp(prefix="carecall-bench-"))
    work = args.keep or tmp
    work.mkdir(parents=True, exist_ok=True)
    try:
        listing = work / "customers.csv"
        t = time.perf_counter()
        generate(listing, args.rows)
        print(f"generated {args.rows:,} rows ({listing.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - t:.1f}s; cores: {os.cpu_count()}")

        # Both tools load into new databases (a --keep directory may hold the last run's).
        for name in ("carecall.db", "carecall.db-wal", "carecall.db-shm", "reference.db"):
            (work / name).unlink(missing_ok=True)
        cmd = [sys.executable, __file__, "--child-import", str(listing), str(work / "carecall.db")]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        load_before = os.getloadavg()[0]
        cc_wall, cc_cpu, out = run_timed(cmd)
        cc = json.loads(out.strip().splitlines()[-1])

        sqlite_utils = shutil.which("sqlite-utils") or str(Path(sys.executable).parent / "sqlite-utils")
        su_wall, su_cpu, _ = run_timed([sqlite_utils, "insert", str(work / "reference.db"), "customers",
                                str(listing), "--csv"])

        cc_rate = args.rows / cc_wall
        su_rate = args.rows / su_wall
        peak_mb = max(cc["maxrss_kb"], cc["workers_maxrss_kb"]) / 1024
        print(f"carecall import:           {cc_wall:6.2f}s  {cc_rate:9,.0f} rows/s  "
              f"(inserted {cc['inserted']:,}, rejected {cc['rejected']:,})")
        print(f"sqlite-utils insert --csv: {su_wall:6.2f}s  {su_rate:9,.0f} rows/s  (reference)")
        print(f"ratio carecall / sqlite-utils: {cc_rate / su_rate:.2f}x  (target >= 2.0)")
        print(f"peak memory: importer {cc['maxrss_kb'] / 1024:.0f} MB, largest worker "
              f"{cc['workers_maxrss_kb'] / 1024:.0f} MB  (target < 250 MB; max {peak_mb:.0f} MB)")
        # The ratio above is wall time on a machine others may share; CPU seconds show what
        # each tool costs whatever the load (carecall spreads its cost over the cores).
        print(f"cpu: carecall {cc_cpu:.1f}s (importer {cc['cpu_s']:.1f}s, workers "
              f"{cc['workers_cpu_s']:.1f}s), sqlite-utils {su_cpu:.1f}s; load average "
              f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
