"""``calls.deadlines.KeptEscalations`` (the dashboard's open escalations, an object made
only for a row not in the last answer) answers what ``open_escalations`` answers through
random escalations, closes, a customer renamed and escalations removed; unchanged rows keep
their objects, and an unchanged list is the same list."""

from __future__ import annotations

import random
from datetime import timedelta

from calls import deadlines as dl
from calls import followups as fu
from tests.support.followups import add_customer


def _fix(store, customer, now):
    return fu.add_followup(store, kind="fix_problem", customer_id=customer, owner="olga",
                           due_at=None, details="broken", now=now, created_by="bob",
                           source="rule")


def test_kept_open_escalations_equal_the_plain_list(store, now):
    rng = random.Random(7)
    customers = [add_customer(store, f"C{i}", f"Cust {i}", owner="olga") for i in range(5)]
    kept = dl.KeptEscalations()
    at = now
    for step in range(60):
        what = rng.choice(("followup", "followup", "time", "close", "rename", "drop", "none"))
        if what == "followup":
            _fix(store, rng.choice(customers), at - timedelta(days=rng.uniform(0, 20)))
        elif what == "time":
            at += timedelta(hours=rng.uniform(1, 72))
        elif what == "close":
            open_ids = [r[0] for r in store.db.conn.execute(
                "SELECT id FROM followups WHERE status = 'open'")]
            if open_ids:
                with store.write():
                    store.db.conn.execute("UPDATE followups SET status = 'done' WHERE id = ?",
                                          (rng.choice(open_ids),))
        elif what == "rename":
            with store.write():
                store.db.conn.execute("UPDATE customers SET name = ? WHERE id = ?",
                                      (f"Renamed {step}", rng.choice(customers)))
        elif what == "drop":
            with store.write():
                store.db.conn.execute("DELETE FROM followup_escalations WHERE id IN "
                                      "(SELECT id FROM followup_escalations LIMIT 1)")
        dl.escalate_overdue(store, at)
        before = kept.read(store) if rng.random() < 0.5 else None
        got = kept.read(store)
        assert got == dl.open_escalations(store), step
        if before is not None:
            assert got is before                    # nothing changed: the same list
    assert len(got) > 3


def test_unchanged_rows_keep_their_objects(store, now):
    ann = add_customer(store, "C1", "Ann Able", owner="olga")
    bob = add_customer(store, "C2", "Bob Bell", owner="olga")
    _fix(store, ann, now)
    _fix(store, bob, now)
    dl.escalate_overdue(store, now + timedelta(hours=49))
    kept = dl.KeptEscalations()
    first = kept.read(store)
    rows_first = list(kept._rows)
    with store.write():
        store.db.conn.execute("UPDATE customers SET name = 'Ann Other' WHERE id = ?", (ann,))
    second = kept.read(store)
    assert second == dl.open_escalations(store) and second is not first
    [ann_before] = [e for e in first if e.customer_name == "Ann Able"]
    [bob_before] = [e for e in first if e.customer_name == "Bob Bell"]
    [ann_after] = [e for e in second if e.customer_name == "Ann Other"]
    [bob_after] = [e for e in second if e.customer_name == "Bob Bell"]
    assert bob_after is bob_before and ann_after is not ann_before
    # the unchanged row is held as first read (its texts are its escalation's), not twice
    [bob_row] = [r for r in rows_first if "Bob Bell" in r]
    assert sum(r is bob_row for r in kept._rows) == 1 and len(kept._rows) == 2
