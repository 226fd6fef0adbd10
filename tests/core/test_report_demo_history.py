"""The demo's past year: reproducible, plausible, coherent with the follow-up loop."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from calls.clock import from_iso
from calls.demo_history import generate_history
from calls.reports import build_report
from calls.store import Store
from tests.core.test_report import add_customers

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _fill(store: Store) -> None:
    rows = [(f"c{i:03d}", "ABCCC"[i % 5]) for i in range(60)]
    add_customers(store, *rows)
    # half of them in another zone
    store.db.execute("UPDATE customers SET time_zones = ? WHERE id % 2 = 0",
                     [json.dumps(["Europe/Berlin"])])
    store.db.conn.commit()


def _dump(store: Store) -> tuple:
    return (
        store.all("SELECT customer_id, caller, started_at, ended_at, outcome FROM calls "
                  "ORDER BY id"),
        store.all("SELECT call_id, key, value FROM answers ORDER BY call_id, key"),
        store.all("SELECT kind, customer_id, status, created_at, closed_at FROM followups "
                  "ORDER BY id"),
    )


def test_history_is_reproducible_and_only_once(tmp_path):
    dumps = []
    for name in ("one.db", "two.db"):
        store = Store.open(tmp_path / name)
        _fill(store)
        summary = generate_history(store, NOW, seed=7)
        assert not summary["skipped"] and summary["calls"] > 60
        dumps.append(_dump(store))
        again = generate_history(store, NOW, seed=7)
        assert again["skipped"] and again["calls"] == 0
        assert store.scalar("SELECT count(*) FROM calls") == summary["calls"]
        store.close()
    assert dumps[0] == dumps[1]


def test_history_is_plausible(store):
    _fill(store)
    generate_history(store, NOW)
    calls = store.all("SELECT c.*, cu.time_zones FROM calls c JOIN customers cu "
                      "ON cu.id = c.customer_id")
    for c in calls:
        started = from_iso(c["started_at"])
        assert started < NOW
        assert (NOW - started).days <= 366
        local = started.astimezone(ZoneInfo(json.loads(c["time_zones"])[0]))
        assert local.weekday() < 5 and 9 <= local.hour < 17, c
        assert c["ended_at"] > c["started_at"]
    # every completed care call has an NPS answer; detractors opened a fix
    completed = store.all("SELECT id FROM calls WHERE outcome = 'completed'")
    with_nps = {r["call_id"] for r in store.all("SELECT call_id FROM answers WHERE key='nps'")}
    assert {r["id"] for r in completed} <= with_nps
    detractor_calls = {r["call_id"] for r in store.all(
        "SELECT a.call_id FROM answers a JOIN calls c ON c.id = a.call_id "
        "WHERE a.key = 'nps' AND CAST(a.value AS INTEGER) <= 6 AND c.reason != 'recovery' "
        "AND c.outcome = 'completed'")}
    fixes = {r["call_id"] for r in store.all(
        "SELECT call_id FROM followups WHERE kind = 'fix_problem'")}
    assert detractor_calls == fixes
    # every recovery call done has its scores and points at a done fix
    for r in store.all("SELECT * FROM followups WHERE kind = 'recovery_call' "
                       "AND status = 'done'"):
        assert r["score_before"] <= 6 and r["score_after"] is not None
        parent = store.one("SELECT status FROM followups WHERE id = ?", (r["parent_id"],))
        assert parent["status"] == "done"
    report = build_report(store, NOW, datetime(2025, 3, 9).date(), NOW.date())
    assert report.activity.attempts == len(calls)
    assert report.nps.responses > 0 and report.loop.loops_closed > 0
    assert sum(t.customers for t in report.coverage.tiers) == 60


def test_history_sets_the_queue_state(store):
    _fill(store)
    generate_history(store, NOW)
    cols = {r["name"] for r in store.all("PRAGMA table_info(customers)")}
    if "last_call_at" not in cols:   # the queue area's columns
        return
    rows = store.all("SELECT c.id, c.last_call_at, max(k.ended_at) AS last FROM customers c "
                     "JOIN calls k ON k.customer_id = c.id GROUP BY c.id")
    assert rows and all(r["last_call_at"] == r["last"] for r in rows)


def test_the_loops_mostly_close_on_time_and_only_recent_ones_are_open(store):
    """A new demo must not open on a year of escalations (issue 15): most loops close
    within their deadlines, a few late, and only the last days' are still open."""
    from datetime import timedelta

    from calls.deadlines import escalate_overdue

    rows = [(f"c{i:03d}", "ABCCC"[i % 5]) for i in range(300)]
    add_customers(store, *rows)
    generate_history(store, NOW)
    fixes = store.all("SELECT * FROM followups WHERE kind = 'fix_problem'")
    assert len(fixes) >= 40
    done = [f for f in fixes if f["status"] == "done"]
    contacted = [f for f in done if f["first_contact_at"] is not None and (
        from_iso(f["first_contact_at"]) - from_iso(f["created_at"]) <= timedelta(hours=48))]
    on_time = [f for f in done if from_iso(f["closed_at"]) - from_iso(f["created_at"])
               <= timedelta(days=10)]
    assert len(contacted) >= 0.8 * len(done) and len(on_time) >= 0.8 * len(done)
    assert len(on_time) < len(done)                      # ... but not all: a few are late
    for f in store.all("SELECT * FROM followups WHERE status = 'open'"):
        assert NOW - from_iso(f["created_at"]) <= timedelta(days=21), f
    waits = [e.waited for e in escalate_overdue(store, NOW)]
    assert len(waits) <= 5 and all(w <= timedelta(days=14) for w in waits), waits
