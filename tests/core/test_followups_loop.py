"""The detractor loop end to end with the real call records, survey engine and queue."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from calls import followups as fu
from calls.store.customers import get_customer
from tests.support.followups import add_customer

calling = pytest.importorskip("calls.calling")
queue = pytest.importorskip("calls.queue")
survey = pytest.importorskip("calls.survey")
scripts_store = pytest.importorskip("calls.store.scripts")


@pytest.fixture
def ann(store):
    # FIXED_NOW is Tuesday 15:00 UTC: 10:00 in New York, inside the calling window.
    return add_customer(
        store,
        "C1",
        "Ann Able",
        owner="olga",
        tier="A",
        phone="+12125550101",
        phone_region="US",
        country="US",
        time_zones=json.dumps(["America/New_York"]),
        customer_since="2024-01-10",
        revenue=50000.0,
    )


def make_call(store, customer_id, caller, now, script_name, answers, context=None):
    """One call through the public APIs: claim, start, answer, complete; returns
    (call id, survey result)."""
    script = survey.load_script(script_name)
    assert queue.claim_customer(store, customer_id, caller, now)
    script_id = scripts_store.store_script(store, script, now, by="test")
    call_id = calling.start_call(store, customer_id, caller, now, script_id=script_id)
    customer = get_customer(store, customer_id)
    session = survey.SurveySession(script, customer, caller, context=context, now=now)
    while (q := session.current()) is not None:
        if q.key in answers:
            done = session.answer(q.key, answers[q.key])
            scripts_store.save_answer(store, call_id, q.key, q.type, done.value, now)
        else:
            session.skip(q.key)
    result = session.finish(now)
    end = now + timedelta(minutes=6)
    calling.record_outcome(store, call_id, "completed", end)
    fu.apply_rule_followups(store, call_id, result.followups, caller, end)
    return call_id, result


def reasons_for(store, caller, now, customer_id):
    for entry in queue.build_queue(store, caller, now, limit=50):
        if entry.customer.id == customer_id:
            return entry.reason_codes
    return None


DETRACTOR = {
    "nps": 2,
    "improve": "Two late deliveries",
    "problem_area": "delivery",
    "last_order_csat": 2,
    "contact_ok": True,
    "need": False,
    "send_info": False,
}


def test_detractor_loop_from_first_call_to_closed(store, now, ann):
    first, _ = make_call(store, ann, "bob", now, "quarterly", DETRACTOR)
    [fix] = fu.list_followups(store, kind="fix_problem")
    assert (fix.owner, fix.call_id, fix.score_before) == ("olga", first, 2)
    day2 = now + timedelta(days=1)
    assert "recovery" not in (reasons_for(store, "carl", day2, ann) or [])

    fu.close_followup(store, fix.id, by="olga", note="Switched them to express delivery", now=day2)
    recovery = fu.recovery_for(store, fix.id)
    assert recovery is not None and recovery.status == "open"
    codes = reasons_for(store, "carl", day2 + timedelta(minutes=5), ann)
    assert codes is not None and codes[0] == "recovery"

    context = {"fix": fu.recovery_context(store, ann)}
    call, _result = make_call(
        store,
        ann,
        "carl",
        day2 + timedelta(minutes=10),
        "recovery",
        {"fixed_ok": True, "nps": 9, "referral_ok": True},
        context=context,
    )
    done = fu.get_followup(store, recovery.id)
    assert (done.status, done.score_before, done.score_after, done.closed_call_id) == (
        "done",
        2,
        9,
        call,
    )
    assert "recovery" not in (reasons_for(store, "carl", day2 + timedelta(hours=1), ann) or [])
    stats = fu.loop_stats(store)
    assert (stats.closed, stats.won_back) == (1, 1)


def test_customer_who_asks_not_to_be_called_is_never_put_back(store, now, ann):
    make_call(store, ann, "bob", now, "quarterly", DETRACTOR)
    [fix] = fu.list_followups(store, kind="fix_problem")
    # Before the fix is done the customer calls in and asks never to be called again.
    later = now + timedelta(hours=2)
    assert queue.claim_customer(store, ann, "bob", later)
    call = calling.start_call(store, ann, "bob", later)
    calling.record_outcome(store, call, "do_not_call", later + timedelta(minutes=1))
    closed = fu.close_followup(
        store, fix.id, by="olga", note="refunded", now=now + timedelta(days=1)
    )
    assert "do-not-call" in closed.close_note
    assert fu.recovery_for(store, fix.id) is None
    assert reasons_for(store, "carl", now + timedelta(days=1, hours=1), ann) is None


def test_detractor_who_said_no_to_being_contacted_gets_no_recovery_call(store, now, ann):
    # issue 14: "may we get back to you?" -> no. The fix is still done and recorded; the
    # loop closes without a call.
    make_call(store, ann, "bob", now, "quarterly", {**DETRACTOR, "contact_ok": False})
    [fix] = fu.list_followups(store, kind="fix_problem")
    day2 = now + timedelta(days=1)
    closed = fu.close_followup(store, fix.id, by="olga", note="Refunded the delivery",
                               now=day2)
    assert closed.status == "done"
    assert "no recovery call" in closed.close_note and "said no" in closed.close_note
    assert fu.recovery_for(store, fix.id) is None
    assert fu.list_followups(store, kind="recovery_call") == []
    assert "recovery" not in (reasons_for(store, "carl", day2 + timedelta(minutes=5), ann)
                              or [])
