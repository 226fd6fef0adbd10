#!/usr/bin/env python3
"""Benchmark Excel imports: the same rows as .xlsx and as CSV, through the same commands.

Makes (or takes with ``--file``) a workbook of N rows and its CSV twin (every cell as the
reader gives it, so both files hold the same rows), then runs, each in a process of its
own with a fresh database, interleaved (A B C D, D C B A, ...):

- ``xlsx``: ``carecall import-orders`` (or ``import`` with ``--kind customers``) of the
  workbook, with the default reader (python-calamine);
- ``xlsx plain``: the same with the plain reader (openpyxl, ``readers.XLSX_READER``);
- ``csv``: the same command on the CSV twin (the reference: the same pipeline without
  Excel);
- ``bare calamine`` / ``bare openpyxl``: only the reader's own iteration over the sheet
  (the floor of each).

It prints rows/s for each (median over ``--rounds``), the ratios, the CPU seconds
(process and its workers), the peak resident memory, the load average and the time.

    python scripts/bench_xlsx.py [--rows 40000] [--kind orders|customers] [--rounds 3]
    python scripts/bench_xlsx.py --file "Online Retail.xlsx" [--sheet NAME]

Without ``--file`` an orders workbook is shaped like the UCI Online Retail one (numbers
as numbers, native date-times, inline strings as pandas writes them are not made:
XlsxWriter writes shared strings); a customers one like scripts/bench_import.py's list.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

COMMAND = {"orders": "import-orders", "customers": "import"}


def make_workbook(kind: str, rows: int, work: Path) -> Path:
    """An .xlsx of ``rows`` generated rows, cells typed as a spreadsheet holds them."""
    import xlsxwriter

    source = work / f"generated_{kind}.csv"
    if kind == "orders":
        import bench_orders

        bench_orders.generate(source, rows, max(1000, rows // 20))
    else:
        import bench_import

        bench_import.generate(source, rows)
    path = work / f"{kind}.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Sheet1")
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    with open(source, newline="", encoding="utf-8") as fh:
        for r, row in enumerate(csv.reader(fh)):
            for c, cell in enumerate(row):
                if r and cell and _number(cell) is not None:
                    sheet.write_number(r, c, _number(cell))
                elif r and len(cell) == 19 and cell[4] == "-" and cell[10] == " ":
                    sheet.write_datetime(r, c, datetime.fromisoformat(cell), stamp)
                elif r and len(cell) == 10 and cell[4] == "-" and cell[7] == "-":
                    sheet.write_datetime(r, c, datetime.fromisoformat(cell), day)
                elif cell:
                    sheet.write_string(r, c, cell)
    book.close()
    source.unlink()
    return path


def _number(cell: str) -> float | None:
    if cell[:1] in "+0" and len(cell) > 1 and cell[1:2] != ".":
        return None     # a phone number or a code with a leading zero stays text
    try:
        return float(cell)
    except ValueError:
        return None


def csv_twin(path: Path, sheet: str | None, work: Path) -> tuple[Path, int]:
    """The workbook's rows as CSV text, as the plain reader gives them; and how many."""
    from calls.ingest import readers

    readers.XLSX_READER = "openpyxl"
    table = readers.read_table(path, sheet=sheet)
    out = work / (path.stem + ".csv")
    n = 0
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(table.headers)
        for _line, row in table.rows():
            w.writerow([row.get(h, "") for h in table.headers])
            n += 1
    return out, n


def child(mode: str, kind: str, file: str, db: str, sheet: str | None) -> None:
    """One measured run in this process; prints seconds and rows as JSON."""
    start = time.perf_counter()
    rows = 0
    if mode.startswith("bare"):
        if mode == "bare calamine":
            from python_calamine import CalamineWorkbook

            wb = CalamineWorkbook.from_path(file)
            s = wb.get_sheet_by_name(sheet) if sheet else wb.get_sheet_by_index(0)
            for _ in s.iter_rows():
                rows += 1
        else:
            from openpyxl import load_workbook

            wb = load_workbook(file, read_only=True, data_only=True)
            ws = wb[sheet] if sheet else wb.worksheets[0]
            for _ in ws.iter_rows(values_only=True):
                rows += 1
        rows -= 1   # the header
    else:
        from calls.cli import main
        from calls.ingest import readers

        readers.XLSX_READER = "openpyxl" if mode == "xlsx plain" else "calamine"
        sys.argv = ["carecall", COMMAND[kind], file, "--db", db, "--json"]
        if sheet and not file.endswith(".csv"):
            sys.argv += ["--sheet", sheet]
        out = sys.stdout
        sys.stdout = open(os.devnull, "w")   # noqa: SIM115 (the summary is not measured)
        try:
            main()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
        finally:
            sys.stdout = out
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows,
                      "maxrss_mb": max(own.ru_maxrss, kids.ru_maxrss) / 1024}))


def run(mode: str, kind: str, file: Path, work: Path, sheet: str | None) -> dict:
    db = work / "bench.db"
    for leftover in work.glob("bench.db*"):
        leftover.unlink()
    cmd = [sys.executable, __file__, "--child", mode, kind, str(file), str(db)]
    if sheet:
        cmd += ["--sheet", sheet]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{mode} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description="Excel imports against CSV, same rows")
    ap.add_argument("--rows", type=int, default=40_000)
    ap.add_argument("--kind", choices=sorted(COMMAND), default="orders")
    ap.add_argument("--file", type=Path, help="an existing workbook instead of a made one")
    ap.add_argument("--sheet")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-plain", action="store_true", help="skip the openpyxl import")
    ap.add_argument("--keep", type=Path, help="keep the files here")
    ap.add_argument("--child", nargs=4, metavar=("MODE", "KIND", "FILE", "DB"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, args.sheet)
        return
    tmp = Path(tempfile.mkdtemp(prefix="carecall-bench-xlsx-"))
    work = args.keep or tmp
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        if args.file:
            book = work / args.file.name
            shutil.copyfile(args.file, book)
        else:
            book = make_workbook(args.kind, args.rows, work)
        twin, rows = csv_twin(book, args.sheet, work)
        print(f"{book.name}: {rows:,} rows, {book.stat().st_size / 1e6:.1f} MB "
              f"(CSV twin {twin.stat().st_size / 1e6:.1f} MB), made in "
              f"{time.perf_counter() - t:.1f}s; command: carecall {COMMAND[args.kind]}; "
              f"cores: {os.cpu_count()}")
        modes = ["xlsx", "csv", "bare calamine", "bare openpyxl"]
        if not args.no_plain:
            modes.insert(1, "xlsx plain")
        results: dict[str, list[dict]] = {m: [] for m in modes}
        loads = [os.getloadavg()[0]]
        print(f"start {time.strftime('%H:%M:%S', time.gmtime())} UTC, load "
              f"{os.getloadavg()[0]:.2f}")
        for r in range(args.rounds):
            for mode in (modes if r % 2 == 0 else modes[::-1]):
                results[mode].append(run(mode, args.kind, twin if mode == "csv" else book,
                                         work, args.sheet))
            loads.append(os.getloadavg()[0])
        print(f"end   {time.strftime('%H:%M:%S', time.gmtime())} UTC, load "
              f"{os.getloadavg()[0]:.2f} (seen {min(loads):.2f}-{max(loads):.2f})")
        print(f"medians over {args.rounds} rounds (rows/s of the whole process; 'in' = "
              "the time inside the process, without Python's start-up):")
        rate = {}
        for mode in modes:
            rs = results[mode]
            wall = statistics.median(x["wall"] for x in rs)
            inner = statistics.median(x["seconds"] for x in rs)
            cpu = statistics.median(x["cpu"] for x in rs)
            mem = max(x["maxrss_mb"] for x in rs)
            rate[mode] = rows / wall
            print(f"  {mode:14s} {wall:7.2f}s  {rows / wall:9,.0f} rows/s  (in {inner:6.2f}s; "
                  f"CPU {cpu:6.2f}s; peak {mem:5.0f} MB)")
        print(f"xlsx / csv: {rate['xlsx'] / rate['csv']:.2f}x the CSV twin's rows/s")
        if "xlsx plain" in rate:
            print(f"xlsx / xlsx plain: {rate['xlsx'] / rate['xlsx plain']:.2f}x "
                  f"(plain / csv {rate['xlsx plain'] / rate['csv']:.2f}x)")
        print(f"bare calamine / bare openpyxl: "
              f"{rate['bare calamine'] / rate['bare openpyxl']:.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
