"""The unreached letter: planned the moment the attempt cap closes a cycle, printed as a
batch, and closed when the customer is reached after all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calls import followups as fu
from calls.calling import record_outcome, start_call
from calls.letters import letter_pages, render_letters
from calls.planner import plan
from calls.policy import DEFAULT_POLICY, policy_from_dict
from tests.support.queue import add_customer

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tuesday, 11:00 in New York


def _fail_until_unreached(store, cid, start=NOW):
    t = start
    for _ in range(DEFAULT_POLICY.cycle.max_attempts):
        call_id = start_call(store, cid, "ann", t)
        record_outcome(store, call_id, "no_answer", t + timedelta(minutes=1))
        t += timedelta(days=1)
    return t - timedelta(days=1) + timedelta(minutes=1)


def test_letter_is_planned_at_once_when_the_cycle_ends_unreached(store):
    cid = add_customer(store, "R1")
    ended = _fail_until_unreached(store, cid)
    [letter] = fu.list_followups(store, kind="unreached_letter")
    assert letter.customer_id == cid and letter.due_at == ended
    assert letter.created_at == ended and letter.source == "planner"
    # the planner's next run knows it is planned: no second letter
    result = plan(store, ended + timedelta(hours=2))
    assert [f for f in result.planned if f.kind == "unreached_letter"] == []
    assert result.already_planned == 1
    assert len(fu.list_followups(store, kind="unreached_letter", status=None)) == 1


def test_no_letter_before_the_cap(store):
    cid = add_customer(store, "R1")
    for i in range(DEFAULT_POLICY.cycle.max_attempts - 1):
        call_id = start_call(store, cid, "ann", NOW + timedelta(days=i))
        record_outcome(store, call_id, "busy", NOW + timedelta(days=i, minutes=1))
    assert fu.list_followups(store, kind="unreached_letter") == []


def test_letter_closed_when_the_customer_is_reached_after_all(store):
    cid = add_customer(store, "R1")
    ended = _fail_until_unreached(store, cid)
    [letter] = fu.list_followups(store, kind="unreached_letter")
    later = ended + timedelta(days=3)
    # a voicemail is no contact: the letter stays open
    call_id = start_call(store, cid, "bea", later)
    record_outcome(store, call_id, "voicemail", later + timedelta(minutes=1))
    assert fu.get_followup(store, letter.id).status == "open"
    call_id = start_call(store, cid, "bea", later + timedelta(days=1))
    record_outcome(store, call_id, "completed", later + timedelta(days=1, minutes=9))
    closed = fu.get_followup(store, letter.id)
    assert closed.status == "done" and closed.closed_by == "bea"
    assert closed.closed_call_id == call_id
    assert "reached by phone after all: completed" in closed.close_note


def test_printable_batch_one_page_per_customer_with_the_lists_address(store):
    a = add_customer(store, "R1", name="Ann Able",
                     extra='{"Street": "1 Main St", "City": "Springfield", "Zip": "12345"}')
    b = add_customer(store, "R2", name="Bo Beck")
    _fail_until_unreached(store, a)
    _fail_until_unreached(store, b)
    letters = fu.list_followups(store, kind="unreached_letter")
    policy = policy_from_dict({"letters": {"sender": "Acme Ltd · 2 High St · Townsville",
                                           "body": "Dear {name},\nplease call us."}})
    pages = letter_pages(store, letters, policy)
    assert [p["ref"] for p in pages] == ["R1", "R2"]
    assert pages[0]["address"] == ["Ann Able", "1 Main St", "Springfield", "12345"]
    assert pages[0]["body"] == "Dear Ann Able,\nplease call us." and pages[0]["has_address"]
    assert not pages[1]["has_address"]
    html = render_letters(store, letters, policy, NOW)
    assert html.count('<section class="letter">') == 2
    assert "break-after:page" in html and "Acme Ltd" in html
    assert "1 Main St\nSpringfield\n12345" in html
    assert "no postal address in the list" in html
