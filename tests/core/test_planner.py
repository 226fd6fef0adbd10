"""The planner: notes and gifts ahead of occasions, across year ends and 29 February."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from calls import followups as fu
from calls.planner import occasion_date, plan, window_days
from tests.support.followups import add_customer


def at(y, m, d, h=9, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=UTC)


def policy(days_ahead=14, gift_tiers=("A",), post_days=3, mail_dnc=False):
    return SimpleNamespace(
        followups=SimpleNamespace(
            note_days_ahead=days_ahead,
            gift_tiers=gift_tiers,
            post_days=post_days,
            mail_dnc=mail_dnc,
        ),
        occasions=SimpleNamespace(days_ahead=7),
    )


def test_occasion_date_feb_29():
    assert occasion_date(2, 29, 2027) == date(2027, 2, 28)
    assert occasion_date(2, 29, 2028) == date(2028, 2, 29)
    assert occasion_date(3, 1, 2027) == date(2027, 3, 1)


def test_window_days_wraps_the_year_and_maps_feb_29():
    days = window_days(date(2026, 12, 25), 10)
    assert days["12-25"] == date(2026, 12, 25)
    assert days["01-04"] == date(2027, 1, 4)
    assert "01-05" not in days
    feb = window_days(date(2027, 2, 27), 1)
    assert feb == {
        "02-27": date(2027, 2, 27),
        "02-28": date(2027, 2, 28),
        "02-29": date(2027, 2, 28),
    }
    leap = window_days(date(2028, 2, 27), 3)
    assert leap["02-29"] == date(2028, 2, 29) and leap["03-01"] == date(2028, 3, 1)


def test_birthdays_across_the_year_boundary(store):
    a = add_customer(store, "B1", "Ann", birthday="1980-01-03", tier="A", owner="olga")
    c = add_customer(store, "B2", "Cy", birthday="1975-12-30", tier="C")
    add_customer(store, "B3", "Late", birthday="1990-01-20", tier="C")  # outside the window
    result = plan(store, at(2026, 12, 24), policy())
    got = {(f.customer_id, f.kind, f.occasion) for f in result.planned}
    assert got == {
        (a, "gift", "birthday 2027-01-03"),
        (c, "thank_you_note", "birthday 2026-12-30"),
    }
    gift = next(f for f in result.planned if f.customer_id == a)
    assert gift.owner == "olga" and gift.source == "planner"
    assert gift.due_at == at(2026, 12, 31)  # three days before, to arrive in time
    note = next(f for f in result.planned if f.customer_id == c)
    assert note.due_at == at(2026, 12, 27) and note.owner is None
    assert "Birthday on Wed 30 Dec 2026" in note.details


def test_due_time_already_passed_is_now(store):
    add_customer(store, "B1", "Ann", birthday="1980-03-11")
    [f] = plan(store, at(2026, 3, 10, 15), policy()).planned
    assert f.due_at == at(2026, 3, 10, 15)


def test_feb_29_birthday_in_common_and_leap_years(store):
    cid = add_customer(store, "L1", "Leap", birthday="1992-02-29")
    [f] = plan(store, at(2027, 2, 20), policy()).planned
    assert f.occasion == "birthday 2027-02-28"
    fu.close_followup(store, f.id, by="olga", note="card sent", now=at(2027, 2, 24))
    assert plan(store, at(2028, 2, 20), policy()).planned[0].occasion == "birthday 2028-02-29"
    keys = {
        r["key"] for r in store.all("SELECT key FROM followup_plan WHERE customer_id=?", (cid,))
    }
    assert keys == {"birthday:2027-02-28", "birthday:2028-02-29"}


def test_anniversaries_from_one_year(store):
    old = add_customer(store, "A1", "Old", customer_since="2016-03-15", tier="B")
    add_customer(store, "A2", "New", customer_since="2026-03-15", tier="B")
    [f] = plan(store, at(2026, 3, 10), policy()).planned
    assert f.customer_id == old and f.kind == "thank_you_note"
    assert f.occasion == "10th anniversary as a customer 2026-03-15"


def test_idempotent_even_after_the_note_is_done(store, now):
    add_customer(store, "B1", "Ann", birthday="1980-03-15")
    first = plan(store, now, policy())
    assert len(first.planned) == 1
    again = plan(store, now, policy())
    assert again.planned == [] and again.already_planned == 1
    fu.close_followup(store, first.planned[0].id, by="olga", note="written", now=now)
    assert plan(store, now, policy()).planned == []
    assert store.scalar("SELECT count(*) FROM followups") == 1


def test_two_occasions_share_one_open_note(store, now):
    cid = add_customer(store, "B1", "Ann", birthday="1980-03-15", customer_since="2020-03-20")
    result = plan(store, now, policy())
    assert len({f.id for f in result.planned}) == 1
    f = fu.list_followups(store, customer_id=cid)[0]
    assert f.occasion == "birthday 2026-03-15; 6th anniversary as a customer 2026-03-20"
    assert f.details.count("\n") == 1


def test_dnc_customers_left_alone_unless_the_business_sends_mail(store, now):
    add_customer(store, "D1", "Dee", birthday="1980-03-15", do_not_call=1)
    add_customer(store, "D2", "Dan", birthday="1980-03-16", phone="+15555550123")
    with store.write():
        store.db["dnc"].insert({"phone": "+15555550123", "added_at": "2026-01-01T00:00:00Z"})
    result = plan(store, now, policy())
    assert result.planned == [] and result.skipped_dnc == 2
    assert store.scalar("SELECT count(*) FROM followups") == 0
    mailed = plan(store, now, policy(mail_dnc=True))
    assert {f.kind for f in mailed.planned} == {"thank_you_note"} and len(mailed.planned) == 2
    # Never a call for them, whatever the policy.
    assert fu.list_followups(store, kind="recovery_call") == []


def test_defaults_without_a_policy(store, now):
    add_customer(store, "B1", "Ann", birthday="1980-03-20", tier="A")  # 10 days ahead
    add_customer(store, "B2", "Bo", birthday="1980-03-21", tier="A")  # 11 days ahead
    result = plan(store, now, None)
    assert [(f.customer_ref, f.kind) for f in result.planned] == [("B1", "gift")]


@pytest.mark.parametrize("tiers", [(), ("A", "B")])
def test_gift_tiers_from_policy(store, now, tiers):
    add_customer(store, "B1", "Bea", birthday="1980-03-15", tier="B")
    [f] = plan(store, now, policy(gift_tiers=tiers)).planned
    assert f.kind == ("gift" if "B" in tiers else "thank_you_note")


def test_unreached_letter_once_per_ended_cycle(store, now):
    from calls.store.followups import table_columns

    if "cycle_status" not in table_columns(store, "customers"):
        pytest.skip("the queue's cycle-state migration is not in this tree yet")
    cid = add_customer(store, "U1", "Una", owner="olga")
    dnc = add_customer(store, "U2", "Dnc", do_not_call=1)
    with store.write():
        store.db.execute(
            "UPDATE customers SET cycle_status = 'unreached', cycle_ended_at = ? WHERE id IN (?, ?)",
            ("2026-03-09T18:00:00Z", cid, dnc),
        )
    result = plan(store, now, policy())
    assert [(f.customer_id, f.kind, f.owner) for f in result.planned] == [
        (cid, "unreached_letter", "olga")
    ]
    assert result.skipped_dnc == 1
    assert "cycle ended 2026-03-09" in result.planned[0].details
    assert plan(store, now, policy()).planned == []
    # The next cycle ends unreached too: a new letter.
    fu.close_followup(store, result.planned[0].id, by="olga", note="posted", now=now)
    with store.write():
        store.db.execute(
            "UPDATE customers SET cycle_ended_at = '2026-09-09T18:00:00Z' WHERE id = ?", (cid,)
        )
    [again] = plan(store, now + timedelta(days=183), policy()).planned
    assert again.kind == "unreached_letter" and again.id != result.planned[0].id


def test_planned_note_joins_an_open_note_from_a_call(store, now):
    cid = add_customer(store, "J1", "Jo", birthday="1980-03-15", owner="olga")
    rule_note = fu.add_followup(
        store,
        kind="thank_you_note",
        customer_id=cid,
        owner="bob",
        due_at=now,
        details="Thank them for 10 years",
        now=now,
        source="rule",
    )
    [f] = plan(store, now, policy()).planned
    assert f.id == rule_note.id and f.owner == "bob" and f.due_at == now
    assert f.details.startswith("Thank them for 10 years\nBirthday on Sun 15 Mar 2026")
    assert f.occasion == "birthday 2026-03-15"
    assert store.scalar("SELECT count(*) FROM followups") == 1


def test_daily_runs_over_fifteen_months_plan_every_occasion_exactly_once(store):
    import random

    rng = random.Random(2028)
    people = {}
    for i in range(30):
        if i < 3:
            birthday = date(1984, 2, 29)  # leap-day birthdays
        else:
            birthday = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        people[add_customer(store, f"Y{i:02d}", f"P{i}", birthday=birthday.isoformat())] = birthday
    first, last = date(2027, 12, 1), date(2029, 3, 10)
    day = first
    while day <= last:
        moment = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
        for f in plan(store, moment, policy(days_ahead=10)).planned:
            # Notes go out on time: due no later than three days before the occasion.
            occasion = date.fromisoformat(f.occasion.split()[-1])
            assert f.due_at.date() <= max(occasion - timedelta(days=3), moment.date())
            fu.close_followup(store, f.id, by="olga", note="posted", now=moment)
        day += timedelta(days=1)
    window_end = last + timedelta(days=10)
    expected = set()
    for cid, birthday in people.items():
        for year in (2027, 2028, 2029):
            when = occasion_date(birthday.month, birthday.day, year)
            if first <= when <= window_end:
                expected.add((cid, f"birthday:{when.isoformat()}"))
    got = {(r["customer_id"], r["key"]) for r in store.all("SELECT * FROM followup_plan")}
    assert len(expected) >= 30 and got == expected
    assert store.scalar("SELECT count(*) FROM followups") == len(expected)
    leap = {k for c, k in got if people[c] == date(1984, 2, 29)}
    assert {k.split(":")[1] for k in leap} == {"2028-02-29", "2029-02-28"}


def _twin_lists(tmp_path, now):
    """Two databases with the same customers: occasions in and out of the window, gift
    tiers, do-not-call, cycles ended unreached (some letters planned before), a note
    already open; returns both stores."""
    import random

    from calls.store import Store

    stores = []
    for name in ("keep", "count"):
        store = Store.open(tmp_path / f"{name}.db")
        rng = random.Random(7)
        for i in range(120):
            day = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40))
            cid = add_customer(store, f"T{i:03d}", f"P{i}", birthday=day.isoformat(),
                               customer_since=(now.date() - timedelta(
                                   days=rng.randrange(30, 4000))).isoformat(),
                               tier=rng.choice("ABC"), owner=rng.choice(["olga", "bob", None]),
                               do_not_call=int(rng.random() < 0.1))
            if i % 3 == 0:
                with store.write():
                    store.db.execute(
                        "UPDATE customers SET cycle_status = 'unreached', cycle_ended_at = ? "
                        "WHERE id = ?", (f"2026-03-0{1 + i % 8}T18:00:00Z", cid))
            if i % 11 == 0:
                fu.add_followup(store, kind="thank_you_note", customer_id=cid, owner="bob",
                                due_at=now, details="from a call", now=now, source="rule")
        # Letters of the first half of the unreached planned by an earlier run.
        ids = [r["id"] for r in store.all(
            "SELECT id FROM customers WHERE cycle_status = 'unreached' ORDER BY id")]
        with store.write():
            store.db.execute(
                "UPDATE customers SET cycle_status = NULL WHERE id IN "
                f"({', '.join(str(i) for i in ids[len(ids) // 2:])})")
        plan(store, now - timedelta(days=1), policy(days_ahead=3))
        with store.write():
            store.db.execute(
                "UPDATE customers SET cycle_status = 'unreached' WHERE id IN "
                f"({', '.join(str(i) for i in ids[len(ids) // 2:])})")
        stores.append(store)
    return stores


def test_counting_run_plans_the_same_as_the_run_that_keeps_the_follow_ups(tmp_path, now):
    """plan(keep=False), a seat's run at shift start, writes the same follow-ups and counts
    as the run that returns them (on twin databases), and the next runs plan nothing."""
    from calls.store.followups import table_columns

    keep, count = _twin_lists(tmp_path, now)
    if "cycle_status" not in table_columns(keep, "customers"):
        pytest.skip("the queue's cycle-state migration is not in this tree yet")
    try:
        kept = plan(keep, now, policy(days_ahead=20))
        counted = plan(count, now, policy(days_ahead=20), keep=False)
        assert counted.planned == [] and len(kept.planned) >= 20
        assert counted.count == kept.count == len(kept.planned)
        assert {f.kind for f in kept.planned} >= {"gift", "thank_you_note", "unreached_letter"}
        assert (counted.already_planned, counted.skipped_dnc, counted.window) == (
            kept.already_planned, kept.skipped_dnc, kept.window)
        assert kept.already_planned > 0 and kept.skipped_dnc > 0

        def written(store):
            return (store.all("SELECT * FROM followups ORDER BY id"),
                    store.all("SELECT * FROM followup_plan ORDER BY customer_id, key"))

        assert written(count) == written(keep)
        again_kept = plan(keep, now, policy(days_ahead=20))
        again_counted = plan(count, now, policy(days_ahead=20), keep=False)
        assert again_kept.planned == [] and again_counted.count == 0
        assert again_counted.already_planned == again_kept.already_planned \
            == kept.already_planned + kept.count
    finally:
        keep.close()
        count.close()


# -- an occasion the team learns of too late (a list imported on the day) ---------------


def test_occasion_due_keeps_the_lead_time_of_an_upcoming_occasion():
    from calls.planner import occasion_due

    known_today = at(2026, 12, 4, 10)
    now = at(2026, 12, 4, 12)
    # In five days: three days before it, 09:00, whoever knew of it when.
    assert occasion_due(date(2026, 12, 9), known_today, now, 3) == at(2026, 12, 6)
    # Tomorrow, a customer added today: the posting moment passed before anyone knew;
    # due by the end of today (fresh), not overdue from its first minute.
    assert occasion_due(date(2026, 12, 5), known_today, now, 3) == at(2026, 12, 4, 23, 59)
    # Planned at 23:59:30 the end of today is behind it: at once.
    late = at(2026, 12, 4, 23, 59) + timedelta(seconds=30)
    assert occasion_due(date(2026, 12, 5), known_today, late, 3) == late
    # Known before the posting moment (the planner ran late): at once, the team's lateness.
    assert occasion_due(date(2026, 12, 5), at(2026, 11, 1), now, 3) == now
    # At the posting moment itself it is still on time.
    assert occasion_due(date(2026, 12, 7), known_today, at(2026, 12, 4, 9), 3) \
        == at(2026, 12, 4, 9)


def test_occasion_due_leaves_a_day_begun_before_the_customer_was_known_for_next_year():
    from calls.planner import occasion_due

    now = at(2026, 12, 4, 12)
    # Today's anniversary of a customer imported this morning: nobody could have posted.
    assert occasion_due(date(2026, 12, 4), at(2026, 12, 4, 10), now, 3) is None
    # ... nor of one added yesterday evening, after the card had to go (1 Dec 09:00).
    assert occasion_due(date(2026, 12, 4), at(2026, 12, 3, 18), now, 3) is None
    # Known before the posting moment: the team could have; due now (and it escalates).
    assert occasion_due(date(2026, 12, 4), at(2026, 12, 1, 8), now, 3) == now
    # Known exactly at the posting moment: could have posted it then.
    assert occasion_due(date(2026, 12, 4), at(2026, 12, 1, 9), now, 3) == now
    # No moment known (an old row): planned as before.
    assert occasion_due(date(2026, 12, 4), None, now, 3) == now


def test_a_list_imported_on_its_customers_anniversary_is_not_planned_late(store):
    from calls.deadlines import escalate_overdue
    from calls.policy import DEFAULT_POLICY

    now = at(2026, 12, 4, 12)
    imported = "2026-12-04T11:55:00Z"
    today = add_customer(store, "T1", "Today", customer_since="2019-12-04",
                         created_at=imported)
    tomorrow = add_customer(store, "T2", "Tomorrow", customer_since="2019-12-05",
                            created_at=imported)
    later = add_customer(store, "T3", "Later", customer_since="2019-12-10",
                         created_at=imported)
    known = add_customer(store, "T4", "Known", customer_since="2018-12-04")  # since 2025
    result = plan(store, now, policy())
    due = {f.customer_id: f.due_at for f in result.planned}
    assert due == {tomorrow: at(2026, 12, 4, 23, 59), later: at(2026, 12, 7), known: now}
    # Only the note the team knew of in time is overdue now.
    assert [f.customer_id for f in result.planned if f.is_overdue(now + timedelta(
        minutes=1))] == [known]
    assert today not in due and result.too_late == 1
    assert result.to_dict()["too_late"] == 1
    # Only the note the team knew of in time is escalated at once; none born late else.
    escalated = escalate_overdue(store, now, DEFAULT_POLICY)
    assert [e.followup_id for e in escalated] == [
        f.id for f in result.planned if f.customer_id == known]
    # A later run the same day counts it again and still plans nothing for it.
    again = plan(store, at(2026, 12, 4, 15), policy())
    assert again.planned == [] and again.too_late == 1 and again.already_planned == 3
