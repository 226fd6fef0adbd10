"""How long a person waits for a command: whole processes, CPU time, medians.

    python scripts/bench_cli.py [--db PATH] [--runs 15]

Prints, for each command, the median CPU time (user + system of the child process) and
its ratio to the references measured in the same run: ``python -c pass`` (for --help) and
``python -c 'import sqlite3'`` (for the queue). Targets (issue 18): ``carecall --help``
within 4x ``python -c pass``; ``carecall queue --limit 50 --json`` within 6x ``python -c
'import sqlite3'``. Bytecode is compiled first (start-up without .pyc files measures the
compiler, not carecall). Without --db, a demo database is built in a temporary folder;
pass the 1M-customer database of ``scripts/bench_queue.py --keep`` for the issue's figure.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_of(argv: list[str], env: dict) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database for the queue (default: a demo)")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    compileall.compile_dir(str(ROOT / "calls"), quiet=1)
    compileall.compile_dir(str(ROOT / "tui"), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    py = sys.executable
    carecall = [py, "-c", ("import sys; from calls.cli import main; sys.argv[0] = 'carecall'; "
                           "main()")]
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "demo.db"
            subprocess.run([*carecall, "demo", "--no-shift", "--db", str(db)], env=env,
                           check=True, stdout=subprocess.DEVNULL)
        cases = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import sqlite3'": [py, "-c", "import sqlite3"],
            "carecall --help": [*carecall, "--help"],
            "carecall --version": [*carecall, "--version"],
            "carecall queue --limit 50 --json": [*carecall, "queue", "--limit", "50", "--json",
                                                 "--db", str(db)],
            "carecall report --help": [*carecall, "report", "--help"],
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        walls: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):          # interleaved: a noisy moment hits every case
            for name, argv in cases.items():
                cpu, wall = cpu_of(argv, env)
                samples[name].append(cpu)
                walls[name].append(wall)
    med = {name: statistics.median(values) for name, values in samples.items()}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"{args.runs} runs each, medians; db {db}")
    for name in cases:
        print(f"  {name:<36} CPU {1000 * med[name]:7.1f} ms   wall "
              f"{1000 * statistics.median(walls[name]):7.1f} ms")
    ref_pass, ref_sqlite = med["python -c pass"], med["python -c 'import sqlite3'"]
    print(f"carecall --help: {med['carecall --help'] / ref_pass:.1f}x python -c pass "
          "(target <= 4x)")
    print(f"carecall queue:  {med['carecall queue --limit 50 --json'] / ref_sqlite:.1f}x "
          "python -c 'import sqlite3' (target <= 6x)")


if __name__ == "__main__":
    main()
