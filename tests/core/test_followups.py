"""Follow-ups in the core: creating, de-duplicating, closing, and the detractor loop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calls import followups as fu
from calls.errors import UserError
from tests.support.followups import Spec, add_call, add_customer


@pytest.fixture
def ann(store):
    return add_customer(store, "C1", "Ann Able", owner="olga", tier="A", phone="+15555550101")


def test_add_and_list(store, now, ann):
    f = fu.add_followup(
        store,
        kind="send_info",
        customer_id=ann,
        owner="bob",
        due_at=now + timedelta(days=1),
        details="brochure",
        now=now,
        created_by="bob",
    )
    assert f.status == "open" and f.customer_ref == "C1" and f.customer_name == "Ann Able"
    row = store.one("SELECT * FROM followups WHERE id = ?", (f.id,))
    assert row["kind"] == "send_info" and row["owner"] == "bob"
    assert row["due_at"] == "2026-03-11T15:00:00Z" and row["source"] == "hand"
    assert [x.id for x in fu.list_followups(store, owner="bob")] == [f.id]
    assert fu.list_followups(store, owner="someone else") == []
    assert fu.list_followups(store, due_before=now) == []
    assert len(fu.list_followups(store, due_before=now + timedelta(days=2))) == 1


def test_unknown_kind_and_customer_are_user_errors(store, now, ann):
    with pytest.raises(UserError, match="unknown follow-up kind 'cake'"):
        fu.add_followup(
            store, kind="cake", customer_id=ann, owner=None, due_at=None, details="", now=now
        )
    with pytest.raises(UserError, match="no customer"):
        fu.add_followup(
            store, kind="gift", customer_id=999, owner=None, due_at=None, details="", now=now
        )


def test_duplicate_joins_the_open_one_and_keeps_the_earlier_due(store, now, ann):
    first = fu.add_followup(
        store,
        kind="fix_problem",
        customer_id=ann,
        owner="olga",
        due_at=now + timedelta(days=2),
        details="late delivery",
        now=now,
    )
    second = fu.add_followup(
        store,
        kind="fix_problem",
        customer_id=ann,
        owner="someone",
        due_at=now + timedelta(days=5),
        details="invoice wrong",
        now=now,
    )
    assert second.id == first.id
    assert store.scalar("SELECT count(*) FROM followups") == 1
    assert second.details == "late delivery\ninvoice wrong"
    assert second.owner == "olga"
    assert second.due_at == now + timedelta(days=2)
    # Once closed, the same kind opens a new one.
    fu.close_followup(store, first.id, by="olga", note="fixed both", now=now)
    third = fu.add_followup(
        store, kind="fix_problem", customer_id=ann, owner="olga", due_at=None, details="x", now=now
    )
    assert third.id != first.id


def test_a_new_callback_request_replaces_the_time(store, now, ann):
    a = fu.add_followup(
        store,
        kind="callback",
        customer_id=ann,
        owner="bob",
        due_at=now + timedelta(hours=2),
        details="after lunch",
        now=now,
    )
    b = fu.add_followup(
        store,
        kind="callback",
        customer_id=ann,
        owner=None,
        due_at=now + timedelta(days=1),
        details="tomorrow instead",
        now=now,
    )
    assert a.id == b.id and b.due_at == now + timedelta(days=1) and b.owner is None


def test_rule_followups_resolve_owners_and_are_idempotent(store, now, ann):
    call = add_call(store, ann, "bob", now - timedelta(minutes=10), "completed", nps=3)
    specs = [
        Spec("fix_problem", "account_owner", now + timedelta(days=2), "Delivery was late"),
        Spec("send_info", "caller", now + timedelta(days=1), "Send the spring catalogue"),
        Spec("escalate", "support-team", None, "Billing dispute"),
    ]
    made = fu.apply_rule_followups(store, call, specs, "bob", now)
    assert [(f.kind, f.owner, f.source) for f in made] == [
        ("fix_problem", "olga", "rule"),
        ("send_info", "bob", "rule"),
        ("escalate", "support-team", "rule"),
    ]
    assert made[0].score_before == 3 and made[0].call_id == call
    again = fu.apply_rule_followups(store, call, specs, "bob", now)
    assert [f.id for f in again] == [f.id for f in made]
    assert store.scalar("SELECT count(*) FROM followups") == 3
    assert fu.get_followup(store, made[0].id).details == "Delivery was late"


def test_account_owner_falls_back_to_the_caller(store, now):
    cid = add_customer(store, "C2", "No Owner")
    call = add_call(store, cid, "bob", now, "completed", nps=2)
    [f] = fu.apply_rule_followups(
        store, call, [Spec("fix_problem", "account_owner", None, "x")], "bob", now
    )
    assert f.owner == "bob"


def test_promoter_referral_and_thank_you_rules(store, now, ann):
    call = add_call(store, ann, "bob", now, "completed", nps=10)
    made = fu.apply_rule_followups(
        store,
        call,
        [
            Spec("referral", "account_owner", now + timedelta(days=3), "Ask for an introduction"),
            Spec("thank_you_note", "caller", now + timedelta(days=7), "12 years with us"),
        ],
        "bob",
        now,
    )
    assert {(f.kind, f.owner) for f in made} == {("referral", "olga"), ("thank_you_note", "bob")}


def test_close_and_cancel_need_an_open_followup(store, now, ann):
    f = fu.add_followup(
        store, kind="gift", customer_id=ann, owner=None, due_at=None, details="", now=now
    )
    closed = fu.close_followup(store, f.id, by="olga", note="sent flowers", now=now)
    assert (closed.status, closed.closed_by, closed.close_note) == ("done", "olga", "sent flowers")
    with pytest.raises(UserError, match="already done"):
        fu.close_followup(store, f.id, by="olga", note="", now=now)
    with pytest.raises(UserError, match="already done"):
        fu.cancel_followup(store, f.id, by="olga", note="", now=now)
    with pytest.raises(UserError, match="no follow-up #42"):
        fu.close_followup(store, 42, by="olga", note="", now=now)


def test_cancel_and_reschedule(store, now, ann):
    f = fu.add_followup(
        store, kind="send_info", customer_id=ann, owner="bob", due_at=now, details="a", now=now
    )
    moved = fu.reschedule_followup(store, f.id, now + timedelta(days=3), "bob", now)
    assert moved.due_at == now + timedelta(days=3)
    assert "rescheduled from 2026-03-10T15:00:00Z to 2026-03-13T15:00:00Z" in moved.details
    gone = fu.cancel_followup(store, f.id, by="bob", note="customer found it online", now=now)
    assert gone.status == "cancelled" and gone.close_note == "customer found it online"
    with pytest.raises(UserError, match="cannot reschedule"):
        fu.reschedule_followup(store, f.id, now, "bob", now)


def test_fix_problem_needs_a_note_saying_what_was_done(store, now, ann):
    f = fu.add_followup(
        store, kind="fix_problem", customer_id=ann, owner="olga", due_at=None, details="x", now=now
    )
    with pytest.raises(UserError, match="say what was done"):
        fu.close_followup(store, f.id, by="olga", note="  ", now=now)
    assert fu.get_followup(store, f.id).status == "open"


def test_the_whole_detractor_loop(store, now, ann):
    # 1. The care call: a detractor (NPS 3); the script rule opens fix_problem.
    first = add_call(store, ann, "bob", now, "completed", nps=3)
    [fix] = fu.apply_rule_followups(
        store,
        first,
        [Spec("fix_problem", "account_owner", now + timedelta(days=2), "Late")],
        "bob",
        now + timedelta(minutes=9),
    )
    assert fix.owner == "olga" and fix.score_before == 3
    # 2. Olga fixes it the next day: a recovery call is opened, due at once, for anyone.
    day2 = now + timedelta(days=1)
    closed = fu.close_followup(store, fix.id, by="olga", note="Refunded shipping", now=day2)
    assert closed.status == "done" and closed.close_note == "Refunded shipping"
    recovery = fu.recovery_for(store, fix.id)
    assert recovery is not None
    assert (recovery.kind, recovery.status, recovery.owner) == ("recovery_call", "open", None)
    assert recovery.due_at == day2 and recovery.score_before == 3
    assert "Refunded shipping" in recovery.details
    assert [f.id for f in fu.list_followups(store, kind="recovery_call", due_before=day2)] == [
        recovery.id
    ]
    # 3. A no-answer attempt does not close anything.
    day3 = now + timedelta(days=2)
    miss = add_call(store, ann, "carl", day3, "no_answer")
    assert fu.on_call_ended(store, miss, day3) == []
    # 4. The recovery call is completed with NPS 9: the loop is closed, before and after.
    day4 = now + timedelta(days=3)
    rec_call = add_call(store, ann, "carl", day4, "completed", nps=9)
    [done] = fu.on_call_ended(store, rec_call, day4 + timedelta(minutes=8))
    assert done.id == recovery.id and done.status == "done"
    assert (done.score_before, done.score_after, done.closed_call_id) == (3, 9, rec_call)
    assert done.closed_by == "carl" and "NPS 3 -> 9" in done.close_note
    stats = fu.loop_stats(store)
    assert (stats.closed, stats.won_back, stats.fixes_open, stats.recoveries_open) == (1, 1, 0, 0)
    assert stats.median_days_to_close == pytest.approx(3.0, abs=0.01)


def test_a_partial_recovery_call_leaves_the_loop_open(store, now, ann):
    fix = fu.add_followup(
        store, kind="fix_problem", customer_id=ann, owner="olga", due_at=None, details="x", now=now
    )
    fu.close_followup(store, fix.id, by="olga", note="fixed", now=now)
    call = add_call(store, ann, "carl", now + timedelta(hours=1), "partial", nps=None)
    assert fu.on_call_ended(store, call, now + timedelta(hours=1)) == []
    assert fu.recovery_for(store, fix.id).status == "open"


def test_dnc_customer_gets_no_recovery_call(store, now):
    cid = add_customer(store, "C9", "Dee", owner="olga", do_not_call=1, dnc_reason="asked")
    fix = fu.add_followup(
        store, kind="fix_problem", customer_id=cid, owner="olga", due_at=None, details="x", now=now
    )
    closed = fu.close_followup(store, fix.id, by="olga", note="refunded", now=now)
    assert "do-not-call" in closed.close_note
    assert fu.recovery_for(store, fix.id) is None
    assert fu.list_followups(store, kind="recovery_call") == []


def test_number_on_the_dnc_list_blocks_call_followups(store, now):
    cid = add_customer(store, "C8", "Ed", phone="+15555550188")
    with store.write():
        store.db["dnc"].insert({"phone": "+15555550188", "added_at": "2026-01-01T00:00:00Z"})
    with pytest.raises(UserError, match="do-not-call"):
        fu.add_followup(
            store, kind="callback", customer_id=cid, owner=None, due_at=now, details="", now=now
        )
    call = add_call(store, cid, "bob", now, "completed", nps=8)
    made = fu.apply_rule_followups(
        store,
        call,
        [Spec("callback", "caller", now, "x"), Spec("send_info", "caller", now, "y")],
        "bob",
        now,
    )
    assert [f.kind for f in made] == ["send_info"]


def test_contact_answers_earlier_callbacks_but_not_the_new_one(store, now, ann):
    old = fu.add_followup(
        store, kind="callback", customer_id=ann, owner="bob", due_at=now, details="at 3", now=now
    )
    # A failed attempt leaves the callback open.
    busy = add_call(store, ann, "bob", now + timedelta(minutes=1), "busy")
    assert fu.on_call_ended(store, busy, now + timedelta(minutes=2)) == []
    # The customer is reached and asks to be called again tomorrow: the old request is
    # answered (joined into the new one by record_outcome) and stays open for tomorrow.
    later = now + timedelta(minutes=30)
    call = add_call(store, ann, "bob", later, "completed")
    [answered] = fu.on_call_ended(store, call, later + timedelta(minutes=8))
    assert answered.id == old.id and answered.status == "done"
    assert answered.closed_call_id == call
    again = later + timedelta(hours=1)
    cb_call = add_call(store, ann, "bob", again, "callback")
    new = fu.add_followup(
        store,
        kind="callback",
        customer_id=ann,
        owner="bob",
        due_at=again + timedelta(days=1),
        details="tomorrow",
        now=again + timedelta(minutes=8),
        call_id=cb_call,
        source="outcome",
    )
    assert fu.on_call_ended(store, cb_call, again + timedelta(minutes=8)) == []
    assert fu.get_followup(store, new.id).status == "open"


def test_do_not_call_outcome_cancels_call_followups(store, now, ann):
    cb = fu.add_followup(
        store, kind="callback", customer_id=ann, owner="bob", due_at=now, details="", now=now
    )
    note = fu.add_followup(
        store,
        kind="thank_you_note",
        customer_id=ann,
        owner="olga",
        due_at=now,
        details="",
        now=now,
    )
    call = add_call(store, ann, "bob", now + timedelta(minutes=5), "do_not_call")
    [cancelled] = fu.on_call_ended(store, call, now + timedelta(minutes=6))
    assert cancelled.id == cb.id and cancelled.status == "cancelled"
    assert "not to be called" in cancelled.close_note
    assert fu.get_followup(store, note.id).status == "open"


def test_on_call_ended_for_an_unknown_call(store, now):
    with pytest.raises(UserError):
        fu.on_call_ended(store, 77, now)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+2d", "2026-03-12T15:00:00Z"),
        ("+4h", "2026-03-10T19:00:00Z"),
        ("+30m", "2026-03-10T15:30:00Z"),
        ("+1w", "2026-03-17T15:00:00Z"),
        ("tomorrow", "2026-03-11T09:00:00Z"),
        ("2026-03-15", "2026-03-15T09:00:00Z"),
        ("2026-03-15T14:30", "2026-03-15T14:30:00Z"),
        ("2026-03-15T14:30:00-05:00", "2026-03-15T19:30:00Z"),
    ],
)
def test_parse_when(now, text, expected):
    from calls.clock import to_iso

    assert to_iso(fu.parse_when(text, now)) == expected


@pytest.mark.parametrize("text", ["", "soon", "+2x", "2026-13-01"])
def test_parse_when_refuses_nonsense(now, text):
    with pytest.raises(UserError):
        fu.parse_when(text, now)


def test_mail_merge_columns_follow_the_list(store, now):
    a = add_customer(
        store,
        "M1",
        "Mia",
        company="Acme",
        email="mia@example.com",
        extra={"Address": "1 Main St", "City": "Springfield", "Zip": "12345", "Shoe size": "9"},
    )
    b = add_customer(store, "M2", "Noor", country="DE", extra={"Postcode": "10115"})
    fs = [
        fu.add_followup(
            store,
            kind="thank_you_note",
            customer_id=c,
            owner=None,
            due_at=now,
            details="Thanks!",
            now=now,
            occasion="birthday 2026-03-15",
        )
        for c in (a, b)
    ]
    headers, rows = fu.mail_merge(store, fs)
    assert headers == [
        "id",
        "kind",
        "ref",
        "name",
        "company",
        "Address",
        "City",
        "Zip",
        "Postcode",
        "Country",
        "email",
        "occasion",
        "note",
        "due",
        "owner",
    ]
    assert rows[0][2:9] == ["M1", "Mia", "Acme", "1 Main St", "Springfield", "12345", ""]
    assert rows[1][8:10] == ["10115", "Germany"]   # the name a letter carries, not the code
    assert rows[0][11:13] == ["birthday 2026-03-15", "Thanks!"]
    assert "Shoe size" not in headers


def test_joining_keeps_short_new_notes(store, now, ann):
    f = fu.add_followup(
        store,
        kind="escalate",
        customer_id=ann,
        owner="x",
        due_at=None,
        details="late delivery",
        now=now,
    )
    g = fu.add_followup(
        store, kind="escalate", customer_id=ann, owner="x", due_at=None, details="late", now=now
    )
    h = fu.add_followup(
        store, kind="escalate", customer_id=ann, owner="x", due_at=None, details="late", now=now
    )
    assert f.id == g.id == h.id and h.details == "late delivery\nlate"


def test_count_open_and_limit(store, now, ann):
    other = add_customer(store, "C5", "Eve")
    for cid, kind, owner, due in (
        (ann, "gift", "olga", now - timedelta(hours=1)),
        (ann, "send_info", "olga", now),
        (other, "referral", "olga", now + timedelta(days=1)),
        (other, "escalate", "zed", None),
    ):
        fu.add_followup(
            store, kind=kind, customer_id=cid, owner=owner, due_at=due, details="", now=now
        )
    assert fu.count_open(store, now) == fu.OpenCounts(open=4, due=2, overdue=1)
    assert fu.count_open(store, now, "olga") == fu.OpenCounts(open=3, due=2, overdue=1)
    first = fu.list_followups(store, limit=2)
    assert [f.kind for f in first] == ["gift", "send_info"]


def test_every_kind_has_one_wording_on_screen_that_fits_where_its_code_did():
    from calls.models import FOLLOWUP_KIND_LABEL, FOLLOWUP_KINDS, kind_label

    assert set(FOLLOWUP_KIND_LABEL) == set(FOLLOWUP_KINDS)
    assert kind_label("send_info") == "send info" and kind_label("new_kind") == "new kind"
    for kind in FOLLOWUP_KINDS:
        assert len(kind_label(kind)) <= len(kind), kind   # the 80-column tables' widths
