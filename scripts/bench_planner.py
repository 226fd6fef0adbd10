"""Benchmark the follow-ups planner (``carecall plan``, also run at every shift start).

Builds a database of N customers with birthdays, customer-since dates, tiers and some
unreached cycles, then times:

- the first ``plan`` (creates every note/gift in the window),
- a second ``plan`` on the same day (idempotent: plans nothing; this is what every
  shift start after the first pays),
- the next day's ``plan`` (one more day of occasions),
- ``followups --kind thank_you_note`` as a mail-merge table.

The reference is a full scan of the customers table in the same process
(``SELECT count(*) ... WHERE birthday LIKE '%-01-01'``), so the ratios mean something
on any machine. Usage: ``python scripts/bench_planner.py [--customers N]``
(default 200000; the target size is 1000000).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calls import followups as fu
from calls.planner import plan
from calls.store import Store


def build(store: Store, n: int, seed: int = 7) -> None:
    """Insert ``n`` customers with random dates (1 % with an unreached cycle ended)."""
    rng = random.Random(seed)
    columns = {r[1] for r in store.db.conn.execute("PRAGMA table_info(customers)")}
    has_cycle = "cycle_status" in columns
    rows = []
    start = date(1940, 1, 1)
    for i in range(n):
        birthday = start + timedelta(days=rng.randrange(365 * 60))
        since = date(2000, 1, 1) + timedelta(days=rng.randrange(365 * 26))
        tier = rng.choices("ABC", weights=(5, 15, 80))[0]
        unreached = has_cycle and rng.random() < 0.01
        rows.append(
            (
                f"R{i:07d}",
                f"Customer {i}",
                birthday.isoformat() if rng.random() < 0.7 else None,
                since.isoformat(),
                tier,
                f"owner{i % 20}",
                1 if rng.random() < 0.02 else 0,
                '{"Address": "1 Main St", "City": "Springfield", "Zip": "12345"}',
                "unreached" if unreached else None,
                "2026-03-01T12:00:00Z" if unreached else None,
            )
        )
    cycle_cols = ", cycle_status, cycle_ended_at" if has_cycle else ""
    marks = "?, " * 8 + ("?, ?" if has_cycle else "")
    marks = marks.rstrip(", ")
    with store.write():
        store.db.conn.executemany(
            f"INSERT INTO customers (ref, name, birthday, customer_since, tier, owner, "
            f"do_not_call, extra{cycle_cols}, created_at, updated_at) "
            f"VALUES ({marks}, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
            [r if has_cycle else r[:8] for r in rows],
        )


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        t_build, _ = timed(lambda: build(store, args.customers))
        print(f"built {args.customers:,} customers in {t_build:.1f} s")
        t_ref, _ = timed(
            lambda: store.scalar("SELECT count(*) FROM customers WHERE birthday LIKE '%-01-01'")
        )
        now = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
        t_first, first = timed(lambda: plan(store, now))
        t_again, again = timed(lambda: plan(store, now + timedelta(hours=2)))
        t_next, nxt = timed(lambda: plan(store, now + timedelta(days=1)))
        t_list, notes = timed(lambda: fu.list_followups(store, kind="thank_you_note"))
        t_merge, (_headers, table) = timed(lambda: fu.mail_merge(store, notes))
        store.close()

    def line(label: str, seconds: float, extra: str = "") -> None:
        ratio = seconds / t_ref if t_ref else float("nan")
        print(f"{label:<34} {seconds * 1000:9.1f} ms  {ratio:7.1f}x reference  {extra}")

    line("reference: full scan of customers", t_ref)
    line("plan, first run", t_first, f"{len(first.planned):,} planned")
    line(
        "plan, again the same day",
        t_again,
        f"{len(again.planned)} planned, {again.already_planned:,} already",
    )
    line("plan, the next day", t_next, f"{len(nxt.planned):,} planned")
    line("list thank-you notes", t_list, f"{len(notes):,} rows")
    line("mail-merge table", t_merge, f"{len(table):,} rows")


if __name__ == "__main__":
    main()
