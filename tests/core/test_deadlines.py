"""Follow-up deadlines and escalation with a fixed clock: just before, at and after the
deadline; escalated once only; the status history; the report's on-time figures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calls import deadlines as dl
from calls import followups as fu
from calls.clock import from_iso
from calls.policy import DEFAULT_POLICY, policy_from_dict
from tests.support.followups import add_call, add_customer


@pytest.fixture
def ann(store):
    return add_customer(store, "C1", "Ann Able", owner="olga", tier="A", phone="+15555550101")


def _fix(store, customer, now, owner="olga"):
    return fu.add_followup(store, kind="fix_problem", customer_id=customer, owner=owner,
                           due_at=None, details="parcel arrived broken", now=now,
                           created_by="bob", source="rule")


def test_fix_problem_deadlines_are_48_hours_and_10_days(store, now, ann):
    f = _fix(store, ann, now)
    got = {d.name: d.at for d in dl.deadlines_for(f.kind, f.created_at, f.due_at, f.occasion)}
    assert got == {"first_contact": now + timedelta(hours=48),
                   "close": now + timedelta(days=10)}


def test_escalated_after_the_deadline_not_before_or_at_it_and_only_once(store, now, ann):
    f = _fix(store, ann, now)
    deadline = now + timedelta(hours=48)
    assert dl.escalate_overdue(store, deadline - timedelta(seconds=1)) == []
    assert dl.escalate_overdue(store, deadline) == []          # at the deadline: on time
    after = deadline + timedelta(seconds=1)
    [e] = dl.escalate_overdue(store, after)
    assert (e.followup_id, e.deadline, e.escalated_to, e.owner) == (
        f.id, "first_contact", "supervisors", "olga")
    assert e.escalated_at == after and e.deadline_at == deadline
    assert e.waited == timedelta(hours=48, seconds=1)
    # once only: later runs escalate nothing more for that deadline
    assert dl.escalate_overdue(store, after + timedelta(hours=1)) == []
    assert dl.escalate_overdue(store, after + timedelta(days=2)) == []
    assert store.scalar("SELECT count(*) FROM followup_escalations") == 1
    # the close deadline is a second, separate escalation (also once)
    late = now + timedelta(days=10, seconds=1)
    [e2] = dl.escalate_overdue(store, late)
    assert e2.deadline == "close" and e2.waited == timedelta(days=10, seconds=1)
    assert dl.escalate_overdue(store, late + timedelta(days=1)) == []
    assert store.scalar("SELECT count(*) FROM followup_escalations") == 2


def test_first_contact_in_time_means_no_first_contact_escalation(store, now, ann):
    f = _fix(store, ann, now)
    fu.record_contact(store, f.id, by="olga", note="called, replacing the part",
                      now=now + timedelta(hours=47))
    assert dl.escalate_overdue(store, now + timedelta(hours=49)) == []
    got = fu.get_followup(store, f.id)
    assert got.first_contact_at == now + timedelta(hours=47) and got.first_contact_by == "olga"
    assert "contacted the customer: called, replacing the part" in got.details


def test_a_call_that_reaches_the_customer_is_the_first_contact(store, now, ann):
    f = _fix(store, ann, now)
    call = add_call(store, ann, "kim", now + timedelta(hours=3), "completed")
    fu.on_call_ended(store, call, now + timedelta(hours=3, minutes=8))
    assert fu.get_followup(store, f.id).first_contact_at == now + timedelta(hours=3, minutes=8)
    # a call that did not reach them (no answer) is no contact
    other = add_customer(store, "C2", "Bo Beck", owner="olga", phone="+15555550102")
    g = _fix(store, other, now)
    call = add_call(store, other, "kim", now + timedelta(hours=1), "no_answer")
    fu.on_call_ended(store, call, now + timedelta(hours=1, minutes=1))
    assert fu.get_followup(store, g.id).first_contact_at is None


def test_closed_follow_ups_are_never_escalated(store, now, ann):
    f = _fix(store, ann, now)
    fu.close_followup(store, f.id, by="olga", note="refunded", now=now + timedelta(hours=1))
    escalated = dl.escalate_overdue(store, now + timedelta(days=30))
    # only the recovery call the close opened (not made within 72 hours) is escalated
    assert [(e.kind, e.deadline) for e in escalated] == [("recovery_call", "close")]


def test_callback_deadline_is_its_time_plus_grace(store, now, ann):
    cb = fu.add_followup(store, kind="callback", customer_id=ann, owner="kim",
                         due_at=now + timedelta(hours=2), details="", now=now)
    at = now + timedelta(hours=2, minutes=15)
    assert dl.escalate_overdue(store, at) == []
    [e] = dl.escalate_overdue(store, at + timedelta(seconds=1))
    assert e.followup_id == cb.id and e.deadline == "close"


def test_note_deadline_is_before_the_occasion(store, now, ann):
    note = fu.add_followup(store, kind="thank_you_note", customer_id=ann, owner="olga",
                           due_at=now + timedelta(days=1), details="", now=now,
                           occasion="birthday 2026-03-15")
    [d] = dl.deadlines_for(note.kind, note.created_at, note.due_at, note.occasion)
    assert d.name == "close" and d.at == from_iso("2026-03-15T00:00:00Z")
    assert dl.escalate_overdue(store, d.at) == []
    assert len(dl.escalate_overdue(store, d.at + timedelta(seconds=1))) == 1


def test_escalated_to_the_policys_supervisors(store, now, ann):
    policy = policy_from_dict({"deadlines": {"supervisors": ["sam", "ria"]}})
    _fix(store, ann, now)
    [e] = dl.escalate_overdue(store, now + timedelta(days=3), policy)
    assert e.escalated_to == "sam, ria"
    assert dl.sees_escalation("sam", e, policy) and dl.sees_escalation("olga", e, policy)
    assert not dl.sees_escalation("kim", e, policy)
    # with no supervisors named (a trial), everybody sees the group's escalations
    assert dl.sees_escalation("kim", dl.Escalation.from_row(
        {**_row(e), "escalated_to": "supervisors"}), DEFAULT_POLICY)


def _row(e):
    return {"id": e.id, "followup_id": e.followup_id, "deadline": e.deadline,
            "deadline_at": "2026-03-12T15:00:00Z", "escalated_at": "2026-03-13T15:00:00Z",
            "escalated_to": e.escalated_to, "owner": e.owner, "waited_seconds": 10}


def test_policy_changes_a_deadline(store, now, ann):
    policy = policy_from_dict({"deadlines": {"fix_problem": {"first_contact_hours": 24}}})
    rule = policy.deadlines.kinds["fix_problem"]
    assert rule.first_contact_hours == 24 and rule.close_hours == 240  # the rest kept
    _fix(store, ann, now)
    assert len(dl.escalate_overdue(store, now + timedelta(hours=25), policy)) == 1


def test_overdue_view_lists_escalations(store, now, ann):
    f = _fix(store, ann, now)
    later = now + timedelta(hours=50)
    dl.escalate_overdue(store, later)
    [item] = dl.overdue_followups(store, later)
    assert item.followup.id == f.id and [d.name for d in item.missed] == ["first_contact"]
    data = item.to_dict()
    assert data["escalated"] is True
    assert data["escalations"][0]["escalated_at"] == "2026-03-12T17:00:00Z"
    assert data["escalations"][0]["waited_hours"] == 50.0


def test_status_history_records_time_in_each_status(store, now, ann):
    f = _fix(store, ann, now)
    fu.record_contact(store, f.id, by="olga", note=None, now=now + timedelta(hours=5))
    fu.close_followup(store, f.id, by="olga", note="replaced", now=now + timedelta(days=2))
    spells = dl.status_history(store, f.id)
    assert [(s.status, s.by) for s in spells] == [
        ("open", "bob"), ("contacted", "olga"), ("done", "olga")]
    assert spells[0].duration(now) == timedelta(hours=5)
    assert spells[1].duration(now) == timedelta(days=2) - timedelta(hours=5)
    # the recovery call the close opened has its own history
    rec = fu.recovery_for(store, f.id)
    assert [s.status for s in dl.status_history(store, rec.id)] == ["open"]


def test_report_figures_per_kind_and_owner(store, now, ann):
    bo = add_customer(store, "C2", "Bo Beck", owner="olga", phone="+15555550102")
    cy = add_customer(store, "C3", "Cy Cole", owner="pete", phone="+15555550103")
    a, b, c = _fix(store, ann, now), _fix(store, bo, now), _fix(store, cy, now, owner="pete")
    fu.record_contact(store, a.id, by="olga", note=None, now=now + timedelta(hours=10))
    fu.close_followup(store, a.id, by="olga", note="x", now=now + timedelta(days=2))  # on time
    fu.close_followup(store, b.id, by="olga", note="y", now=now + timedelta(days=12))  # late
    figures = dl.deadline_figures(store, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z",
                                  now + timedelta(days=20))
    by_key = {(f.kind, f.owner): f for f in figures}
    olga = by_key[("fix_problem", "olga")]
    assert (olga.opened, olga.closed, olga.closed_on_time, olga.on_time_share) == (2, 2, 1, 50.0)
    # first contact: 10 h (recorded) and 12 days (the close, as no contact was recorded)
    assert olga.median_hours_to_first_contact == pytest.approx((10 + 288) / 2)
    assert olga.median_hours_to_close == pytest.approx((48 + 288) / 2)
    pete = by_key[("fix_problem", "pete")]
    assert pete.closed == 0 and pete.on_time_share is None and pete.open_past_deadline == 1
    assert c.id


def test_with_accounts_the_supervisor_accounts_receive_escalations(store, now, ann):
    from calls import accounts

    admin = accounts.trial_actor("root")
    accounts.add_account(store, "boss", "admin", password=None, actor=admin, now=now)
    accounts.add_account(store, "sam", "supervisor", password=None, actor=admin, now=now)
    accounts.add_account(store, "olga", "caller", password=None, actor=admin, now=now)
    _fix(store, ann, now)
    [e] = dl.escalate_overdue(store, now + timedelta(days=3))
    assert e.escalated_to == "sam"
    assert dl.sees_escalation("boss", e, DEFAULT_POLICY, "admin", solo=False)
    assert dl.sees_escalation("olga", e, DEFAULT_POLICY, "caller", solo=False)   # the owner
    assert not dl.sees_escalation("kim", e, DEFAULT_POLICY, "caller", solo=False)


def test_late_by_kind_counts_each_open_follow_up_past_a_deadline_once():
    from datetime import UTC, datetime

    from calls.deadlines import Escalation, late_by_kind

    def escalation(i, followup_id, kind, deadline="close", status="open"):
        at = datetime(2026, 3, 10, 9, tzinfo=UTC)
        return Escalation(i, followup_id, deadline, at, at, "supervisors", None,
                          timedelta(hours=1), kind=kind, status=status)

    assert late_by_kind([]) == {}
    assert late_by_kind([
        escalation(1, 10, "fix_problem", "first_contact"),
        escalation(2, 10, "fix_problem", "close"),          # the same follow-up: once
        escalation(3, 11, "fix_problem"),
        escalation(4, 12, "callback"),
        escalation(5, 13, "callback", status="done"),       # closed since: not late
    ]) == {"fix_problem": 2, "callback": 1}


def _told_plainly(store, user, announced: set, first: bool, policy, role, solo):
    """What the watcher told before escalation_news: every open escalation judged at
    each look, the ones already told left out (the first look summed up)."""
    mine = [e for e in dl.open_escalations(store) if e.id not in announced
            and dl.sees_escalation(user, e, policy, role, solo)]
    announced.update(e.id for e in mine)
    if first:
        own = all(e.owner and e.owner.casefold() == user.casefold() for e in mine)
        return len(mine), (mine[-1] if mine else None), own if mine else False
    return mine


@pytest.mark.parametrize("user,role,solo", [("olga", None, True), ("sam", None, True),
                                            ("kim", None, True), ("sue", "supervisor", False),
                                            ("Kim", "caller", False)])
def test_a_seats_looks_tell_what_judging_every_escalation_told(store, now, ann, user, role,
                                                               solo):
    """escalation_news, first look then looks after it, against the plain reading:
    owners olga and kim, the supervisor sam named by the policy, follow-ups closed and
    made late between the looks."""
    policy = policy_from_dict({"deadlines": {"supervisors": ["sam"]}})
    kim = add_customer(store, "C2", "Kim's Customer", owner="kim", phone="+15555550102")
    for i in range(3):
        _fix(store, ann, now + timedelta(hours=i))
    closed = _fix(store, kim, now)
    _fix(store, kim, now + timedelta(hours=1), owner="kim")
    look = now + timedelta(hours=60)
    dl.escalate_overdue(store, look, policy)
    announced: set[int] = set()
    waiting, oldest, own = _told_plainly(store, user, announced, True, policy, role, solo)
    news = dl.escalation_news(store, user, None, policy, role, solo)
    assert (news.waiting, news.oldest, news.all_own, news.new) == (waiting, oldest, own, [])
    assert waiting > 0 or user == "Kim" or user == "kim"
    after = news.last_id
    # later: a closed follow-up, new ones late, the close deadlines passed
    fu.close_followup(store, closed.id, by="bob", note="refunded", now=look)
    _fix(store, kim, look, owner="kim")
    _fix(store, ann, look)
    told = 0
    for hours in (49, 24 * 10 + 1):
        look = look + timedelta(hours=hours)
        dl.escalate_overdue(store, look, policy)
        plain = _told_plainly(store, user, announced, False, policy, role, solo)
        news = dl.escalation_news(store, user, after, policy, role, solo)
        assert news.new == plain and news.waiting == 0
        after, told = news.last_id, told + len(plain)
    assert told > 0
    assert dl.escalation_news(store, user, after, policy, role, solo).new == []
