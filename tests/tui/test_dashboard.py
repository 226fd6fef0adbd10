"""The supervisor dashboard, driven with the Pilot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from textual.widgets import DataTable, Sparkline, Static

from calls.reports import build_dashboard
from calls.store import reports as q
from tests.core.test_report import add_customers, call
from tui.app import make_app
from tui.screens.dashboard import DashboardScreen, coverage_bar

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _fill(store):
    ids = add_customers(store, ("a", "A"), ("b", "B"), ("c", "C"))
    rows = [
        call(ids["a"], "completed", NOW - timedelta(hours=2), "ann"),
        call(ids["b"], "no_answer", NOW - timedelta(hours=1), "ann"),
        call(ids["c"], "refused", NOW - timedelta(hours=1), "bob"),
        call(ids["c"], "completed", NOW - timedelta(days=3), "bob"),
    ]
    call_ids = q.insert_calls(store, rows)
    q.insert_answers(store, [(call_ids[0], "nps", "nps", 10, rows[0]["ended_at"]),
                             (call_ids[3], "nps", "nps", 2, rows[3]["ended_at"])])
    q.insert_followups(store, [{"kind": "fix_problem", "customer_id": ids["c"],
                                "status": "open", "created_at": rows[3]["ended_at"],
                                "due_at": (NOW - timedelta(days=1)).strftime(
                                    "%Y-%m-%dT%H:%M:%SZ")}])
    return ids


def dashboard_app(db_path, **options):
    """``carecall dashboard``'s app: the shared factory, opened on the dashboard."""
    return make_app(db_path, "sam", mode="dashboard", **options)


async def _loaded(pilot, screen: DashboardScreen, count: int = 1) -> None:
    for _ in range(200):
        if screen.loads >= count:
            return
        await pilot.pause()
        await asyncio.sleep(0.01)
    raise AssertionError("the dashboard never loaded")


def test_build_dashboard(store):
    _fill(store)
    d = build_dashboard(store, NOW)
    assert {g.key for g in d.today} == {"ann", "bob"}
    assert d.today_total.attempts == 3
    assert d.week_counts["I"] == 2 and d.week_nps.score == 0.0
    assert d.daily_attempts[-1] == ("2026-03-10", 3)
    assert d.daily_nps[-1] == ("2026-03-10", 100.0)
    assert {f.kind: f.overdue for f in d.followups}["fix_problem"] == 1


def test_dashboard_days_are_the_supervisors_days(store):
    """In New York, 01:00 UTC on Mar 10 is still Mar 9: that call is yesterday's."""
    from zoneinfo import ZoneInfo

    ids = add_customers(store, ("a", "A"))
    q.insert_calls(store, [
        call(ids["a"], "no_answer", datetime(2026, 3, 10, 1, 0, tzinfo=UTC), "ann"),
        call(ids["a"], "completed", datetime(2026, 3, 10, 14, 0, tzinfo=UTC), "bob"),
    ])
    ny = build_dashboard(store, NOW, tz=ZoneInfo("America/New_York"))
    assert [g.key for g in ny.today] == ["bob"]
    assert ny.daily_attempts[-2:] == [("2026-03-09", 1), ("2026-03-10", 1)]
    utc = build_dashboard(store, NOW)
    assert [g.key for g in utc.today] == ["ann", "bob"]
    assert utc.daily_attempts[-1] == ("2026-03-10", 2)


def test_coverage_bar():
    assert coverage_bar(50.0, 10) == "█████░░░░░"
    assert coverage_bar(None, 4) == "░░░░"
    assert coverage_bar(120.0, 4) == "████"


async def test_dashboard_shows_and_refreshes(store, db_path):
    ids = _fill(store)
    app = dashboard_app(db_path, clock=lambda: NOW, refresh_seconds=0, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await _loaded(pilot, screen)
        today = screen.query_one("#today", DataTable)
        callers = [today.get_row_at(i)[0] for i in range(today.row_count)]
        assert callers[:2] == ["ann", "bob"]
        assert today.get_row_at(0)[1] == "2"          # ann: two tries today
        week = str(screen.query_one("#week", Static).render())
        assert "RR1" in week and "NPS" in week
        coverage = str(screen.query_one("#coverage", Static).render())
        assert "not reached in a year" in coverage
        assert screen.query_one("#attempts-line", Sparkline).data[-1] == 3
        backlog = screen.query_one("#backlog", DataTable)
        assert backlog.get_row_at(0)[:3] == ["fix_problem", "1", "1"]

        # a new call lands; r refreshes without leaving the screen
        q.insert_calls(store, [call(ids["a"], "busy", NOW - timedelta(minutes=5), "cy")])
        await pilot.press("r")
        await _loaded(pilot, screen, 2)
        callers = [today.get_row_at(i)[0] for i in range(today.row_count)]
        assert "cy" in callers
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_value is None


async def test_dashboard_refreshes_by_itself(store, db_path):
    _fill(store)
    app = dashboard_app(db_path, clock=lambda: NOW, refresh_seconds=0.05, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen, 3)
        assert screen.loads >= 3


async def test_dashboard_empty_database(store, db_path):
    app = dashboard_app(db_path, clock=lambda: NOW, refresh_seconds=0, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen)
        today = screen.query_one("#today", DataTable)
        assert today.get_row_at(0)[0] == "(no calls yet today)"


async def test_dashboard_inside_the_shift_app(store, db_path):
    """The shift app opens the dashboard with no arguments (db, clock, policy are the app's)."""
    _fill(store)
    app = make_app(db_path, "ann", clock=NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(20):          # let the shift's own first screens settle
            await pilot.pause()
        screen = DashboardScreen(refresh_seconds=0, tz=UTC)
        await app.push_screen(screen)
        await _loaded(pilot, screen)
        assert app.screen is screen, app.screen_stack
        today = screen.query_one("#today", DataTable)
        assert today.get_row_at(0)[0] == "ann"
        depth = len(app.screen_stack)
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == depth - 1
        assert app.is_running
