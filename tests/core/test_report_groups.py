"""The --by breakdown read group by group (caller, tier, week) equals the plain GROUP BY
over the whole period, on a random history with every awkward case in it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from tests.support.reports import plain_caller_time, plain_figures_by

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
        for _ in range(900):
            began = START + timedelta(minutes=rng.randrange(90 * 24 * 60))
            outcome = rng.choice(codes)
            ended = None if outcome is None else began + timedelta(seconds=rng.randrange(900))
            db.conn.execute(
                "INSERT INTO calls (customer_id, caller, started_at, ended_at, outcome) "
                "VALUES (?, ?, ?, ?, ?)",
                (rng.randint(1, 60), rng.choice(["ann", "bob", "cy", "d[/]"]),
                 began.strftime(FMT), ended.strftime(FMT) if ended else None, outcome))
    return store


# whole history; a period starting mid-week and ending mid-week; one day; an empty period
PERIODS = [("2025-12-01T00:00:00Z", "2026-05-01T00:00:00Z"),
           ("2026-01-14T00:00:00Z", "2026-02-20T00:00:00Z"),
           ("2026-02-03T00:00:00Z", "2026-02-04T00:00:00Z"),
           ("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")]


@pytest.mark.parametrize("by", ["caller", "tier", "week"])
@pytest.mark.parametrize("period", PERIODS, ids=["all", "mid-week", "day", "empty"])
def test_groups_equal_the_plain_group_by(history, by, period):
    got = q.figures_by(history, *period, by)
    assert got == plain_figures_by(history, *period, by)


@pytest.mark.parametrize("period", PERIODS, ids=["all", "mid-week", "day", "empty"])
def test_caller_time_equals_the_plain_group_by(history, period):
    worked, handle = plain_caller_time(history, *period)
    assert q.caller_worked_seconds(history, *period) == worked
    assert q.handle_time_histogram(history, *period) == handle


def test_callers_in_order(history):
    assert q.callers(history) == ["ann", "bob", "cy", "d[/]"]
