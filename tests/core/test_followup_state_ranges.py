"""The backlog's counts per kind (``calls.store.reports.followup_state``) and the next
moment a follow-up changes them by time alone, from index ranges and seeks, answer what
the plain reading of every follow-up answers: random follow-ups opened, due and closed
before, at and after the moment asked, in and out of the period."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from calls.clock import to_iso
from calls.store import reports as q
from tests.core.test_report import add_customers

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
KINDS = ("callback", "fix_problem", "gift", "thank_you_note", "unreached_letter")


def _moment(rng: random.Random) -> str:
    return to_iso(NOW + timedelta(hours=rng.choice((rng.uniform(-400, 100), 0, -168))))


@pytest.mark.parametrize("seed", range(6))
def test_the_ranges_count_what_every_row_says(store, seed):
    rng = random.Random(seed)
    [cid] = add_customers(store, ("a", "A")).values()
    rows = []
    for _ in range(rng.randint(0, 150)):
        status = rng.choice(("open", "open", "done", "cancelled"))
        rows.append({
            "kind": rng.choice(KINDS[: rng.randint(1, len(KINDS))]), "customer_id": cid,
            "status": status, "created_at": _moment(rng),
            "due_at": _moment(rng) if rng.random() < 0.8 else None,
            # a closed one's closing may be missing, or after the moment asked
            "closed_at": _moment(rng) if status != "open" and rng.random() < 0.9 else None,
        })
    if rows:
        q.insert_followups(store, rows)
    for _ in range(12):
        as_of = rng.choice([_moment(rng), to_iso(NOW)] + [r["created_at"] for r in rows[:3]]
                           + [r["due_at"] or to_iso(NOW) for r in rows[:3]])
        start = to_iso(NOW - timedelta(days=rng.choice((7, 30, 400))))
        end = rng.choice((as_of, to_iso(NOW + timedelta(days=1))))
        plain = q.followup_state(store, start, end, as_of, plain=True)
        assert q.followup_state(store, start, end, as_of) == plain, (seed, as_of)
        conn = store.db.conn
        assert (q.followups_next_change(store, as_of)
                == q.plain_followups_next_change(conn, as_of)), (seed, as_of)


def test_a_follow_up_closed_later_still_falls_due_before_it_closes(store):
    """Asked for a moment before it was closed, a follow-up was open then: its due time
    is the next change, before any open one's."""
    [cid] = add_customers(store, ("a", "A")).values()
    hours = [to_iso(NOW + timedelta(hours=h)) for h in range(5)]
    q.insert_followups(store, [
        {"kind": "callback", "customer_id": cid, "status": "open", "created_at": hours[0],
         "due_at": hours[4]},
        {"kind": "gift", "customer_id": cid, "status": "done", "created_at": hours[0],
         "due_at": hours[2], "closed_at": hours[3]},
    ])
    conn = store.db.conn
    assert q.followups_next_change(store, hours[1]) == [None, hours[3], hours[2]]
    assert q.plain_followups_next_change(conn, hours[1]) == [None, hours[3], hours[2]]
