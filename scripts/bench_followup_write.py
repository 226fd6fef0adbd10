#!/usr/bin/env python3
"""What a follow-up write costs with the dashboard's triggers on follow-ups (issue 18).

One database is filled at the schema before migration ``dashboard_0005`` and copied
three ways, so that the three differ only in their triggers on ``followups``:

- ``before``: as filled (the counter of follow-up writes, ``dashboard_0003``, and the
  journal of follow-up changes, ``dashboard_0004``);
- ``now``: the same file migrated to this tree's schema (one journal, which also notes
  an occasion, an owner or a customer changed; no counter);
- ``bare`` (the reference): ``now`` with the two journal triggers that fire on an UPDATE
  or an INSERT dropped (what the write costs without either design; the follow-up
  history's triggers stay in all three).

Each round times, on each database in turn (the order alternating round by round: a
load that rises or falls hits all three alike), a loop of ``--writes`` statements of
each kind inside one write transaction, rolled back afterwards (every round starts from
the same rows): a callback closed (status and closing time: a journal row in both
designs, and the counter in ``before``), a thank-you note added, an owner changed (the
counter in ``before``, a journal row ``now``), a first contact noted (no trigger row in
either). Then ``--writes`` closes each in its own transaction through the store, as a
seat's wrap-up writes them (commit included; these are kept, so each round closes other
follow-ups; one round untimed first). It prints the median CPU µs per write of each kind and database, ``now`` over
``before``, the range of that ratio over the rounds, each over ``bare``, and the load average.

Usage: python scripts/bench_followup_write.py [--customers 20000] [--followups 40000]
                                              [--writes 500] [--rounds 9] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calls.clock import to_iso
from calls.store import Store
from calls.store import reports as q
from calls.store.schema import migrations

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
KINDS = ("close", "add", "owner", "first contact")
DESIGNS = ("before", "now", "bare")


def fill(path: Path, customers: int, followups: int, seed: int = 7) -> None:
    """Customers and follow-ups (a third closed) at the schema before dashboard_0005."""
    rng = random.Random(seed)
    names = migrations.names()
    store = Store.open(path, migrate=False)
    try:
        migrations.apply(store.db, stop_before=names[names.index(
            "dashboard_0005_one_followups_journal")])
        store.db.conn.commit()
        with store.write() as db:
            db.conn.executemany(
                "INSERT INTO customers (ref, name, tier, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(f"C{i:07d}", f"Customer {i}", "ABC"[i % 3], to_iso(NOW), to_iso(NOW))
                 for i in range(customers)])
        rows = []
        for _ in range(followups):
            created = NOW - timedelta(hours=rng.uniform(1, 2000))
            row = {"kind": rng.choice(("callback", "fix_problem", "thank_you_note")),
                   "customer_id": rng.randint(1, customers), "status": "open",
                   "owner": rng.choice(("ann", "bob", "cy", None)),
                   "created_at": to_iso(created),
                   "due_at": to_iso(created + timedelta(hours=rng.uniform(0, 200)))}
            if rng.random() < 0.33:
                row.update(status="done", closed_at=to_iso(created + timedelta(hours=5)))
            rows.append(row)
        q.insert_followups(store, rows)
    finally:
        store.close()


def drop_journal_triggers(store: Store) -> None:
    """The ``bare`` reference: no journal row on an INSERT or UPDATE of a follow-up."""
    with store.write() as db:
        for name in ("followups_changes_insert", "followups_changes_update"):
            db.conn.execute(f"DROP TRIGGER {name}")


def statements(kind: str, ids: list[int], customers: int) -> tuple[str, list[tuple]]:
    """One kind of write as SQL and a row of values per write."""
    at = to_iso(NOW)
    if kind == "close":
        return (("UPDATE followups SET status = 'done', closed_at = ?, closed_by = 'ann' "
                 "WHERE id = ?"), [(at, i) for i in ids])
    if kind == "owner":
        return ("UPDATE followups SET owner = ? WHERE id = ?",
                [(f"o{n % 7}", i) for n, i in enumerate(ids)])
    if kind == "first contact":
        return (("UPDATE followups SET first_contact_at = ?, first_contact_by = 'ann' "
                 "WHERE id = ?"), [(at, i) for i in ids])
    return (("INSERT INTO followups (kind, customer_id, status, owner, created_at, due_at) "
             "VALUES ('thank_you_note', ?, 'open', 'ann', ?, ?)"),
            [((i % customers) + 1, at, to_iso(NOW + timedelta(days=3))) for i in ids])


def loop(store: Store, sql: str, values: list[tuple]) -> float:
    """CPU µs per statement of ``values`` run in one write transaction, rolled back (CPU:
    nothing here waits, and the machine is shared)."""
    conn = store.db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        start = time.thread_time()
        for row in values:
            conn.execute(sql, row)
        took = time.thread_time() - start
    finally:
        conn.execute("ROLLBACK")
    return took / len(values) * 1e6


def closes(store: Store, ids: list[int]) -> float:
    """CPU µs per close, each its own write transaction through the store (kept)."""
    at = to_iso(NOW)
    start = time.thread_time()
    for i in ids:
        q.close_followups_done(store, [(i, at, "ann")])
    return (time.thread_time() - start) / len(ids) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--followups", type=int, default=40000)
    ap.add_argument("--writes", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--keep", type=Path, help="build the databases here and keep them")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_followup_write_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{args.customers:,} customers, {args.followups:,} follow-ups, "
          f"{args.writes} writes a loop, {args.rounds} rounds", flush=True)
    paths = {d: work / f"{d}.db" for d in DESIGNS}
    fill(paths["before"], args.customers, args.followups)
    for design in ("now", "bare"):
        shutil.copy(paths["before"], paths[design])   # its 0600 mode too
    stores = {d: Store.open(paths[d]) for d in ("now", "bare")}
    stores["before"] = Store.open(paths["before"], migrate=False)
    drop_journal_triggers(stores["bare"])
    try:
        for design, store in stores.items():
            has = {r[0] for r in store.db.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'followups'")}
            print(f"  {design}: triggers on followups: {', '.join(sorted(has))}")
        conn = stores["now"].db.conn
        open_ids = [r[0] for r in conn.execute(
            "SELECT id FROM followups WHERE status = 'open' ORDER BY id")]
        rng = random.Random(11)
        rng.shuffle(open_ids)
        need = args.writes * (args.rounds + 1)   # the loops' (rolled back), each round's
        if len(open_ids) < need:
            sys.exit(f"needs {need} open follow-ups, has {len(open_ids)}: raise --followups")
        times: dict[tuple[str, str], list[float]] = {}
        for kind in KINDS:         # a round untimed: each connection's cache warm alike
            sql, values = statements(kind, open_ids[:args.writes], args.customers)
            for design in DESIGNS:
                loop(stores[design], sql, values)
        for r in range(args.rounds):
            order = DESIGNS if r % 2 == 0 else DESIGNS[::-1]
            ids = open_ids[:args.writes]
            kept = open_ids[(r + 1) * args.writes:(r + 2) * args.writes]
            for kind in KINDS:
                sql, values = statements(kind, ids, args.customers)
                for design in order:
                    times.setdefault((kind, design), []).append(
                        loop(stores[design], sql, values))
            for design in order:      # the same follow-ups closed in each database
                times.setdefault(("close, own commit", design), []).append(
                    closes(stores[design], kept))
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("CPU µs per write, median of rounds (each: before / now / bare reference)")
        for kind in (*KINDS, "close, own commit"):
            med = {d: statistics.median(times[(kind, d)]) for d in DESIGNS}
            ratios = [n / b for n, b in zip(times[(kind, "now")], times[(kind, "before")],
                                            strict=True)]
            print(f"  {kind:18} before {med['before']:7.1f}  now {med['now']:7.1f}  "
                  f"bare {med['bare']:7.1f}   now/before {med['now'] / med['before']:.2f} "
                  f"(rounds {min(ratios):.2f}-{max(ratios):.2f})  "
                  f"before-bare {med['before'] - med['bare']:+6.1f}  "
                  f"now-bare {med['now'] - med['bare']:+6.1f}")
    finally:
        for store in stores.values():
            store.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
