"""The queue's order, its reasons in words, explain, claims and "next ones open at"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from calls.clock import to_iso
from calls.policy import DEFAULT_POLICY, QueuePolicy
from calls.queue import (
    build_queue,
    claim_customer,
    claim_next,
    explain,
    held_claims,
    next_opening,
    release,
    skip_customer,
)
from tests.support.queue import CHICAGO, LA, NY, TOKYO, TWO_ZONES, add_customer, add_followup

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tuesday: 11:00 New York, 08:00 LA


def rows(store, caller="ann", now=NOW, policy=DEFAULT_POLICY, limit=50):
    return [(e.customer.ref, e.reasons) for e in build_queue(store, caller, now, policy, limit)]


def test_reasons_in_priority_order_with_words(store):
    ended_long_ago = to_iso(NOW - timedelta(days=124))
    add_customer(store, "never", tier="A", revenue=100.0)
    add_customer(store, "overdue", tier="A", cycle_ended_at=ended_long_ago,
                 cycle_status="reached")
    # Usually orders every 12 days: at risk from 26 January; last called before that.
    add_customer(store, "risk", tier="B", cycle_ended_at="2026-01-20T10:00:00Z",
                 last_purchase="2026-01-01", order_count=6, avg_order_interval_days=12.0)
    add_customer(store, "bday", tier="C", birthday="1980-03-12",
                 cycle_ended_at=to_iso(NOW - timedelta(days=20)))
    add_customer(store, "bought", tier="B", last_purchase="2026-03-07",
                 cycle_ended_at=to_iso(NOW - timedelta(days=20)))
    rec = add_customer(store, "recovery", tier="C",
                       cycle_ended_at=to_iso(NOW - timedelta(days=2)))
    add_followup(store, rec, "recovery_call", to_iso(NOW - timedelta(hours=1)))
    cb = add_customer(store, "callback", tier="C", cycle_ended_at=to_iso(NOW))
    add_followup(store, cb, "callback", "2026-03-10T14:30:00Z", owner="ann")
    add_customer(store, "done", tier="A", cycle_ended_at=to_iso(NOW - timedelta(days=3)))

    got = rows(store)
    assert got == [
        ("callback", ["callback requested for 10:30 their time (yours)"]),
        ("recovery", ["recovery call: their problem was fixed, ask again"]),
        ("bought", ["bought 3 days ago: thank-you call"]),
        ("bday", ["birthday in 2 days"]),
        ("risk", ["at risk: buying slowed (last order 68 days ago, usually every 12 days)"]),
        ("overdue", ["A-tier care call 34 days overdue"]),
        ("never", ["never called (A-tier)"]),
    ]
    # The policy may reorder the reasons.
    policy = replace(DEFAULT_POLICY, queue=QueuePolicy(
        ("never_called", "overdue", "callback", "recovery", "thank_you", "occasion",
         "at_risk")))
    assert [r for r, _ in rows(store, policy=policy)][:2] == ["never", "overdue"]


def test_overdue_ranks_by_share_of_the_interval_then_tier(store):
    # A 10 days overdue (11 % of 90) beats C 30 days overdue (8 % of 365).
    add_customer(store, "c30", tier="C", cycle_ended_at=to_iso(NOW - timedelta(days=395)))
    add_customer(store, "a10", tier="A", cycle_ended_at=to_iso(NOW - timedelta(days=100)))
    add_customer(store, "b90", tier="B", cycle_ended_at=to_iso(NOW - timedelta(days=270)))
    assert [r for r, _ in rows(store)] == ["b90", "a10", "c30"]


def test_never_called_by_tier_then_revenue(store):
    add_customer(store, "c-rich", tier="C", revenue=1e6)
    add_customer(store, "a-small", tier="A", revenue=10.0)
    add_customer(store, "a-big", tier="A", revenue=500.0)
    add_customer(store, "no-tier", tier=None, revenue=9e9)
    add_customer(store, "b", tier="B", revenue=None)
    assert [r for r, _ in rows(store)] == ["a-big", "a-small", "b", "c-rich", "no-tier"]


def test_excluded_customers_and_why(store, now=NOW):
    add_customer(store, "ok")
    dnc = add_customer(store, "dnc", do_not_call=1, dnc_at="2026-03-02T10:00:00Z",
                       dnc_reason="asked by letter")
    listed = add_customer(store, "listed", phone="+12125559999")
    with store.write():
        store.db["dnc"].insert({"phone": "+12125559999", "added_at": "2026-03-02T10:00:00Z"})
    add_customer(store, "wrong", number_status="wrong_number")
    add_customer(store, "la", where=LA)
    add_customer(store, "tokyo", where=TOKYO)
    add_customer(store, "two", where=TWO_ZONES)   # Chicago 10:00 and New York 11:00: open
    add_customer(store, "waiting", retry_after=to_iso(NOW + timedelta(minutes=20)),
                 last_outcome="busy", last_call_at=to_iso(NOW - timedelta(minutes=10)))
    assert [r for r, _ in rows(store)] == ["ok", "two"]

    assert explain(store, dnc, "ann", NOW).lines[0] == (
        "asked not to be called since 2026-03-02 (asked by letter)")
    assert explain(store, listed, "ann", NOW).lines[0] == "on the do-not-call list since 2026-03-02"
    la = explain(store, "la", "ann", NOW)
    assert la.lines[0] == ("outside calling hours: 08:00 in America/Los_Angeles, opens 09:00 "
                           "(in 1 h)")
    assert la.next_callable_at == NOW + timedelta(hours=1)
    wait = explain(store, "waiting", "ann", NOW)
    assert wait.lines[0] == "busy 10 min ago, retry after 11:20 their time"
    assert wait.next_callable_at == NOW + timedelta(minutes=20)
    ok = explain(store, "ok", "ann", NOW)
    assert ok.callable and ok.lines == ["callable now", "never called (A-tier)"]


def test_explain_a_customer_not_due(store):
    add_customer(store, "recent", tier="B", cycle_ended_at="2026-03-01T12:00:00Z",
                 cycle_status="reached")
    ex = explain(store, "recent", "ann", NOW)
    assert not ex.callable
    assert "no reason to call now: next B-tier care call due 2026-08-28" in ex.lines[0]
    assert ex.next_callable_at == datetime(2026, 8, 28, 13, 0, tzinfo=UTC)


def test_claims_skip_and_release(store):
    first = add_customer(store, "first", revenue=300.0)
    second = add_customer(store, "second", revenue=200.0)
    third = add_customer(store, "third", where=CHICAGO, revenue=100.0)
    assert claim_next(store, "ann", NOW).customer.id == first
    # Asking again before the call ended gives the same customer (held claim).
    assert claim_next(store, "ann", NOW).customer.id == first
    assert claim_next(store, "bob", NOW).customer.id == second
    assert [r for r, _ in rows(store, "cy")] == ["third"]
    # ann skips: first goes to others at once, not back to ann for a while.
    skip_customer(store, "ann", first, NOW)
    assert held_claims(store, "ann", NOW) == []
    assert claim_next(store, "ann", NOW).customer.id == third
    assert claim_next(store, "cy", NOW).customer.id == first
    assert release(store, "bob") == [second]
    assert claim_next(store, "dan", NOW).customer.id == second
    # A lease runs out.
    later = NOW + timedelta(minutes=DEFAULT_POLICY.claims.lease_minutes)
    assert "second" in [r for r, _ in rows(store, "eve", later)]


def test_claim_customer_takes_the_highlighted_one(store):
    a = add_customer(store, "a", revenue=300.0)
    b = add_customer(store, "b", revenue=200.0)
    la = add_customer(store, "la", where=LA)
    assert claim_customer(store, b, "ann", NOW)
    assert held_claims(store, "ann", NOW) == [b]
    assert not claim_customer(store, b, "bob", NOW)          # ann has it
    assert not claim_customer(store, la, "bob", NOW)         # window closed
    assert claim_customer(store, a, "ann", NOW)              # ann moves on: b released
    assert held_claims(store, "ann", NOW) == [a]
    assert claim_customer(store, b, "bob", NOW)


def test_next_opening_when_everybody_is_outside_their_window(store):
    add_customer(store, "ny", where=NY)
    add_customer(store, "la", where=LA)
    night = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    assert build_queue(store, "ann", night) == []
    assert next_opening(store, "ann", night) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    # Saturday night in New York: Sunday is closed, Monday 09:00 EDT.
    sat = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
    assert next_opening(store, "ann", sat) == datetime(2026, 3, 16, 13, 0, tzinfo=UTC)


def test_next_opening_after_a_retry_delay(store):
    add_customer(store, "w", retry_after=to_iso(NOW + timedelta(minutes=45)))
    assert build_queue(store, "ann", NOW) == []
    assert next_opening(store, "ann", NOW) == NOW + timedelta(minutes=45)


def test_empty_database(store):
    assert build_queue(store, "ann", NOW) == []
    assert claim_next(store, "ann", NOW) is None
    assert next_opening(store, "ann", NOW) is None


def test_thank_you_and_occasions_end_once_called(store):
    cid = add_customer(store, "x", last_purchase="2026-03-07", birthday="1990-03-16",
                       cycle_ended_at="2026-03-08T16:00:00Z", cycle_status="reached")
    got = rows(store)
    assert got == [("x", ["birthday in 6 days"])]   # the call on the 8th was after the purchase
    with store.write():
        store.db["customers"].update(cid, {"cycle_ended_at": "2026-03-09T16:00:00Z"})
    assert rows(store) == []     # called within the 7 days before the birthday


def test_anniversary_and_29_february(store):
    add_customer(store, "leap", birthday="1984-02-29")
    add_customer(store, "anniv", customer_since="2021-03-15", tier="B")
    feb = datetime(2027, 2, 25, 15, 0, tzinfo=UTC)
    got = dict(rows(store, now=feb))
    assert got["leap"][0] == "birthday in 3 days"     # 28 Feb in a common year
    assert got["anniv"] == ["never called (B-tier)"]   # the anniversary is 18 days away
    got = dict(rows(store))
    assert got["anniv"][0] == "customer for 5 years in 5 days"


def test_queue_entry_for_a_picked_customer(store):
    from calls.queue import queue_entry

    cid = add_customer(store, "x", last_purchase="2026-03-09", where=LA)
    entry = queue_entry(store, cid, "ann", NOW)
    assert entry.reason_codes == ["thank_you", "never_called"]
    assert entry.time_zone == "America/Los_Angeles" and entry.local_time.hour == 8
    assert entry.window_closes_at is None   # LA is closed at 08:00


def test_explain_says_when_the_caller_holds_the_customer(store):
    cid = add_customer(store, "x")
    assert claim_next(store, "ann", NOW).customer.id == cid
    ex = explain(store, cid, "ann", NOW)
    assert ex.callable and "you hold this customer (claim until 15:30 UTC)" in ex.lines
    other = explain(store, cid, "bob", NOW)
    assert not other.callable and other.lines[0].startswith("being called by ann")


def test_explain_names_the_public_holiday_that_closes_the_window(store):
    """Regression: a closed holiday read "outside calling hours: 11:00" on a Thursday."""
    import pytest

    pytest.importorskip("holidays")
    add_customer(store, "ny", where=NY)
    thanksgiving = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # 11:00 in New York
    closed = explain(store, "ny", "ann", thanksgiving)
    assert closed.lines[0] == ("closed for Thanksgiving Day: 11:00 in America/New_York, "
                               "opens Fri 09:00 (in 22 h)")
    early = explain(store, "ny", "ann", thanksgiving + timedelta(hours=20))  # Fri 07:00
    assert early.lines[0].startswith("outside calling hours: 07:00 in America/New_York")
