"""issue 14 in the call session: consent answers honoured at once, the recording notice's
answer on the call, marketing questions only with a basis, one voicemail per cycle."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from calls import consent
from calls.errors import UserError
from calls.export import export_table
from calls.policy import DEFAULT_POLICY
from calls.queue import build_queue, explain
from calls.session import CallSession
from tests.support.queue import NY, add_customer

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tuesday, 11:00 in New York
LATER = NOW + timedelta(minutes=4)


def take(store, caller="ann", now=NOW, script="quarterly"):
    session = CallSession.take_next(store, caller, now, DEFAULT_POLICY, script)
    assert session is not None
    return session


def to(session, key):
    """Answer the script up to question ``key`` (promoter, all yes)."""
    canned = {"nps": 10, "going_well": "Fast delivery", "last_order_csat": 5,
              "contact_ok": True}
    while (q := session.current()) is not None and q.key != key:
        session.answer(q.key, canned.get(q.key, True if q.type == "yes_no" else "x"))


def test_consent_withdrawn_during_a_call_takes_effect_at_once(store):
    cid = add_customer(store, "R1", where=NY, name="Ada", last_purchase="2026-02-01")
    s = take(store)
    s.start(store)
    to(s, "referral_ok")
    assert s.current().key == "referral_ok"          # a US customer: relationship basis
    taken = s.record_consent(store, "calls", False, LATER, proof="asked not to be called")
    # The referral question left the path at once, the queue and explain know it now.
    assert s.current() is None or s.current().key != "referral_ok"
    assert "referral_ok" not in s.survey.answers() and taken.dropped == ()
    with pytest.raises(UserError, match="withdrew consent"):
        s.choose("callback", callback_at=LATER + timedelta(days=1))
    s.choose("completed")
    s.wrap_up(store, LATER)
    assert build_queue(store, "bo", LATER + timedelta(days=200), DEFAULT_POLICY) == []
    why = explain(store, cid, "bo", LATER + timedelta(days=200))
    assert "withdrew consent to be called" in why.blockers
    rows = store.all("SELECT what, state, how, call_id FROM consents")
    assert rows == [{"what": "calls", "state": "withdrawn", "how": "call",
                     "call_id": s.call_id}]


def test_recording_answer_is_stored_on_the_call_and_exported(store):
    add_customer(store, "R1", where=NY, name="Ada")
    s = take(store)
    s.record_recording(store, False, NOW)
    s.choose("completed")
    s.wrap_up(store, LATER)
    assert store.one("SELECT recording_ok, purpose FROM calls") == {
        "recording_ok": "no", "purpose": "care"}
    out = io.StringIO()
    export_table(store, "calls", out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["recording_ok"] == "no" and row["purpose"] == "care"


def test_a_referral_answer_makes_the_call_marketing(store):
    add_customer(store, "R1", where=NY, name="Ada", last_purchase="2026-02-01")
    s = take(store)
    to(s, "referral_ok")
    s.answer("referral_ok", True)
    s.choose("completed")
    s.wrap_up(store, LATER)
    assert store.scalar("SELECT purpose FROM calls") == "marketing"


def test_no_marketing_questions_without_a_basis(store):
    # No purchase within 18 months, no consent: the US pack allows no marketing.
    add_customer(store, "R1", where=NY, name="Ada", last_purchase="2023-01-01")
    s = take(store)
    seen = []
    while (q := s.current()) is not None:
        seen.append(q.key)
        s.answer(q.key, 10 if q.type == "nps" else (5 if q.type == "rating" else (
            True if q.type == "yes_no" else "x")))
    assert "referral_ok" not in seen and "need" not in seen
    consent.record(store, s.customer.id, "marketing", True, how="call", actor="ann", now=NOW)
    again = CallSession.open(store, "R1", "ann", LATER, DEFAULT_POLICY, "quarterly")
    assert again.survey.marketing_allowed


def test_one_voicemail_per_cycle(store):
    add_customer(store, "R1", where=NY, name="Ada")
    s = take(store)
    s.choose("voicemail")
    s.wrap_up(store, NOW + timedelta(minutes=1))
    s2 = take(store, now=NOW + timedelta(days=2))
    chosen = s2.choose("voicemail")
    with pytest.raises(UserError, match="voicemail was already left"):
        s2.keep_outcome(store, chosen)
    s2.choose("no_answer")
    s2.wrap_up(store, NOW + timedelta(days=2, minutes=1))


def test_a_referral_is_kept_with_the_customers_consent_to_share(store):
    add_customer(store, "R1", where=NY, name="Ada", last_purchase="2026-02-01")
    s = take(store)
    to(s, "referral_ok")
    assert s.survey.question("referral_ok").permission == "share"
    s.answer("referral_ok", True)
    s.answer("referral_name", "Cy Young at Acme, 555 0101")
    hint = s.survey.hint_text("referral_name")
    assert "Nobody calls them on this word alone" in hint
    s.choose("partial")
    s.wrap_up(store, LATER)
    [given] = store.all("SELECT what, state, how, call_id, proof FROM consents")
    assert given["what"] == "share" and given["state"] == "given" and given["how"] == "call"
    assert given["call_id"] == s.call_id and "may we mention your name" in given["proof"]
    referral = store.one("SELECT status, details FROM followups WHERE kind = 'referral'")
    assert referral["status"] == "open" and "Cy Young at Acme" in referral["details"]
    assert "a basis of their own" in referral["details"]
    # The customer takes it back: the referral ask is cancelled at once.
    consent.record(store, s.customer.id, "share", False, how="letter", actor="sue",
                   now=LATER + timedelta(days=1))
    assert store.scalar("SELECT status FROM followups WHERE kind = 'referral'") == "cancelled"


def test_no_referral_and_no_consent_to_share_on_a_no(store):
    add_customer(store, "R1", where=NY, name="Ada", last_purchase="2026-02-01")
    s = take(store)
    to(s, "referral_ok")
    s.answer("referral_ok", False)
    s.choose("partial")
    s.wrap_up(store, LATER)
    assert store.scalar("SELECT count(*) FROM consents") == 0
    assert store.scalar("SELECT count(*) FROM followups WHERE kind = 'referral'") == 0


def test_a_resumed_call_keeps_the_recording_answer_and_the_withdrawal(store):
    from calls.session import CallSession as Session

    add_customer(store, "R1", where=NY, name="Ada", phone="+13125550101")   # Illinois
    s = take(store)
    assert s.recording_law is not None and s.recording_law.id == "US-IL.recording"
    assert s.recording_answer_needed
    s.connect(store, NOW)
    s.record_recording(store, False, NOW)
    s.record_consent(store, "calls", False, NOW)
    again = Session.resume(store, s.call_id, "ann", LATER, DEFAULT_POLICY)
    assert again.recording is False and not again.recording_answer_needed
    assert again.withdrawn == {"recording", "calls"} and again.calls_withdrawn


def test_an_inbound_call_from_a_german_consumer_without_consent_is_allowed(store):
    """The consent rules (UWG § 7) are about calls we make: a German consumer who calls us
    is taken, also on a Sunday night and with Florida-style caps used up; an outbound
    call to them is refused naming both rules, and the do-not-call list holds for both."""
    from tests.support.queue import BERLIN

    cid = add_customer(store, "DE1", where=BERLIN, name="Jonas Becker")
    sunday_night = datetime(2026, 3, 8, 22, 30, tzinfo=UTC)       # 23:30 in Berlin
    with pytest.raises(UserError) as refused:
        CallSession.take(store, cid, "ann", sunday_night, DEFAULT_POLICY, "quarterly")
    text = str(refused.value)
    assert text.startswith("Jonas Becker cannot be taken: ")
    assert "outside calling hours" in text and "DE.consent" in text and "UWG" in text
    s = CallSession.take(store, cid, "ann", sunday_night, DEFAULT_POLICY, "quarterly",
                         inbound=True)
    assert s.inbound and list(s.reasons) == ["inbound call: they called us"]
    s.start(store)
    s.connect(store, sunday_night + timedelta(minutes=1))
    s.choose("partial")
    s.wrap_up(store, sunday_night + timedelta(minutes=5))
    assert store.one("SELECT inbound, outcome FROM calls") == {"inbound": 1,
                                                               "outcome": "partial"}
    # On the do-not-call list: refused inbound too, and only that is named.
    with store.write():
        store.db.execute("UPDATE customers SET do_not_call = 1, dnc_reason = 'asked' "
                         "WHERE id = ?", (cid,))
    later = sunday_night + timedelta(hours=1)
    with pytest.raises(UserError) as dnc:
        CallSession.take(store, cid, "bo", later, DEFAULT_POLICY, "quarterly", inbound=True)
    assert str(dnc.value) == "Jonas Becker cannot be taken: asked not to be called (asked)"
