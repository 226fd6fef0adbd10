"""Call records and what an outcome does to the customer's place in the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.calling import (
    call_history,
    correct_number,
    mark_connected,
    next_care_state,
    record_outcome,
    save_notes,
    start_call,
    unfinished_calls,
)
from calls.clock import to_iso
from calls.errors import UserError
from calls.outcomes import Outcome
from calls.policy import DEFAULT_POLICY
from calls.queue import build_queue, claim_next, explain
from tests.support.queue import NY, add_customer

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tuesday, 11:00 in New York


def ids(store, caller="ann", now=NOW):
    return [e.customer.id for e in build_queue(store, caller, now)]


def customer(store, cid):
    return store.one("SELECT * FROM customers WHERE id = ?", (cid,))


# -- the pure state machine -----------------------------------------------------------


def test_completed_closes_the_cycle():
    state = next_care_state({"cycle_attempts": 2}, "completed", NOW)
    assert state["cycle_status"] == "reached"
    assert state["cycle_ended_at"] == to_iso(NOW)
    assert state["cycle_attempts"] == 0 and state["retry_after"] is None


def test_failures_count_and_wait_then_close_unreached():
    state: dict = {}
    for i in range(1, DEFAULT_POLICY.cycle.max_attempts):
        state = next_care_state(state, "no_answer", NOW)
        assert state["cycle_attempts"] == i
        assert state["retry_after"] == to_iso(NOW + timedelta(hours=3))
        assert state["cycle_status"] is None
    state = next_care_state(state, "busy", NOW)
    assert state["cycle_status"] == "unreached"
    assert state["cycle_ended_at"] == to_iso(NOW) and state["cycle_attempts"] == 0


def test_callback_and_wrong_number_do_not_count_as_attempts():
    assert next_care_state({"cycle_attempts": 1}, "callback", NOW)["cycle_attempts"] == 1
    assert next_care_state({"cycle_attempts": 1}, "wrong_number", NOW)["cycle_attempts"] == 1


def test_a_call_logged_late_never_moves_the_last_call_backwards():
    today = next_care_state({}, "no_answer", NOW)
    yesterday = NOW - timedelta(days=1)
    late = next_care_state(today, "voicemail", yesterday)
    assert late["last_call_at"] == to_iso(NOW) and late["last_outcome"] == "no_answer"
    assert late["retry_after"] == today["retry_after"]  # today's wait is not shortened
    assert late["cycle_attempts"] == 2  # but the older attempt still counts
    # an older completed call still closes the cycle; the last call stays today's
    reached = next_care_state(today, "completed", yesterday)
    assert reached["cycle_status"] == "reached" and reached["last_call_at"] == to_iso(NOW)
    # a later call moves it forwards as always
    assert next_care_state(today, "busy", NOW + timedelta(hours=4))["last_outcome"] == "busy"


# -- the API --------------------------------------------------------------------------


def test_call_lifecycle_and_history(store):
    cid = add_customer(store, "R1")
    call_id = start_call(store, cid, "ann", NOW, reason="never called")
    mark_connected(store, call_id, NOW + timedelta(seconds=20))
    save_notes(store, call_id, "likes the new range")
    assert [c.id for c in unfinished_calls(store, "ann")] == [call_id]
    rec = record_outcome(store, call_id, Outcome.COMPLETED, NOW + timedelta(minutes=4))
    assert rec.outcome == Outcome.COMPLETED and rec.notes == "likes the new range"
    assert rec.ended_at == NOW + timedelta(minutes=4)
    assert unfinished_calls(store, "ann") == []
    hist = call_history(store, cid)
    assert [h.id for h in hist] == [call_id] and hist[0].connected_at is not None
    row = customer(store, cid)
    assert row["cycle_status"] == "reached" and row["last_outcome"] == "completed"
    # Called and done: out of the queue until the next care call is due.
    assert cid not in ids(store, now=NOW + timedelta(minutes=5))
    assert store.scalar("SELECT count(*) FROM claims") == 0
    with pytest.raises(UserError, match="already ended"):
        record_outcome(store, call_id, "completed", NOW)


def test_no_answer_leaves_the_queue_until_the_retry_delay_passes(store):
    cid = add_customer(store, "R1")
    entry = claim_next(store, "ann", NOW)
    assert entry.customer.id == cid
    call_id = start_call(store, cid, "ann", NOW)
    record_outcome(store, call_id, "no_answer", NOW)
    assert cid not in ids(store, now=NOW + timedelta(hours=2, minutes=59))
    assert cid in ids(store, now=NOW + timedelta(hours=3))
    ex = explain(store, cid, "ann", NOW + timedelta(minutes=40))
    assert not ex.callable
    assert any("no answer 40 min ago, retry after 14:00 their time" in line
               for line in ex.lines), ex.lines
    assert ex.next_callable_at == NOW + timedelta(hours=3)


def test_callback_comes_back_first_at_that_time_personal_to_the_caller(store):
    other = add_customer(store, "R0", tier="A", revenue=9e9)
    cid = add_customer(store, "R1", tier="C", revenue=1.0)
    call_id = start_call(store, cid, "ann", NOW)
    # The customer asks for 14:30 their time tomorrow.
    local = datetime(2026, 3, 11, 14, 30, tzinfo=ZoneInfo("America/New_York"))
    rec = record_outcome(store, call_id, "callback", NOW, callback_at=local)
    assert rec.callback_at == local.astimezone(UTC) and rec.callback_personal is True
    f = store.one("SELECT * FROM followups WHERE kind = 'callback'")
    assert f["owner"] == "ann" and f["due_at"] == "2026-03-11T18:30:00Z"
    assert f["status"] == "open" and f["call_id"] == call_id
    # Before the time: not offered to anyone.
    assert cid not in ids(store, "ann", NOW + timedelta(hours=2))
    due = datetime(2026, 3, 11, 18, 30, tzinfo=UTC)
    q = build_queue(store, "ann", due)
    assert q[0].customer.id == cid and q[0].reasons[0].startswith(
        "callback requested for 14:30 their time")
    assert other in [e.customer.id for e in q]
    # Another caller does not get it within the grace period, then does.
    assert cid not in ids(store, "bob", due + timedelta(minutes=14))
    assert ids(store, "bob", due + timedelta(minutes=15))[0] == cid
    ex = explain(store, cid, "bob", due + timedelta(minutes=5))
    assert "personal callback for ann" in " ".join(ex.lines)


def test_callback_for_anyone(store):
    cid = add_customer(store, "R1")
    call_id = start_call(store, cid, "ann", NOW)
    record_outcome(store, call_id, "callback", NOW, callback_at=NOW + timedelta(hours=1),
                   callback_personal=False)
    assert ids(store, "bob", NOW + timedelta(hours=1))[0] == cid


def test_callback_needs_a_time(store):
    cid = add_customer(store, "R1")
    call_id = start_call(store, cid, "ann", NOW)
    with pytest.raises(UserError, match="callback needs"):
        record_outcome(store, call_id, "callback", NOW)
    with pytest.raises(UserError, match="unknown outcome"):
        record_outcome(store, call_id, "maybe", NOW)


def test_do_not_call_puts_the_number_on_the_list_and_never_queues_it(store):
    cid = add_customer(store, "R1", phone="+12125550111")
    twin = add_customer(store, "R2", phone="+12125550111")  # same number, other customer
    call_id = start_call(store, cid, "ann", NOW)
    record_outcome(store, call_id, "do_not_call", NOW)
    assert store.one("SELECT * FROM dnc WHERE phone = '+12125550111'")["source"] == "call"
    row = customer(store, cid)
    assert row["do_not_call"] == 1 and row["dnc_at"] == to_iso(NOW)
    later = NOW + timedelta(days=400)
    assert cid not in ids(store, now=later) and twin not in ids(store, now=later)
    with pytest.raises(UserError, match="do-not-call"):
        start_call(store, twin, "bob", NOW)


def test_wrong_number_until_corrected(store):
    cid = add_customer(store, "R1", where=NY)
    call_id = start_call(store, cid, "ann", NOW)
    record_outcome(store, call_id, "wrong_number", NOW)
    assert cid not in ids(store, now=NOW + timedelta(days=30))
    ex = explain(store, cid, "ann", NOW)
    assert "wrong number" in ex.lines[0] and ex.next_callable_at is None
    with pytest.raises(UserError, match="not a valid phone number"):
        correct_number(store, cid, "12", NOW)
    fixed = correct_number(store, cid, "(312) 555-0199", NOW)
    assert fixed.phone == "+13125550199" and fixed.number_status == "ok"
    assert fixed.time_zones == ("America/Chicago",)
    assert cid in ids(store, now=NOW)


def test_attempt_cap_closes_the_cycle_unreached(store):
    cid = add_customer(store, "R1")
    t = NOW
    for _ in range(DEFAULT_POLICY.cycle.max_attempts):
        call_id = start_call(store, cid, "ann", t)
        record_outcome(store, call_id, "no_answer", t)
        t += timedelta(days=1)
    row = customer(store, cid)
    assert row["cycle_status"] == "unreached" and row["cycle_attempts"] == 0
    assert cid not in ids(store, now=t)
    ex = explain(store, cid, "ann", t)
    assert any("closed unreached" in line for line in ex.lines)


def test_start_call_refuses_a_customer_claimed_by_someone_else(store):
    cid = add_customer(store, "R1")
    assert claim_next(store, "bob", NOW).customer.id == cid
    with pytest.raises(UserError, match="being called by bob"):
        start_call(store, cid, "ann", NOW)


def test_callback_row_written_directly_when_followups_area_is_missing(store, monkeypatch):
    import sys

    cid = add_customer(store, "R1")
    call_id = start_call(store, cid, "ann", NOW)
    # Without calls.followups (an install without that area) the row is still written.
    monkeypatch.setitem(sys.modules, "calls.followups", None)
    record_outcome(store, call_id, "callback", NOW, callback_at=NOW + timedelta(hours=2))
    row = store.one("SELECT * FROM followups WHERE kind = 'callback'")
    assert row["owner"] == "ann" and row["due_at"] == to_iso(NOW + timedelta(hours=2))
    assert row["status"] == "open" and row["source"] == "outcome"
    assert ids(store, "ann", NOW + timedelta(hours=2))[0] == cid


def test_a_new_tier_moves_the_next_care_call(store):
    cid = add_customer(store, "R1", tier="C")
    call_id = start_call(store, cid, "ann", NOW)
    record_outcome(store, call_id, "completed", NOW)
    later = NOW + timedelta(days=100)
    assert cid not in ids(store, now=later)          # C: a year
    with store.write():
        store.db["customers"].update(cid, {"tier": "A"})
    assert cid in ids(store, now=later)              # A: 90 days, already 10 overdue
    assert build_queue(store, "ann", later)[0].reasons == ["A-tier care call 10 days overdue"]
