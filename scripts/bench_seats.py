"""Benchmark the team features: seat-state writes, the dashboard's floor view, a login.

Prints figures and ratios against a reference measured in the same run:

- set_state (one seat moving to its next state, its own transaction) against a plain
  one-row INSERT + COMMIT on the same database (the cost of any small write);
- floor_view over a day of CALLERS seats x CALLS calls each (4 states a call) against
  the dashboard's existing per-caller figures (``build_dashboard``) on the same data;
- a login (argon2id verify with the production cost + the audit row) against one
  set_state, so the ratio says how many state changes one login is worth;
- a whole call through the call session (take, connect, outcome, wrap-up) at an open
  seat, whose floor state moves in each step's transaction, against the same call by a
  caller with no seat (nothing to move), alternating.

Usage: python scripts/bench_seats.py [--callers 100] [--calls 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--calls", type=int, default=60, help="calls per caller")
    args = parser.parse_args()

    from calls import accounts, floor
    from calls.reports import build_dashboard
    from calls.store import Store

    start = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        with store.write():
            store.db.execute(
                "INSERT INTO customers(ref, name, phone, created_at, updated_at) "
                "VALUES ('R1', 'Bench', '+12125550100', '2026-01-01T00:00:00Z', "
                "'2026-01-01T00:00:00Z')")
        store.db.execute("CREATE TABLE bench_ref (id INTEGER PRIMARY KEY, x TEXT)")

        # -- small writes --------------------------------------------------------------
        n = 400
        t0 = time.perf_counter()
        for i in range(n):
            with store.write():
                store.db.execute("INSERT INTO bench_ref(x) VALUES (?)", (str(i),))
        ref_write = (time.perf_counter() - t0) / n
        names = [f"c{i:03d}" for i in range(args.callers)]
        writes = 0
        t0 = time.perf_counter()
        for c in range(args.calls):
            moment = start + timedelta(minutes=6 * c)
            for name in names:
                for k, state in enumerate(("dialling", "talking", "wrapup", "ready")):
                    floor.set_state(store, name, state, now=moment + timedelta(minutes=k),
                                    customer_id=1 if state != "ready" else None,
                                    call_id=c if state != "ready" else None)
                    writes += 1
                if writes >= 4 * n:
                    break
            if writes >= 4 * n:
                break
        per_state = (time.perf_counter() - t0) / writes
        print(f"set_state: {per_state * 1000:.2f} ms per change "
              f"(plain insert+commit {ref_write * 1000:.2f} ms; ratio {per_state / ref_write:.2f})")

        # -- a full day on the floor ----------------------------------------------------
        rows = []
        calls = []
        call_id = 0
        for name in names:
            t = start
            for _ in range(args.calls):
                call_id += 1
                for state, minutes in (("dialling", 1), ("talking", 4), ("wrapup", 1),
                                       ("ready", 1)):
                    end = t + timedelta(minutes=minutes)
                    rows.append((name, state, None, 1, call_id if state != "ready" else None,
                                 t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                 end.strftime("%Y-%m-%dT%H:%M:%SZ")))
                    t = end
                calls.append((call_id, 1, name, (t - timedelta(minutes=7)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"), "completed" if call_id % 3 else "no_answer"))
        with store.write():
            store.db.execute("DELETE FROM seat_states")
            store.db.conn.executemany(
                "INSERT INTO seat_states(caller, state, reason, customer_id, call_id, "
                "started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            store.db.conn.executemany(
                "INSERT INTO calls(id, customer_id, caller, started_at, outcome) "
                "VALUES (?, ?, ?, ?, ?)", calls)
        now = start + timedelta(minutes=7 * args.calls + 5)
        day = datetime(2026, 3, 10, tzinfo=UTC)

        def best(fn, runs=3) -> float:
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return min(times)

        floor_s = best(lambda: floor.floor_view(store, now, day, show_customers=True))
        dash_s = best(lambda: build_dashboard(store, now))
        print(f"floor_view: {floor_s * 1000:.1f} ms for {args.callers} callers, "
              f"{len(rows):,} states, {len(calls):,} calls "
              f"(build_dashboard {dash_s * 1000:.1f} ms; ratio {floor_s / dash_s:.2f})")

        # -- a login ---------------------------------------------------------------------
        trial = accounts.trial_actor("bench")
        accounts.add_account(store, "boss", "admin", password="a long bench password",
                             actor=trial, now=now)
        login_s = best(lambda: accounts.login(store, "boss", "a long bench password", now=now))
        def two_changes() -> None:
            floor.set_state(store, "solo", "paused", now=now, reason="break")
            floor.set_state(store, "solo", "ready", now=now)

        one_state = best(two_changes) / 2
        print(f"login: {login_s * 1000:.0f} ms (argon2id, production cost) = "
              f"{login_s / one_state:.0f} state changes")

        # -- a call through the session, with and without a seat ---------------------------
        from calls.customers import add_customer
        from calls.session import CallSession

        moment = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)   # 11:00 in New York
        pairs = 40
        for i in range(2 * pairs):
            add_customer(store, {"name": f"Bench {i}", "phone": f"+1212555{2000 + i:04d}"},
                         by="bench", now=moment - timedelta(days=30), ref=f"B{i:03d}")
        floor.sign_on(store, "seated", now=moment)
        spent = {"seated": 0.0, "unseated": 0.0}
        warm = CallSession.take_next(store, "warm-up", moment, script="quarterly")  # caches
        warm.give_back(store, moment)
        for i in range(pairs):
            # Alternating who goes first: neither pays more for what the other left behind.
            for caller in ("seated", "unseated") if i % 2 else ("unseated", "seated"):
                t = moment + timedelta(minutes=i)
                t0 = time.perf_counter()
                call = CallSession.take_next(store, caller, t, script="quarterly")
                call.connect(store, t)
                call.keep_outcome(store, call.choose("refused"), t)
                call.wrap_up(store, t)
                spent[caller] += time.perf_counter() - t0
        seated, unseated = spent["seated"] / pairs, spent["unseated"] / pairs
        print(f"a call through the session at a seat: {seated * 1000:.1f} ms "
              f"(no seat {unseated * 1000:.1f} ms; ratio {seated / unseated:.2f})")
        store.close()


if __name__ == "__main__":
    main()
