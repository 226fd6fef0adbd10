"""The --by breakdown (caller, week: calls per group; tier: customers per group) equals the
plain GROUP BY over the whole period, on a random history with every awkward case in it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from calls.outcomes import Outcome
from calls.store import reports as q
from tests.support.reports import plain_caller_time, plain_calls_by, plain_figures_by, plain_nps_by

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


# whole history; a period starting mid-week and ending mid-week; one day; an empty period;
# a period that is not whole UTC days (the dashboard's day in New York, Kathmandu's +05:45)
PERIODS = [("2025-12-01T00:00:00Z", "2026-05-01T00:00:00Z"),
           ("2026-01-14T00:00:00Z", "2026-02-20T00:00:00Z"),
           ("2026-02-03T00:00:00Z", "2026-02-04T00:00:00Z"),
           ("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"),
           ("2026-01-14T05:00:00Z", "2026-02-20T18:15:00Z")]
IDS = ["all", "mid-week", "day", "empty", "not-whole-days"]


@pytest.mark.parametrize("by", ["caller", "week", "script", "purpose"])
@pytest.mark.parametrize("period", PERIODS, ids=IDS)
@pytest.mark.parametrize("long_period", [False, True], ids=["short", "long"])
def test_calls_per_group_equal_the_plain_group_by(history, by, period, long_period,
                                                  monkeypatch):
    """Read either way (a short period through the time index, a long one in caller
    order), the calls per group and outcome are the plain GROUP BY's."""
    monkeypatch.setattr(q, "_few_calls", lambda *_a: not long_period)
    assert q.calls_by(history, *period, by) == plain_calls_by(history, *period, by)


@pytest.mark.parametrize("period", PERIODS, ids=IDS)
def test_tier_cases_equal_the_plain_group_by(history, period):
    assert q.tier_figures(history, *period) == plain_figures_by(history, *period, "tier")


@pytest.mark.parametrize("period", PERIODS, ids=IDS)
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


def _random_writes(store, rng, n):
    """What happens to calls after they are made: wrap-ups (outcome and end), a call moved
    to another caller or time, deletes, new calls; some rows touched twice."""
    conn = store.db.conn
    with store.write():
        ids = [r[0] for r in conn.execute("SELECT id FROM calls")]
        for _ in range(n):
            call_id = rng.choice(ids)
            kind = rng.randrange(5)
            if kind == 0:
                conn.execute("UPDATE calls SET outcome = ?, ended_at = ? WHERE id = ?",
                             (rng.choice([o.value for o in Outcome] + [None, "legacy_code"]),
                              rng.choice([None, "2026-02-03T10:04:00Z",
                                          "2026-02-03T09:59:59Z", "not a time"]), call_id))
            elif kind == 1:
                conn.execute("UPDATE calls SET caller = ? WHERE id = ?",
                             (rng.choice(["ann", "eve", "d[/]"]), call_id))
            elif kind == 2:
                began = START + timedelta(minutes=rng.randrange(90 * 24 * 60))
                conn.execute("UPDATE calls SET started_at = ? WHERE id = ?",
                             (began.strftime(FMT), call_id))
            elif kind == 3:
                if rng.random() < 0.5:      # else the cascade takes its answers
                    conn.execute("DELETE FROM answers WHERE call_id = ?", (call_id,))
                conn.execute("DELETE FROM calls WHERE id = ?", (call_id,))
                ids.remove(call_id)
            else:
                began = START + timedelta(minutes=rng.randrange(90 * 24 * 60))
                ids.append(conn.execute(
                    "INSERT INTO calls (customer_id, caller, started_at, ended_at, outcome) "
                    "VALUES (?, ?, ?, NULL, NULL)",
                    (rng.randint(1, 60), rng.choice(["ann", "zoe"]), began.strftime(FMT)),
                ).lastrowid)
            # an update that names the columns and changes nothing
            conn.execute("UPDATE calls SET caller = caller, outcome = outcome WHERE id = ?",
                         (rng.choice(ids),))
            # answers given, changed (the upsert a call's answer takes), moved or removed
            call_id = rng.choice(ids)
            answered = (START + timedelta(minutes=rng.randrange(90 * 24 * 60))).strftime(FMT)
            value = rng.choice([str(n) for n in range(11)] + ['"9"', "9.5", '"great"', None])
            step = rng.randrange(4)
            if step == 0:
                conn.execute(
                    "INSERT INTO answers (call_id, key, qtype, value, answered_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (call_id, key) DO UPDATE SET "
                    "qtype = excluded.qtype, value = excluded.value, "
                    "answered_at = excluded.answered_at",
                    (call_id, rng.choice(["nps", "nps2"]), rng.choice(["nps", "rating"]),
                     value, answered))
            elif step == 1:
                conn.execute("UPDATE answers SET value = ?, answered_at = ? WHERE call_id = ?",
                             (value, answered, call_id))
            elif step == 2:
                conn.execute("UPDATE answers SET qtype = ? WHERE call_id = ?",
                             (rng.choice(["nps", "rating"]), call_id))
            else:
                conn.execute("DELETE FROM answers WHERE call_id = ?", (call_id,))


@pytest.mark.parametrize("seed", range(4))
def test_caller_day_tables_follow_every_write(history, seed, monkeypatch):
    """The callers' day and slot tables, kept by triggers, give the plain GROUP BY's
    figures after random writes (every period of whole days is read from them)."""
    monkeypatch.setattr(q, "_few_calls", lambda *_a: False)
    rng = random.Random(seed)
    for _ in range(3):
        _random_writes(history, rng, 60)
        for period in PERIODS:
            worked, handle = plain_caller_time(history, *period)
            assert q.caller_worked_seconds(history, *period) == worked, period
            outcomes, handled = q.caller_calls(history, *period)
            assert handled == handle, period
            assert outcomes == plain_calls_by(history, *period, "caller"), period
            assert q.calls_by(history, *period, "week") == plain_calls_by(
                history, *period, "week"), period
            assert q.nps_histogram_by(history, *period, "caller") == plain_nps_by(
                history, *period, "caller"), period
    # nothing left behind: no empty rows, every count positive
    conn = history.db.conn
    assert conn.execute("SELECT count(*) FROM caller_days WHERE calls <= 0").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM caller_slots WHERE calls <= 0").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM caller_nps_days WHERE answers <= 0").fetchone(
        )[0] == 0


def test_caller_day_tables_are_filled_from_calls_made_before_them(store):
    """The migration fills the tables from the calls already there."""
    from calls.store import Store
    from calls.store.database import Migrations

    conn = store.db.conn
    with store.write():
        for trigger in ("insert", "delete"):
            conn.execute(f"DROP TRIGGER calls_caller_figures_{trigger}")
        for trigger in ("days", "slots"):
            conn.execute(f"DROP TRIGGER calls_caller_{trigger}_update")
        conn.execute("DROP TABLE caller_days")
        conn.execute("DROP TABLE caller_slots")
        for trigger in ("answers_caller_nps_insert", "answers_caller_nps_delete",
                        "answers_caller_nps_update", "calls_caller_nps_moved",
                        "calls_caller_nps_delete"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE caller_nps_days")
        conn.execute(f"DELETE FROM {Migrations.migrations_table} WHERE name IN "
                     "('reports_0003_caller_day_figures', 'reports_0004_caller_nps_days')")
        conn.execute("INSERT INTO customers (ref, name, created_at, updated_at) "
                     "VALUES ('C1', 'C1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
        for minute, outcome in ((0, "busy"), (3, "completed"), (25, None), (61, "busy")):
            began = START + timedelta(minutes=minute)
            call_id = conn.execute(
                "INSERT INTO calls (customer_id, caller, started_at, ended_at, outcome) "
                "VALUES (1, 'ann', ?, ?, ?)",
                (began.strftime(FMT),
                 (began + timedelta(seconds=90)).strftime(FMT) if outcome else None, outcome),
            ).lastrowid
            if outcome == "completed":
                conn.execute("INSERT INTO answers (call_id, key, qtype, value, answered_at) "
                             "VALUES (?, 'nps', 'nps', '9', ?)", (call_id, began.strftime(FMT)))
    path = store.path
    store.close()
    again = Store.open(path)
    try:
        period = ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")
        assert q.caller_calls(again, *period) == (
            {"ann": {"busy": 2, "completed": 1, None: 1}}, {"ann": (270, 3)})
        assert q.caller_worked_seconds(again, *period) == {"ann": (3, 3 * 600)}   # :00, :20, 01:00
        worked, handle = plain_caller_time(again, *period)
        assert q.caller_worked_seconds(again, *period) == worked
        assert q.caller_calls(again, *period)[1] == handle
        assert q.nps_histogram_by(again, *period, "caller") == {"ann": {9: 1}}
    finally:
        again.close()


@pytest.mark.parametrize("by", ["caller", "tier", "week"])
@pytest.mark.parametrize("period", PERIODS, ids=IDS)
def test_nps_by_group_equals_the_plain_group_by(history, by, period):
    assert q.nps_histogram_by(history, *period, by) == plain_nps_by(history, *period, by)


@pytest.mark.parametrize("rest", ["A", "B", "C", "X", "?", "no such tier"])
@pytest.mark.parametrize("period", PERIODS, ids=IDS)
def test_tiers_split_off_the_period_equal_the_plain_group_by(history, rest, period):
    """Whichever tier is left to subtract, the split equals the plain GROUP BY."""
    with history.reading():
        totals = q.PeriodTotals(q.case_families(history, *period),
                                q.outcome_counts(history, *period),
                                q.nps_histogram(history, *period))
        families, outcomes, nps = q.tier_breakdown(history, *period, totals, rest)
    assert (families, outcomes) == plain_figures_by(history, *period, "tier")
    assert nps == plain_nps_by(history, *period, "tier")


def _customer_writes(store, rng, n):
    """What happens to customers and their calls' answers: re-tiering (to and from no
    tier), a call moved to another customer, an answer written with INSERT OR REPLACE."""
    conn = store.db.conn
    with store.write():
        ids = [r[0] for r in conn.execute("SELECT id FROM calls")]
        for _ in range(n):
            kind = rng.randrange(3)
            if kind == 0:
                conn.execute("UPDATE customers SET tier = ? WHERE id = ?",
                             (rng.choice(["A", "B", "C", None, "X", "?"]),
                              rng.randint(1, 60)))
            elif kind == 1:
                conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?",
                             (rng.randint(1, 60), rng.choice(ids)))
            else:
                answered = START + timedelta(minutes=rng.randrange(90 * 24 * 60))
                conn.execute(
                    "INSERT OR REPLACE INTO answers (call_id, key, qtype, value, answered_at) "
                    "VALUES (?, 'nps', ?, ?, ?)",
                    (rng.choice(ids), rng.choice(["nps", "rating"]),
                     rng.choice(["3", "10", '"9"', None]), answered.strftime(FMT)))


def _plain_customer_nps(conn) -> list[tuple]:
    return conn.execute(
        "SELECT c.customer_id, a.call_id, a.key, a.answered_at, a.value FROM answers a "
        "JOIN calls c ON c.id = a.call_id WHERE a.qtype = 'nps' AND a.value IS NOT NULL "
        "ORDER BY 1, 2, 3").fetchall()


@pytest.mark.parametrize("seed", range(4))
def test_tiers_follow_every_write_and_re_tiering(history, seed):
    """The kept NPS answers by customer (what a tier's NPS is read from) stay the answers
    of each customer's calls through random writes, re-tiering and calls moved between
    customers; the tiers split off the period still equal the plain GROUP BY."""
    rng = random.Random(seed)
    conn = history.db.conn
    for _ in range(3):
        _random_writes(history, rng, 40)
        _customer_writes(history, rng, 40)
        assert conn.execute(
            "SELECT customer_id, call_id, key, answered_at, value FROM customer_nps_answers "
            "ORDER BY 1, 2, 3").fetchall() == _plain_customer_nps(conn)
        for period in PERIODS[:3]:
            with history.reading():
                totals = q.PeriodTotals(q.case_families(history, *period),
                                        q.outcome_counts(history, *period),
                                        q.nps_histogram(history, *period))
                families, outcomes, nps = q.tier_breakdown(history, *period, totals, "C")
            assert (families, outcomes) == plain_figures_by(history, *period, "tier"), period
            assert nps == plain_nps_by(history, *period, "tier"), period


def test_kept_nps_answers_are_filled_from_answers_given_before_them(history):
    """The migration fills customer_nps_answers from the answers already there."""
    from calls.store import Store
    from calls.store.database import Migrations

    conn = history.db.conn
    before = _plain_customer_nps(conn)
    assert before
    with history.write():
        for trigger in ("answers_customer_nps_insert", "answers_customer_nps_delete",
                        "answers_customer_nps_update", "calls_customer_nps_moved",
                        "calls_customer_nps_delete"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE customer_nps_answers")
        conn.execute(f"DELETE FROM {Migrations.migrations_table} "
                     "WHERE name = 'reports_0005_customer_nps_answers'")
    path = history.path
    history.close()
    again = Store.open(path)
    try:
        assert again.db.conn.execute(
            "SELECT customer_id, call_id, key, answered_at, value FROM customer_nps_answers "
            "ORDER BY 1, 2, 3").fetchall() == before
    finally:
        again.close()


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
