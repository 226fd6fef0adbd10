"""A consent withdrawn stops at once what goes against it: the follow-ups that would
contact the customer are cancelled (and audited), none can be opened again, and a fixed
problem closes without a recovery call (issue 14)."""

from __future__ import annotations

import pytest

from calls import audit, consent
from calls.errors import UserError
from calls.followups import add_followup as open_followup
from calls.followups import close_followup
from tests.support.queue import NY, add_customer, add_followup, utc

NOW = utc("2026-03-10T15:00")


def status(store, fid):
    return store.one("SELECT status, close_note FROM followups WHERE id = ?", (fid,))


def test_withdrawing_calls_cancels_callbacks_and_recovery_calls_only(store):
    cid = add_customer(store, "R1", where=NY)
    callback = add_followup(store, cid, "callback", "2026-03-12T15:00:00Z")
    recovery = add_followup(store, cid, "recovery_call", "2026-03-11T15:00:00Z")
    note = add_followup(store, cid, "thank_you_note", "2026-03-13T15:00:00Z")
    change = consent.record_change(store, cid, "calls", False, how="letter", actor="sue",
                                   now=NOW, proof="letter of 2026-03-09")
    assert sorted(change.cancelled) == sorted([(callback, "callback"),
                                               (recovery, "recovery_call")])
    assert status(store, callback)["status"] == "cancelled"
    assert "withdrew consent to calls (letter, 2026-03-10): no more calls" in \
        status(store, callback)["close_note"]
    assert status(store, note)["status"] == "open"   # a handwritten note is no call
    actions = [(e.action, e.subject) for e in audit.entries(store)]
    assert ("followup.cancel", f"#{callback}") in actions
    assert ("consent.withdraw", "R1") in actions
    with pytest.raises(UserError, match="withdrew consent to calls: no callback"):
        open_followup(store, kind="callback", customer_id=cid, owner=None, due_at=NOW,
                      details="", now=NOW, created_by="sue", source="hand")


def test_withdrawing_marketing_cancels_sales_leads_and_referral_asks(store):
    cid = add_customer(store, "R1", where=NY)
    lead = add_followup(store, cid, "sales_lead", None)
    referral = add_followup(store, cid, "referral", None)
    callback = add_followup(store, cid, "callback", "2026-03-12T15:00:00Z")
    consent.record(store, cid, "marketing", False, how="call", actor="ann", now=NOW)
    assert status(store, lead)["status"] == status(store, referral)["status"] == "cancelled"
    assert status(store, callback)["status"] == "open"


def test_a_withdrawal_not_in_force_cancels_nothing(store):
    # The customer gave consent again after the withdrawal that is recorded late.
    cid = add_customer(store, "R1", where=NY)
    consent.record(store, cid, "calls", True, how="web", actor="sue", now=NOW)
    callback = add_followup(store, cid, "callback", "2026-03-12T15:00:00Z")
    change = consent.record_change(store, cid, "calls", False, how="letter", actor="sue",
                                   now=NOW, at=utc("2026-01-01T09:00"))
    assert change.cancelled == () and status(store, callback)["status"] == "open"


def test_a_fix_closes_without_a_recovery_call_after_calls_were_withdrawn(store):
    cid = add_customer(store, "R1", where=NY)
    fix = add_followup(store, cid, "fix_problem", None)
    consent.record(store, cid, "calls", False, how="call", actor="ann", now=NOW)
    closed = close_followup(store, fix, by="sue", note="replaced the part", now=NOW)
    assert "no recovery call: the customer withdrew consent to be called" in closed.close_note
    assert store.scalar("SELECT count(*) FROM followups WHERE kind = 'recovery_call'") == 0
