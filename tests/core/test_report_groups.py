"""The --by breakdown (caller, week: calls per group; tier: customers per group) equals the
plain GROUP BY over the whole period, on a random history with every awkward case in it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from tests.support.reports import (plain_caller_time, plain_calls_by, plain_figures_by,
                                   plain_nps_by)

from calls.outcomes import Outcome
from calls.store import reports as q

START = datetime(2026, 1, 1, tzinfo=UTC)
FMT = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def history(store):
    rng = random.Random(18)
    with store.write() as db:
        for i in range(60):
            db.conn.execute(
                "INSERT INTO customers (ref, name, tier, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (f"C{i}", f"C{i}", rng.choice(["A", "B", "C", None, "X"]),
                 "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"))
        codes = [o.value for o in Outcome] + [None, None, "legacy_code"]
        # NPS as stored: JSON numbers, a quoted number, a fraction and text (left out)
        scores = [str(n) for n in range(11)] + ['"9"', "7.0", "9.5", '"great"']
        for _ in range(900):
            began = START + timedelta(minutes=rng.randrange(90 * 24 * 60))
            outcome = rng.choice(codes)
            ended = None if outcome is None else began + timedelta(seconds=rng.randrange(900))
            call = db.conn.execute(
                "INSERT INTO calls (customer_id, caller, started_at, ended_at, outcome, "
                "purpose) VALUES (?, ?, ?, ?, ?, ?)",
                (rng.randint(1, 60), rng.choice(["ann", "bob", "cy", "d[/]"]),
                 began.strftime(FMT), ended.strftime(FMT) if ended else None, outcome,
                 rng.choice(["care", "survey", None])),
            ).lastrowid
            if rng.random() < 0.6:
                # answered during the call or (a resumed call) days later
                answered = began + timedelta(minutes=rng.choice([1, 5, 3 * 24 * 60]))
                db.conn.execute(
                    "INSERT INTO answers (call_id, key, qtype, value, answered_at) "
                    "VALUES (?, 'nps', 'nps', ?, ?)",
                    (call, rng.choice(scores), answered.strftime(FMT)))
    return store


# whole history; a period starting mid-week and ending mid-week; one day; an empty period
PERIODS = [("2025-12-01T00:00:00Z", "2026-05-01T00:00:00Z"),
           ("2026-01-14T00:00:00Z", "2026-02-20T00:00:00Z"),
           ("2026-02-03T00:00:00Z", "2026-02-04T00:00:00Z"),
           ("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")]


@pytest.mark.parametrize("by", ["caller", "week", "script", "purpose"])
@pytest.mark.parametrize("period", PERIODS, ids=["all", "mid-week", "day", "empty"])
@pytest.mark.parametrize("long_period", [False, True], ids=["short", "long"])
def test_calls_per_group_equal_the_plain_group_by(history, by, period, long_period,
                                                  monkeypatch):
    """Read either way (a short period through the time index, a long one in caller
    order), the calls per group and outcome are the plain GROUP BY's."""
    monkeypatch.setattr(q, "_few_calls", lambda *_a: not long_period)
    assert q.calls_by(history, *period, by) == plain_calls_by(history, *period, by)


@pytest.mark.parametrize("period", PERIODS, ids=["all", "mid-week", "day", "empty"])
def test_tier_cases_equal_the_plain_group_by(history, period):
    assert q.tier_figures(history, *period) == plain_figures_by(history, *period, "tier")


@pytest.mark.parametrize("period", PERIODS, ids=["all", "mid-week", "day", "empty"])
@pytest.mark.parametrize("long_period", [False, True], ids=["short", "long"])
def test_caller_time_equals_the_plain_group_by(history, period, long_period, monkeypatch):
    monkeypatch.setattr(q, "_few_calls", lambda *_a: not long_period)
    worked, handle = plain_caller_time(history, *period)
    assert q.caller_worked_seconds(history, *period) == worked
    outcomes, handled = q.caller_calls(history, *period)
    assert handled == handle
    assert outcomes == plain_calls_by(history, *period, "caller")


def test_per_call_groups_add_up_to_the_report(history):
    """Calls, contacts and completes per caller or week add up to the whole period's;
    per tier the cases do (a customer has one tier)."""
    from calls.reports import build_report

    now = datetime(2026, 4, 1, tzinfo=UTC)
    since, until = datetime(2025, 12, 1).date(), datetime(2026, 3, 31).date()
    plain = build_report(history, now, since, until)
    for by in ("caller", "week", "script", "purpose", "tier"):
        groups = build_report(history, now, since, until, by=by).groups
        for figure in ("attempts", "contacts", "completes", "in_progress"):
            assert sum(getattr(g.activity, figure) for g in groups) == getattr(
                plain.activity, figure), (by, figure)
        if by == "tier":
            assert sum(g.activity.cases for g in groups) == plain.activity.cases
        else:   # each call with a known outcome is a case of its group
            known = sum(n for code, n in plain.activity.outcomes.items()
                        if code != "legacy_code")
            assert sum(g.activity.cases for g in groups) == known, by


def test_a_week_row_is_the_report_of_that_week(history):
    """A whole week's row has the calls and the NPS of the report over that week."""
    from datetime import date

    from calls.reports import build_report, call_families, family_counts

    now = datetime(2026, 4, 1, tzinfo=UTC)
    rows = {g.key: g for g in build_report(history, now, date(2026, 1, 5), date(2026, 2, 1),
                                          by="week").groups}
    assert set(rows) == {"2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"}
    for monday, row in rows.items():
        first = date.fromisoformat(monday)
        week = build_report(history, now, first, first + timedelta(days=6))
        assert row.activity.attempts == week.activity.attempts
        assert row.activity.outcomes == week.activity.outcomes
        assert row.counts == family_counts(call_families(week.activity.outcomes))
        assert row.nps == week.nps


def test_callers_in_order(history):
    assert q.callers(history) == ["ann", "bob", "cy", "d[/]"]


@pytest.mark.parametrize("by", ["caller", "tier", "week"])
@pytest.mark.parametrize("period", PERIODS, ids=["all", "mid-week", "day", "empty"])
def test_nps_by_group_equals_the_plain_group_by(history, by, period):
    assert q.nps_histogram_by(history, *period, by) == plain_nps_by(history, *period, by)


@pytest.mark.parametrize("rest", ["A", "B", "C", "X", "?", "no such tier"])
@pytest.mark.parametrize("period", PERIODS, ids=["all", "mid-week", "day", "empty"])
def test_tiers_split_off_the_period_equal_the_plain_group_by(history, rest, period):
    """Whichever tier is left to subtract, the split equals the plain GROUP BY."""
    with history.reading():
        totals = q.PeriodTotals(q.case_families(history, *period),
                                q.outcome_counts(history, *period),
                                q.nps_histogram(history, *period))
        families, outcomes, nps = q.tier_breakdown(history, *period, totals, rest)
    assert (families, outcomes) == plain_figures_by(history, *period, "tier")
    assert nps == plain_nps_by(history, *period, "tier")


def test_a_literal_question_mark_tier_shares_the_key_of_no_tier(history):
    with history.write() as db:
        db.conn.execute("UPDATE customers SET tier = '?' WHERE id IN (1, 2, 3)")
    period = PERIODS[0]
    plain = plain_figures_by(history, *period, "tier")
    for rest in ("?", "C"):
        totals = q.PeriodTotals(q.case_families(history, *period),
                                q.outcome_counts(history, *period),
                                q.nps_histogram(history, *period))
        families, outcomes, nps = q.tier_breakdown(history, *period, totals, rest)
        assert (families, outcomes) == plain
        assert nps == plain_nps_by(history, *period, "tier")


def test_report_by_tier_is_the_same_split_off_or_read_directly(history, monkeypatch):
    """The report takes the split for a long period (many calls); the same rows either way."""
    from datetime import date

    from calls.reports import build_report

    now = datetime(2026, 4, 1, tzinfo=UTC)

    split = []
    real = q.tier_breakdown
    monkeypatch.setattr(q, "tier_breakdown", lambda *a: split.append(a[-1]) or real(*a))

    def rows(long_period: bool):
        monkeypatch.setattr(q, "holds_most_calls", lambda *_a: long_period)
        report = build_report(history, now, date(2025, 12, 1), date(2026, 3, 31), by="tier")
        return [(g.key, g.activity, g.counts, g.nps) for g in report.groups]

    direct = rows(False)
    assert {key for key, *_ in direct} == {"A", "B", "C", "X", "?"}
    assert not split
    assert rows(True) == direct
    assert len(split) == 1        # the tier with the most customers left to subtract
