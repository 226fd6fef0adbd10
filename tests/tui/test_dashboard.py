"""The supervisor dashboard, driven with the Pilot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from textual.widgets import DataTable, Sparkline, Static

from calls.clock import to_iso
from calls.reports import build_dashboard
from calls.store import Store
from calls.store import reports as q
from tests.core.test_report import add_customers, call
from tui.app import make_app
from tui.screens.dashboard import DashboardScreen, coverage_bar
from tui.screens.help import HelpScreen

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
        assert "(1 promoter, 0 passives, 1 detractor)" in week     # not "1 promoters"
        coverage = str(screen.query_one("#coverage", Static).render())
        assert "not reached in a year" in coverage
        assert screen.query_one("#attempts-line", Sparkline).data[-1] == 3
        backlog = screen.query_one("#backlog", DataTable)
        assert backlog.get_row_at(0)[:3] == ["fix problem", "1", "1"]

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


# -- what a supervisor meets (issue 18's trial) ---------------------------------------------


def _work_a_call(store, caller: str, at: datetime, outcome: str = "completed") -> str:
    """A seat works a call to its wrap-up through the core's call session; the name."""
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession

    session = CallSession.take_next(store, caller, at, DEFAULT_POLICY, "quarterly")
    session.connect(store, at)
    session.save(store, session.answer(session.current().key, 9), at)
    session.choose(outcome)
    end = at + timedelta(minutes=4)
    session.wrap_up(store, end, session.plan_wrap_up(end, ""))
    return session.customer.name


def _texts(screen, selector: str) -> list[list[str]]:
    table = screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_a_call_wrapped_up_at_a_seat_shows_at_the_next_refresh(store, db_path):
    """Another connection (a caller's seat) wraps up a call: the very next refresh shows
    it in today's shift, the 7 days and coverage, though the refresh before found nothing
    new and read nothing again."""
    add_customers(store, ("a", "A"), ("b", "A"))
    app = dashboard_app(db_path, clock=lambda: NOW, refresh_seconds=0, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen)
        await pilot.press("r")
        await _loaded(pilot, screen, 2)
        assert screen.figures.reads["period"] == 1          # nothing written: kept
        coverage = str(screen.query_one("#coverage", Static).render())
        assert "A ░░░░░░░░░░   0% of 2" in coverage
        assert _texts(screen, "#today") == [["(no calls yet today)"] + [""] * 7]

        _work_a_call(store, "cy", NOW - timedelta(minutes=10))
        await pilot.press("r")
        await _loaded(pilot, screen, 3)
        assert _texts(screen, "#today")[0][:4] == ["cy", "1", "1", "1"]
        coverage = str(screen.query_one("#coverage", Static).render())
        assert "A █████░░░░░  50% of 2" in coverage
        assert str(screen.query_one("#week", Static).render()).startswith("1 case ·")
        assert "r: refresh now" in str(screen.query_one("#updated", Static).render())


async def test_a_dashboard_opened_on_its_own_has_no_back(store, db_path):
    """`carecall dashboard`: nothing to go back to, so no "esc Back" and esc does not
    quit; q (or ctrl+q, shown) quits."""
    from tests.support.tui import screen_lines

    _fill(store)
    app = dashboard_app(db_path, clock=lambda: NOW, refresh_seconds=0, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen)
        keys = screen_lines(app)[-1]
        assert "Back" not in keys and "^q Quit" in keys and "r Refresh" in keys
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        await pilot.press("question_mark")              # the help names Enter on a caller
        for _ in range(20):
            await pilot.pause(0.02)
        assert isinstance(app.screen, HelpScreen)
        rows = {r.what.split(" — ")[0]: r for r in app.screen.rows}
        assert "All the figures of the highlighted caller" in rows["Caller"].what
        assert rows["Caller"].keys == "⏎" and "Back" not in rows
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_from_the_queue_esc_goes_back(store, db_path):
    from tests.support.tui import screen_lines

    _fill(store)
    app = make_app(db_path, "ann", clock=NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(20):
            await pilot.pause()
        under = app.screen
        screen = DashboardScreen(refresh_seconds=0, tz=UTC)
        await app.push_screen(screen)
        await _loaded(pilot, screen)
        assert "esc Back" in screen_lines(app)[-1]
        await pilot.press("q")                 # q is back too, from the queue
        await pilot.pause()
        assert app.screen is under and app.is_running


def _floor_db(tmp_path):
    """Two callers on a fresh floor: ann signed in 5 minutes ago and did 3 calls, bob
    has worked 2 hours; long names, a long state and a customer on the line."""
    from calls import accounts as acc
    from calls import floor
    from tests.core.test_floor import add_call
    from tests.support.queue import add_customer
    from tests.support.team import make_team
    from tests.support.tui import make_db

    path = make_db(tmp_path / "floor.db")
    with Store.open(path) as store:
        make_team(store, NOW)
        cid = add_customer(store, "R1", name="Anneliese Brandenburg-Schwedt")
        for i in range(3):
            add_call(store, cid, "ann", to_iso(NOW - timedelta(minutes=4 - i)), "no_answer")
        floor.set_state(store, "ann", "ready", now=NOW - timedelta(minutes=5))
        floor.set_state(store, "ann", "talking", now=NOW - timedelta(minutes=1),
                        customer_id=cid, call_id=None)
        floor.set_state(store, "bob", "ready", now=NOW - timedelta(hours=2))
        for i in range(6):
            add_call(store, cid, "bob", to_iso(NOW - timedelta(minutes=100 - 10 * i)),
                     "completed")
        floor.set_state(store, "bob", "wrapup", now=NOW - timedelta(minutes=2),
                        customer_id=cid, call_id=None)
        floor.pause_caller(store, "bob", "coaching", actor=acc.get_account(
            store, "sue").as_actor(), now=NOW)
    return path


def _supervisors_dashboard(path):
    """``carecall dashboard`` for sue (a supervisor) on ``path``."""
    from calls import accounts

    with Store.open(path) as store:
        sue = accounts.get_account(store, "sue").as_actor()
    return make_app(path, "sue", mode="dashboard", clock=lambda: NOW, refresh_seconds=0,
                    tz=UTC, actor=sue)


async def test_the_floor_fits_80_columns_and_every_figure_is_reachable(tmp_path):
    from tests.support.tui import screen_lines

    app = _supervisors_dashboard(_floor_db(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen)
        await pilot.pause()
        for selector in ("#floor", "#today", "#backlog", "#escalated"):
            table = screen.query_one(selector, DataTable)
            assert table.virtual_size.width <= table.size.width, selector   # no sideways scroll
        lines = screen_lines(app)
        ann = next(line for line in lines if "Ann Lee" in line)
        assert "talking" in ann and "1:00" in ann and "Anneliese" in ann and "…" in ann
        bob = next(line for line in lines if "Bob" in line)
        assert "wrap-up, then" in bob
        # fresh floor: ann's 3 calls in 5 minutes are no rate; bob's 2 hours are
        rows = {r[0]: r for r in _texts(screen, "#today")}
        assert rows["Ann Lee"][6] == "–" and rows["Bob Lee"][6] == "3.0"

        table = screen.query_one("#floor", DataTable)
        table.focus()
        table.move_cursor(row=[r.caller for r in screen.floor].index("ann"))
        await pilot.press("enter")
        await pilot.pause()
        card = str(app.screen.query_one("#caller-figures-text", Static).render())
        assert "on the line: Anneliese Brandenburg-Schwedt (R1)" in card
        assert "calls per hour: – (shown after 30 minutes worked)" in card
        assert "calls today: 3 tried, 0 reached, 0 completed" in card
        assert "esc Close" in screen_lines(app)[-1]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        screen.set_focus(None)        # Enter with no table focused: the floor's caller
        await pilot.press("enter")
        await pilot.pause()
        assert "on the line: Anneliese" in str(
            app.screen.query_one("#caller-figures-text", Static).render())


async def test_the_floor_at_120_columns_shows_every_column_uncut(tmp_path):
    from tests.support.tui import screen_lines

    app = _supervisors_dashboard(_floor_db(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot, app.screen)
        await pilot.pause()
        assert any("Anneliese Brandenburg-Schwedt (R1)" in line for line in screen_lines(app))
        assert any("wrap-up, then paused (coaching)" in line for line in screen_lines(app))


async def test_a_recovery_call_due_at_once_is_not_late_until_its_deadline(store, db_path):
    """Closing a fix_problem makes a recovery call due at once: the backlog shows it open,
    not late; late once past its deadline (72 hours), as the escalated list has it."""
    from calls.followups import add_followup, close_followup

    ids = add_customers(store, ("a", "A"))
    made = NOW - timedelta(minutes=1)
    fix = add_followup(store, kind="fix_problem", customer_id=ids["a"], owner="sam",
                       due_at=None, details="late delivery", now=made - timedelta(hours=1),
                       source="hand")
    close_followup(store, fix.id, by="sam", note="new courier", now=made)
    clock = [NOW]
    app = dashboard_app(db_path, clock=lambda: clock[0], refresh_seconds=0, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen)
        backlog = screen.query_one("#backlog", DataTable)
        assert backlog.get_row("recovery_call")[1:3] == ["1", "0"]     # open, late
        # The report counts it "due" (its due time has come), not "overdue", and says
        # under the table what due and late each count.
        from typer.testing import CliRunner

        from calls.cli import app as cli

        report = CliRunner().invoke(cli, ["report", "--db", str(db_path), "--since",
                                          "2026-03-10", "--until", "2026-03-10"],
                                    env={"COLUMNS": "100"})
        assert report.exit_code == 0, report.output
        row = next(line for line in report.output.splitlines() if "recovery_call" in line)
        assert row.replace("│", " ").split()[1:3] == ["1", "1"]         # open, due
        text = " ".join(report.output.split())
        assert "overdue" not in text
        assert "due = open, their due time come: to be done (a recovery call is due at " \
               "once); late = past a deadline (the deadlines' table, the dashboard's late" in text
        clock[0] = made + timedelta(hours=72, minutes=1)
        await pilot.press("r")
        await _loaded(pilot, screen, 2)
        assert backlog.get_row("recovery_call")[1:3] == ["1", "1"]
        assert [e.kind for e in screen.escalations] == ["recovery_call"]


async def test_one_day_of_answers_draws_no_nps_line(store, db_path):
    """One day's NPS alone is no trend: the line stays empty (a lone bar filled its whole
    width) and the caption counts "1 day"; a second day draws both."""
    ids = add_customers(store, ("a", "A"), ("b", "A"))
    first = call(ids["a"], "completed", NOW - timedelta(hours=2), "ann")
    [first_id] = q.insert_calls(store, [first])
    q.insert_answers(store, [(first_id, "nps", "nps", 10, first["ended_at"])])
    app = dashboard_app(db_path, clock=lambda: NOW, refresh_seconds=0, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen)
        caption = str(screen.query_one("#lines-caption", Static).render())
        assert "NPS on 1 day with answers, last +100; 1 attempt in 30 days" in caption
        assert list(screen.query_one("#nps-line", Sparkline).data) == []

        second = call(ids["b"], "completed", NOW - timedelta(days=2), "ann")
        [second_id] = q.insert_calls(store, [second])
        q.insert_answers(store, [(second_id, "nps", "nps", 0, second["ended_at"])])
        await pilot.press("r")
        await _loaded(pilot, screen, 2)
        caption = str(screen.query_one("#lines-caption", Static).render())
        assert "NPS on 2 days with answers" in caption and "; 2 attempts in 30 days" in caption
        assert list(screen.query_one("#nps-line", Sparkline).data) == [-100, 100]


async def test_an_nps_reads_the_same_in_the_shift_bar_the_dashboard_and_the_report(
        store, db_path):
    """Three answers today (10, 9 and 0): NPS 33.3 reads "+33" in the caller's shift bar,
    on the dashboard (the week, today's row, the caller's figures) and in ``carecall
    report`` and its HTML page: one wording (``calls.reports.nps_text``), not "+33" in
    one place and "33.3" in another."""
    from typer.testing import CliRunner

    from calls.cli import app as cli
    from calls.outcomes import Outcome
    from tui.widgets.shift_bar import ShiftBar

    ids = add_customers(store, ("a", "A"), ("b", "A"), ("c", "A"))
    rows = [call(ids[k], "completed", NOW - timedelta(hours=h), "ann")
            for k, h in (("a", 3), ("b", 2), ("c", 1))]
    call_ids = q.insert_calls(store, rows)
    q.insert_answers(store, [(i, "nps", "nps", score, r["ended_at"])
                             for i, r, score in zip(call_ids, rows, (10, 9, 0), strict=True)])
    app = dashboard_app(db_path, clock=lambda: NOW, refresh_seconds=0, tz=UTC)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await _loaded(pilot, screen)
        assert "NPS +33  (2 promoters" in str(screen.query_one("#week", Static).render())
        assert "+33" in [str(c) for c in screen.query_one("#today", DataTable).get_row("ann")]
        assert "last +33" in str(screen.query_one("#lines-caption", Static).render())

    seat = make_app(db_path, "ann", clock=lambda: NOW)
    async with seat.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        for score in (10, 9, 0):
            seat.stats.add(Outcome.COMPLETED, nps=score)
        bar = seat.screen.query_one(ShiftBar)
        bar.update_bar()
        assert "NPS +33" in str(bar.render())

    runner = CliRunner()
    out = runner.invoke(cli, ["report", "--db", str(db_path), "--since", "2026-03-10",
                              "--until", "2026-03-10"])
    assert out.exit_code == 0, out.output
    assert "NPS +33 " in out.output and "33.3" not in out.output
    page = db_path.parent / "r.html"
    out = runner.invoke(cli, ["report", "--db", str(db_path), "--since", "2026-03-10",
                              "--until", "2026-03-10",
                              "--html", str(page)])
    assert out.exit_code == 0, out.output
    html = page.read_text()
    assert "<td>+33</td>" in html and "33.3" not in html


def test_nps_text():
    from calls.reports import nps_text

    assert [nps_text(v) for v in (None, 100.0, 33.333, 12.5, 0.4, 0.0, -0.4, -12.5, -100)] \
        == ["–", "+100", "+33", "+13", "0", "0", "0", "-13", "-100"]
