"""The queue reads the open follow-ups of a kind as a range of their index, also where
SQLite's statistics would have it walk every follow-up (a year of calls: many closed
problems, few or no callbacks), and gives the same answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calls.clock import to_iso
from calls.policy import DEFAULT_POLICY
from calls.queue import build_queue, claim_next
from tests.support.queue import add_customer, add_followup

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _a_year_of_problems(store, customers: list[int]) -> None:
    """Thousands of fix_problem follow-ups, two in three closed, then ANALYZE: the
    statistics of a programme a year on (the kind says little; the customer much)."""
    rows = [("fix_problem", customers[i % len(customers)], None,
             "done" if i % 3 else "open", "2025-06-01T00:00:00Z") for i in range(6000)]
    with store.write():
        store.db.conn.executemany(
            "INSERT INTO followups (kind, customer_id, due_at, status, created_at, details,"
            " source) VALUES (?, ?, NULL, ?, ?, '', 'rule')",
            [(k, c, s, at) for k, c, _due, s, at in rows])
    store.db.conn.execute("ANALYZE")


def _followup_plans(store, work) -> list[str]:
    """The query plan of each statement ``work`` runs that reads the follow-ups."""
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        work()
    finally:
        store.db.conn.set_trace_callback(None)
    plans = []
    for sql in {s for s in statements if "followups" in s and s.lstrip().startswith("SELECT")}:
        plans += [row[3] for row in store.db.conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return plans


def test_the_queue_reads_open_follow_ups_by_their_index(store):
    customers = [add_customer(store, f"P{i:03d}", tier="B") for i in range(40)]
    called_back = add_customer(store, "callback", tier="C", cycle_ended_at=to_iso(NOW))
    add_followup(store, called_back, "callback", "2026-03-10T14:55:00Z", owner="ann")
    recovered = add_customer(store, "recovery", tier="C", cycle_ended_at=to_iso(NOW))
    add_followup(store, recovered, "recovery_call", to_iso(NOW - timedelta(hours=1)))
    later = add_customer(store, "later", tier="C", cycle_ended_at=to_iso(NOW))
    add_followup(store, later, "callback", "2026-03-10T18:00:00Z", owner="ann")
    _a_year_of_problems(store, customers)

    got: list = []
    plans = _followup_plans(store, lambda: got.extend(
        build_queue(store, "ann", NOW, DEFAULT_POLICY, limit=50)))
    assert not [p for p in plans if p.startswith("SCAN followups")], plans
    assert any("idx_followups_open_due" in p for p in plans)
    refs = [e.customer.ref for e in got]
    assert refs[:2] == ["callback", "recovery"] and "later" not in refs   # held till 18:00
    assert len(refs) == 42

    taken: list = []
    plans = _followup_plans(store, lambda: taken.append(
        claim_next(store, "bob", NOW, DEFAULT_POLICY)))
    assert not [p for p in plans if p.startswith("SCAN followups")], plans
    assert taken[0].customer.ref == "recovery"      # ann's callback is hers till 15:10
