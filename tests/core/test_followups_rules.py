"""The shipped scripts' rules, through the real survey engine, into follow-ups."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from calls import followups as fu
from calls.store.customers import get_customer
from tests.support.followups import add_call, add_customer

survey = pytest.importorskip("calls.survey")


def run_script(name, customer, caller, answers, now, context=None):
    """Walk a shipped script, answering from ``answers`` and skipping what is optional."""
    session = survey.SurveySession(
        survey.load_script(name), customer, caller, context=context, now=now
    )
    while (q := session.current()) is not None:
        if q.key in answers:
            session.answer(q.key, answers[q.key])
        else:
            session.skip(q.key)
    return session.finish(now)


@pytest.fixture
def ann(store):
    cid = add_customer(
        store,
        "C1",
        "Ann Able",
        owner="olga",
        tier="A",
        customer_since="2015-06-01",
        last_purchase="2026-02-20",
    )
    return get_customer(store, cid)


BASE = {"contact_ok": True, "need": False, "send_info": False, "last_order_csat": 4}


def test_detractor_opens_fix_problem_for_the_account_owner(store, now, ann):
    result = run_script(
        "quarterly",
        ann,
        "bob",
        {**BASE, "nps": 3, "improve": "Deliveries are late", "problem_area": "delivery"},
        now,
    )
    call = add_call(store, ann.id, "bob", now, "completed", nps=3)
    made = fu.apply_rule_followups(store, call, result.followups, "bob", now)
    fix = [f for f in made if f.kind == "fix_problem"]
    assert len(fix) == 1
    assert fix[0].owner == "olga" and fix[0].score_before == 3 and fix[0].source == "rule"
    assert fix[0].due_at is not None and fix[0].due_at > now
    assert not [f for f in made if f.kind == "referral"]


def test_promoter_referral_and_thank_you_note(store, now, ann):
    result = run_script(
        "quarterly",
        ann,
        "bob",
        {**BASE, "nps": 10, "referral_ok": True, "referral_name": "Cy at Acme"},
        now,
    )
    call = add_call(store, ann.id, "bob", now, "completed", nps=10)
    made = fu.apply_rule_followups(store, call, result.followups, "bob", now)
    kinds = {f.kind: f for f in made}
    assert set(kinds) == {"referral", "thank_you_note"}  # 10 years a customer
    assert kinds["referral"].owner == "olga"
    assert not fu.list_followups(store, kind="fix_problem")


def test_send_info_and_sales_lead(store, now, ann):
    result = run_script(
        "quarterly",
        ann,
        "bob",
        {
            **BASE,
            "nps": 8,
            "improve": "-",
            "send_info": True,
            "info_topic": "spring range",
            "need": True,
            "need_detail": "a second warehouse",
        },
        now,
    )
    call = add_call(store, ann.id, "bob", now, "completed", nps=8)
    made = fu.apply_rule_followups(store, call, result.followups, "bob", now)
    kinds = {f.kind: f for f in made}
    assert {"send_info", "sales_lead"} <= set(kinds)
    assert "spring range" in kinds["send_info"].details
    assert kinds["send_info"].owner == "bob"


def test_recovery_script_gets_what_was_fixed(store, now, ann):
    first = add_call(store, ann.id, "bob", now, "completed", nps=2)
    [fix] = fu.apply_rule_followups(
        store,
        first,
        run_script(
            "quarterly",
            ann,
            "bob",
            {**BASE, "nps": 2, "improve": "late", "problem_area": "delivery"},
            now,
        ).followups[:1],
        "bob",
        now,
    )
    assert fix.kind == "fix_problem"
    fu.close_followup(
        store, fix.id, by="olga", note="Express shipping from now on", now=now + timedelta(days=1)
    )
    context = fu.recovery_context(store, ann.id)
    assert context == {
        "note": "Express shipping from now on",
        "problem": fix.details,
        "by": "olga",
        "date": date(2026, 3, 11),
        "score": 2,
    }
    later = now + timedelta(days=2)
    session = survey.SurveySession(
        survey.load_script("recovery"), ann, "carl", context={"fix": context}, now=later
    )
    assert "Express shipping from now on" in session.opening_text()
    result = run_script(
        "recovery",
        ann,
        "carl",
        {"fixed_ok": True, "nps": 9, "referral_ok": False},
        later,
        context={"fix": context},
    )
    call = add_call(store, ann.id, "carl", later, "completed", nps=9)
    made = fu.apply_rule_followups(store, call, result.followups, "carl", later)
    assert [f.kind for f in made] == ["thank_you_note"]
    [closed] = fu.on_call_ended(store, call, later + timedelta(minutes=8))
    assert (closed.kind, closed.score_before, closed.score_after) == ("recovery_call", 2, 9)
    assert fu.recovery_context(store, ann.id) is None
