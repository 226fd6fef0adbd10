"""Escalation reads only the follow-ups that may have missed a deadline
(``calls.store.deadlines.missed_candidate_rows`` picked by ``calls.deadlines.missed_cuts``);
these tests hold it to the plain reading (every open follow-up, each judged by
``missed_deadlines``) over a mixed set of follow-ups, policies and moments."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from calls import deadlines as dl
from calls.clock import to_iso
from calls.policy import DEFAULT_POLICY, policy_from_dict
from calls.store import deadlines as q
from tests.support.followups import add_customer

OCCASIONS = [
    None, "", "birthday", "birthday {d0}", "birthday {d0}; 4th anniversary as a customer {d1}",
    "anniversary {d1} (and {d0})", "{d0}", "x{d0}", "12{d0}", "birthday 2026-02-30",
    "birthday 2026-02-30; party {d1}", "Geburtstag am {d0} 🎂", "birthday ٢٠٢٦-٠٣-١٥",
    "due 0000-01-01", "shop day {d0}x",
]

# Every deadline rule on one kind, and kinds without any, to cross every branch.
ALL_RULES = {"deadlines": {
    "gift": {"first_contact_hours": 12, "close_hours": 100, "at_due": True,
             "grace_minutes": 30, "before_occasion": True},
    "thank_you_note": {"before_occasion": True, "grace_minutes": 5},
    "callback": {"at_due": True},
    "fix_problem": {"first_contact_hours": 1.5},
}}


def _followups(store, now, n=400, seed=7):
    rng = random.Random(seed)
    customer = add_customer(store, "C1", "Ann Able", owner="olga")
    kinds = ["gift", "thank_you_note", "callback", "fix_problem", "recovery_call",
             "unreached_letter", "escalate", "sales_lead", "referral", "no_such_kind"]

    def moment():
        return now + timedelta(hours=rng.uniform(-400, 200), seconds=rng.choice([0, 1, -1]))

    def day():
        return (now + timedelta(days=rng.randint(-20, 20))).date().isoformat()

    rows = []
    for _ in range(n):
        occasion = rng.choice(OCCASIONS)
        if occasion:
            occasion = occasion.format(d0=day(), d1=day())
        created = moment()
        rows.append({
            "kind": rng.choice(kinds), "customer_id": customer,
            "owner": rng.choice(["olga", "OLGA", "bob", None]),
            "due_at": to_iso(moment()) if rng.random() < 0.8 else None,
            "status": rng.choice(["open", "open", "open", "done"]),
            "created_at": to_iso(created), "occasion": occasion,
            "first_contact_at": to_iso(created + timedelta(hours=1)) if rng.random() < 0.3
            else None,
        })
    with store.write():
        store.db["followups"].insert_all(rows)
        ids = [r[0] for r in store.db.conn.execute("SELECT id FROM followups")]
        for fid in rng.sample(ids, len(ids) // 5):  # some deadlines already escalated
            for deadline in rng.sample(["first_contact", "close"], rng.randint(1, 2)):
                store.db["followup_escalations"].insert({
                    "followup_id": fid, "deadline": deadline, "deadline_at": to_iso(now),
                    "escalated_at": to_iso(now), "escalated_to": "supervisors",
                    "waited_seconds": 0})


def _judged(rows, now, policy, unescalated=False):
    out = set()
    for row in rows:
        done = set((row.get("escalated") or "").split(",")) if unescalated else set()
        out |= {(row["id"], d.name, d.at) for d in dl._row_missed(row, now, policy)
                if d.name not in done}
    return out


@pytest.mark.parametrize("rules", [None, ALL_RULES], ids=["default policy", "every rule"])
def test_the_candidates_hold_every_missed_deadline_the_plain_reading_finds(store, now, rules):
    policy = policy_from_dict(rules) if rules else DEFAULT_POLICY
    _followups(store, now)
    seen = 0
    for hours in (-500, -48, -2, 0, 0.25, 3, 47, 49, 100, 300, 1000):
        at = now + timedelta(hours=hours)
        for owner in (None, "olga"):
            for kind in (None, "gift", "fix_problem"):
                plain = [r for r in q.open_followup_rows(store, policy.deadlines.kinds,
                                                         owner=owner, kind=kind)]
                fast = q.missed_candidate_rows(store, dl.missed_cuts(store, policy, at, kind),
                                               owner=owner)
                assert _judged(fast, at, policy) == _judged(plain, at, policy)
                narrow = q.missed_candidate_rows(store, dl.missed_cuts(store, policy, at, kind),
                                                 owner=owner, unescalated=True)
                assert _judged(narrow, at, policy, True) == _judged(plain, at, policy, True)
                seen += len(_judged(plain, at, policy))
        # the narrowing is real: far fewer rows than every open follow-up
        assert len(q.missed_candidate_rows(store, dl.missed_cuts(store, policy, now - timedelta(
            hours=500)), unescalated=True)) < len(q.open_followup_rows(
                store, policy.deadlines.kinds)) / 4
    assert seen > 100  # the set has missed deadlines to find


def test_escalating_from_the_candidates_escalates_what_the_plain_reading_would(store, now):
    _followups(store, now, seed=11)
    at = now + timedelta(hours=60)
    plain = _judged(q.open_followup_rows(store, DEFAULT_POLICY.deadlines.kinds), at,
                    DEFAULT_POLICY, unescalated=True)
    made = dl.escalate_overdue(store, at)
    assert {(e.followup_id, e.deadline, e.deadline_at) for e in made} == plain
    assert plain
    assert dl.escalate_overdue(store, at) == []


def test_at_each_deadline_to_the_half_second_both_readings_agree(store, now):
    policy = policy_from_dict(ALL_RULES)
    _followups(store, now, n=150, seed=3)
    rows = q.open_followup_rows(store, policy.deadlines.kinds)
    moments = sorted({d.at + timedelta(microseconds=us) for row in rows[:80]
                      for d in dl.deadlines_for(row["kind"], dl.from_iso(row["created_at"]),
                                                dl._moment(row, "due_at"), row["occasion"],
                                                policy)
                      for us in (-500_000, 0, 500_000, 1_000_000)})
    assert len(moments) > 100
    for at in moments:
        fast = q.missed_candidate_rows(store, dl.missed_cuts(store, policy, at))
        assert _judged(fast, at, policy) == _judged(rows, at, policy), at
