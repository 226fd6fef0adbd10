#!/usr/bin/env python3
"""Benchmark `carecall import-orders`: N order lines for M customers, imported and derived.

Generates an order export shaped like the UCI Online Retail data (invoice numbers,
cancellations "C...", some lines without a customer id, a few exact duplicates, dates
over two years), creates M customers, then in the same run:

1. imports the lines with carecall into that database (a subprocess, as a user runs it:
   parse, stage, store, attach, derive the purchase figures, re-tier), and
2. reads the same file with Python's csv module (the reference: the floor for any Python
   reader of this file),

and prints lines/s for both, their ratio, and carecall's peak memory (getrusage of the
importing process and of its workers).

Targets (issue 8): over 100,000 lines/s for 2,000,000 lines and 100,000 customers, peak
memory under 300 MB.

Usage: python scripts/bench_orders.py [--lines N] [--customers M] [--workers W] [--keep DIR]
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
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
          "CustomerID", "Country"]
PRODUCTS = [(f"{20000 + i}", f"PRODUCT {i} {w}", round(0.5 + (i % 40) * 0.37, 2))
            for i, w in enumerate(["MUG", "LANTERN", "CANDLE", "BAG", "SIGN", "BOX"] * 50)]


def generate(path: Path, lines: int, customers: int, seed: int = 3) -> None:
    """Write ``lines`` order lines, streaming; invoices of 1-30 lines for random customers.

    Invoices come in date order over two years, as an ERP or shop exports them (the UCI
    Online Retail file too): invoice numbers and dates rise together.
    """
    rng = random.Random(seed)
    when = datetime(2024, 12, 1, 8, 0)
    # an invoice holds 15.5 lines on average: spread the invoices over two years
    step = 2 * 365 * 24 * 3600 / (lines / 15.5)
    invoice = 500000
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        while written < lines:
            invoice += 1
            cust = "" if rng.random() < 0.05 else f"{10000 + rng.randrange(customers)}.0"
            when += timedelta(seconds=rng.uniform(0, 2 * step))
            cancel = rng.random() < 0.02
            number = f"C{invoice}" if cancel else str(invoice)
            stamp = when.strftime("%Y-%m-%d %H:%M:%S")
            previous = None
            for _ in range(min(rng.randint(1, 30), lines - written)):
                code, desc, price = rng.choice(PRODUCTS)
                qty = rng.randint(1, 24) * (-1 if cancel else 1)
                row = [number, code, desc, qty, stamp, price, cust, "United Kingdom"]
                if previous is not None and rng.random() < 0.01:
                    row = previous                     # an exact duplicate line
                w.writerow(row)
                previous = row
                written += 1


def make_customers(db: Path, customers: int) -> None:
    """Create the customers directly (not timed: this benchmark is about orders)."""
    from calls.store import Store

    with Store.open(db) as store, store.write():
        store.db.conn.executemany(
            "INSERT INTO customers (ref, name, phone, created_at, updated_at) "
            "VALUES (?, ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            ((str(10000 + i), f"Customer {i}", f"+4420794{i:05d}") for i in range(customers)),
        )


def child_import(file: str, db: str, workers: int | None) -> None:
    """Run one orders import in this process; print its result and peak memory as JSON."""
    from calls.clock import now_utc
    from calls.ingest.orders import OrderImportOptions, import_orders
    from calls.store import Store

    start = time.perf_counter()
    with Store.open(db) as store:
        r = import_orders(store, file, OrderImportOptions(workers=workers), now_utc())
    elapsed = time.perf_counter() - start
    print(json.dumps({
        "seconds": elapsed, "rows_read": r.rows_read, "added": r.added, "pending": r.pending,
        "duplicates": r.duplicates, "no_customer": r.no_customer, "rejected": r.rejected,
        "customers_with_orders": r.customers_with_orders,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "workers_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }))


def csv_reference(path: Path) -> float:
    """Seconds for Python's csv module to read every line of the file."""
    start = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as fh:
        for _ in csv.reader(fh):
            pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description="carecall import-orders benchmark")
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--child-import", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(*args.child_import, args.workers)
        return
    tmp = Path(tempfile.mkdtemp(prefix="carecall-bench-orders-"))
    work = args.keep or tmp
    work.mkdir(parents=True, exist_ok=True)
    try:
        orders = work / "orders.csv"
        db = work / "carecall.db"
        for leftover in work.glob("carecall.db*"):
            leftover.unlink()
        t = time.perf_counter()
        generate(orders, args.lines, args.customers)
        make_customers(db, args.customers)
        print(f"generated {args.lines:,} lines ({orders.stat().st_size / 1e6:.0f} MB) and "
              f"{args.customers:,} customers in {time.perf_counter() - t:.1f}s; "
              f"cores: {os.cpu_count()}")
        cmd = [sys.executable, __file__, "--child-import", str(orders), str(db)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"import failed:\n{proc.stderr}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        ref = csv_reference(orders)
        rate = args.lines / wall
        ref_rate = args.lines / ref
        print(f"carecall import-orders: {wall:6.2f}s  {rate:10,.0f} lines/s  (added "
              f"{r['added']:,}, duplicates {r['duplicates']:,}, no customer "
              f"{r['no_customer']:,}; {r['customers_with_orders']:,} customers derived)")
        print(f"csv.reader (reference): {ref:6.2f}s  {ref_rate:10,.0f} lines/s")
        print(f"ratio carecall / csv.reader: {rate / ref_rate:.2f}x; "
              f"target >= 100,000 lines/s: {'met' if rate >= 100_000 else 'NOT met'}")
        print(f"peak memory: importer {r['maxrss_kb'] / 1024:.0f} MB, largest worker "
              f"{r['workers_maxrss_kb'] / 1024:.0f} MB  (target < 300 MB)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
