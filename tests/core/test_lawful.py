"""Basis (consent, business or consumer), contact caps and quiet periods, in the queue."""

from __future__ import annotations

from datetime import timedelta

from calls import audit, consent
from calls.calling import record_outcome, start_call
from calls.clock import to_iso
from calls.lawful import PastCall, basis_for, contact_holds
from calls.policy import DEFAULT_POLICY, policy_from_dict
from calls.queue import build_queue, explain
from tests.support.queue import (
    BERLIN,
    MIAMI,
    NY,
    PARIS,
    add_customer,
    every_hour_policy,
    utc,
)

EVERY_HOUR = every_hour_policy()


def refs(store, now, policy=DEFAULT_POLICY) -> list[str]:
    return [e.customer.ref for e in build_queue(store, "ann", now, policy)]


# Tuesday 10 March 2026, 11:00 in Berlin and Paris.
TUESDAY = utc("2026-03-10T10:00")


def test_german_consumer_without_consent_never_offered_business_offered(store):
    add_customer(store, "consumer", where=BERLIN)
    add_customer(store, "business", where=BERLIN, customer_type="business")
    assert refs(store, TUESDAY) == ["business"]
    why = explain(store, "consumer", "ann", TUESDAY)
    assert not why.callable and why.next_callable_at is None
    assert any("DE.consent" in b and "UWG" in b for b in why.blockers)


def test_recorded_consent_lets_a_german_consumer_be_called_and_is_audited(store):
    cid = add_customer(store, "consumer", where=BERLIN)
    consent.record(store, cid, "calls", True, how="letter", proof="form 2026-01-05",
                   actor="sam", now=TUESDAY, at=utc("2026-01-05T09:00"))
    assert refs(store, TUESDAY) == ["consumer"]
    trail = audit.entries(store, action="consent")
    assert [(e.actor, e.action, e.subject) for e in trail] == [
        ("sam", "consent.give", "consumer")]
    assert trail[0].details["proof"] == "form 2026-01-05"


def test_consent_withdrawn_takes_effect_at_once_everywhere(store):
    cid = add_customer(store, "ny", where=NY)
    now = utc("2026-03-10T15:00")
    assert refs(store, now) == ["ny"]
    consent.record(store, cid, "calls", False, how="call", actor="ann", now=now)
    assert refs(store, now) == []
    why = explain(store, "ny", "ann", now)
    assert "withdrew consent to be called" in why.blockers
    # Given again later: callable again.
    consent.record(store, cid, "calls", True, how="web", actor="ann",
                   now=now + timedelta(minutes=5))
    assert refs(store, now + timedelta(minutes=5)) == ["ny"]


def test_marketing_needs_consent_or_a_recent_purchase_in_the_us():
    row = {"phone": "+12125550100", "phone_region": "US", "last_purchase": "2025-01-10"}
    now = utc("2026-03-10T15:00")
    assert basis_for(row, "care", now).ok
    assert basis_for(row, "marketing", now).ok                     # 14 months: relationship
    old = {**row, "last_purchase": "2024-06-01"}                   # 21 months
    no = basis_for(old, "marketing", now)
    assert not no.ok and "US.basis" in no.text and "64.1200" in no.text
    assert basis_for({**old, "consent_marketing": "given"}, "marketing", now).ok


def test_france_marketing_needs_opt_in_from_august_2026_except_a_contract():
    row = {"phone": "+33142685300", "phone_region": "FR"}
    assert basis_for(row, "marketing", utc("2026-08-10T10:00")).ok
    assert not basis_for(row, "marketing", utc("2026-08-11T10:00")).ok
    assert basis_for({**row, "contract": 1}, "marketing", utc("2026-08-11T10:00")).ok
    assert basis_for(row, "care", utc("2026-08-11T10:00")).ok


def _attempt(store, cid, at, outcome="no_answer", policy=DEFAULT_POLICY):
    call = start_call(store, cid, "ann", at, policy=policy)
    record_outcome(store, call, outcome, at + timedelta(minutes=2), policy=policy)


def test_florida_fourth_attempt_within_24_hours_is_held(store):
    cid = add_customer(store, "fl", where=MIAMI)
    # Tuesday 10 March 2026 (EDT): 10:00, 13:05, 16:10 local, no answer each time.
    for hour in ("14:00", "17:05", "20:10"):
        _attempt(store, cid, utc(f"2026-03-10T{hour}"))
    fourth = utc("2026-03-10T23:30")        # 19:30 local: open, retry over, but 3 in 24 h
    assert refs(store, fourth) == []
    why = explain(store, "fl", "ann", fourth)
    assert any("US-FL.attempts" in b and "501.616" in b for b in why.blockers)
    assert why.next_callable_at == utc("2026-03-11T14:00")   # 24 h after the first
    assert refs(store, utc("2026-03-11T14:00")) == ["fl"]
    # The same three calls to New York: the law sets no cap there.
    ny = add_customer(store, "ny", where=NY)
    for hour in ("14:00", "17:05", "20:10"):
        _attempt(store, ny, utc(f"2026-03-12T{hour}"))
    assert "ny" in refs(store, utc("2026-03-12T23:30"))


def test_france_four_calls_in_thirty_days_and_sixty_quiet_days_after_a_refusal(store):
    cid = add_customer(store, "fr", where=PARIS)
    # Enough attempts per cycle that the customer stays due throughout.
    policy = policy_from_dict({"cycle": {"max_attempts": 20}, "calling": {
        "skip_holidays": False, "hours": {"weekdays": "00:00-24:00",
                                          "weekend": "00:00-24:00"}}})
    days = ["2026-03-02", "2026-03-04", "2026-03-09", "2026-03-11"]
    for day in days:
        _attempt(store, cid, utc(f"{day}T10:00"), "busy", policy)
    assert refs(store, utc("2026-03-20T10:00"), policy) == []
    text = " ".join(explain(store, "fr", "ann", utc("2026-03-20T10:00"), policy).blockers)
    assert "FR.attempts" in text and "D. 223-9" in text
    assert refs(store, utc("2026-04-01T10:00"), policy) == ["fr"]   # 30 days on
    _attempt(store, cid, utc("2026-04-01T10:00"), "refused", policy)
    assert refs(store, utc("2026-05-29T10:00"), policy) == []       # day 58
    text = " ".join(explain(store, "fr", "ann", utc("2026-05-29T10:00"), policy).blockers)
    assert "FR.refusal" in text and "60 days" in text
    assert refs(store, utc("2026-06-01T10:00"), policy) == ["fr"]   # day 61


def test_policy_caps_count_every_reason_and_law_is_the_floor():
    now = utc("2026-03-10T15:00")
    calls = [PastCall(now - timedelta(hours=h), "completed") for h in (1, 30, 60)]
    holds = contact_holds(calls, now)
    assert [h.code for h in holds] == ["contacts"]
    assert holds[0].until == calls[-1].started_at + timedelta(days=7)
    # A callback the customer asked for passes the company's limits ...
    assert contact_holds(calls, now, asked=True) == []
    # ... but not the law's: Florida, 3 calls within 24 hours.
    recent = [PastCall(now - timedelta(hours=h), "no_answer") for h in (1, 2, 3)]
    law = contact_holds(recent, now, jurisdiction="US-FL", asked=True)
    assert [h.rule.id for h in law] == ["US-FL.attempts"]
    # A looser policy does not loosen the law.
    loose = policy_from_dict({"contact": {"max_attempts": 50, "attempts_days": 1}})
    assert [h.code for h in contact_holds(recent, now, loose, jurisdiction="US-FL")] == [
        "attempts"]


def test_stored_times_are_utc_text():
    assert to_iso(TUESDAY) == "2026-03-10T10:00:00Z"


# -- "next ones open at": the end of a cap or a quiet period counts (issue 14) ---------------

def test_next_opening_is_the_end_of_the_french_cap_then_of_the_quiet_period(store):
    from calls.queue import next_opening_why

    cid = add_customer(store, "fr", where=PARIS, name="Luc Martin")
    policy = policy_from_dict({"cycle": {"max_attempts": 20}})
    # Four calls in March, busy each time (Mon 2, Wed 4, Mon 9, Wed 11; 11:00 Paris).
    for day in ("2026-03-02", "2026-03-04", "2026-03-09", "2026-03-11"):
        _attempt(store, cid, utc(f"{day}T10:00"), "busy", policy)
    now = utc("2026-03-20T10:00")                   # Friday 11:00 in Paris: window open
    assert refs(store, now, policy) == []
    found = next_opening_why(store, "ann", now, policy)
    # The first call leaves the 30 days on Wed 1 April 10:00 UTC (12:00 in Paris, open).
    assert found.at == utc("2026-04-01T10:00")
    assert found.customer.ref == "fr" and found.rule == "FR.attempts"
    assert "4 calls within 30 days" in found.why
    assert refs(store, found.at, policy) == ["fr"]

    # A refusal on 1 April: 60 quiet days, ending Sun 31 May 10:00 UTC. Sunday is closed
    # in France: they open Monday 1 June at 10:00 Paris time (08:00 UTC).
    _attempt(store, cid, utc("2026-04-01T10:00"), "refused", policy)
    later = utc("2026-04-20T10:00")
    found = next_opening_why(store, "ann", later, policy)
    assert found.at == utc("2026-06-01T08:00")
    assert found.rule == "FR.refusal" and "60 days" in found.why
    assert refs(store, found.at, policy) == ["fr"]
    assert refs(store, found.at - timedelta(minutes=1), policy) == []


def test_next_opening_at_the_end_of_a_policy_cap(store):
    from calls.queue import next_opening_why

    cid = add_customer(store, "ny", where=NY)
    policy = policy_from_dict({"cycle": {"max_attempts": 20},
                               "contact": {"max_attempts": 2, "attempts_days": 3}})
    _attempt(store, cid, utc("2026-03-09T14:00"), policy=policy)    # Mon 10:00 New York
    _attempt(store, cid, utc("2026-03-10T14:00"), policy=policy)
    now = utc("2026-03-10T20:00")
    assert refs(store, now, policy) == []
    found = next_opening_why(store, "ann", now, policy)
    assert found.at == utc("2026-03-12T14:00")      # 3 days after the first call
    assert found.rule == "policy contact (attempts)"


def test_next_opening_when_another_caller_holds_the_only_customer(store):
    from calls.queue import claim_next, next_opening_why

    add_customer(store, "ny", where=NY, name="Ned")
    now = utc("2026-03-10T15:00")
    assert claim_next(store, "bob", now) is not None
    assert refs(store, now) == []
    found = next_opening_why(store, "ann", now)
    assert found.at == now + timedelta(minutes=DEFAULT_POLICY.claims.lease_minutes)
    assert "being called by bob" in found.line(now) and "held by" not in found.line(now)


def test_next_opening_on_a_sunday_with_a_call_history(store):
    """Sunday, every window shut: the retry ends and cap ends of a real history (far more
    than the moments tried) fall while nobody may be called; the next opening is still
    Monday's window (a report had None: the tries were spent on shut moments)."""
    from calls.queue import next_opening, next_opening_why

    policy = policy_from_dict({"cycle": {"max_attempts": 20}})
    saturday = utc("2026-03-14T14:00")                  # 10:00 in New York (EDT)
    for i in range(150):
        cid = add_customer(store, f"ny{i:03d}", where=NY)
        # A voicemail on Saturday: tried again a day later, on Sunday (closed).
        _attempt(store, cid, saturday + timedelta(minutes=2 * i), "voicemail", policy)
    sunday = utc("2026-03-15T12:00")                    # 08:00 Sunday in New York
    assert refs(store, sunday, policy) == []
    monday = utc("2026-03-16T13:00")                    # 09:00 Monday in New York
    assert next_opening(store, "ann", sunday, policy) == monday
    found = next_opening_why(store, "ann", sunday, policy)
    assert found.at == monday and found.customer.ref.startswith("ny")
    assert refs(store, monday, policy)[:1] == [found.customer.ref]
    # Late on Sunday too (every retry over, the window still shut).
    assert next_opening(store, "ann", utc("2026-03-15T23:00"), policy) == monday
    # Florida's 3 calls in 24 hours: 3 x 60 cap ends on Sunday, all while shut.
    for i in range(60):
        cid = add_customer(store, f"fl{i:03d}", where=MIAMI)
        for k in range(3):
            _attempt(store, cid, saturday + timedelta(hours=2 * k, minutes=i), "no_answer",
                     policy)
    assert next_opening(store, "ann", sunday, policy) == monday
