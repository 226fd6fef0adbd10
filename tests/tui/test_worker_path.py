"""The one worker path of the TUI (tui/database.py): jobs in order, typed messages, one
failure handler, the dashboard through the same factory."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from textual.widgets import DataTable

from calls.errors import UserError
from calls.store import Store
from tests.support.tui import NOW, make_db, press, screen_lines, settle
from tui.app import make_app
from tui.clock import FixedClock
from tui.database import DbDone, DbFailed, DbJob, Lane
from tui.screens.call import CallScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.queue import QueueScreen
from tui.screens.wrapup import WrapUpScreen


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _app(db, caller="ann", **kwargs):
    return make_app(db, caller, clock=FixedClock(NOW), **kwargs)


# -- the lane on its own ------------------------------------------------------------------


def test_a_lane_runs_jobs_in_the_order_asked_and_posts_one_message_each(tmp_path):
    lane = Lane("seat", tmp_path / "l.db")
    seen: list[int] = []
    posted: list = []

    def step(store, n):
        seen.append(n)
        if n == 3:
            raise UserError("three is refused")
        return n * 10

    starts = [lane.put(DbJob(step, (n,))) for n in range(1, 6)]
    assert starts == [True, False, False, False, False]   # one worker drains them all
    assert lane.drain(posted.append) == 5
    assert seen == [1, 2, 3, 4, 5]
    assert [type(m) for m in posted] == [DbDone, DbDone, DbFailed, DbDone, DbDone]
    assert [m.result for m in posted if isinstance(m, DbDone)] == [10, 20, 40, 50]
    assert str(posted[2].error) == "three is refused" and posted[2].job.args == (3,)
    assert lane.put(DbJob(step, (6,))) is True              # idle again: a new worker
    lane.close()


def test_two_workers_of_one_lane_still_run_its_jobs_one_at_a_time_in_order(tmp_path):
    lane = Lane("seat", tmp_path / "l.db")
    order: list[int] = []
    running = []

    def step(store, n):
        running.append(n)
        assert len(running) == 1, "two jobs of a lane ran at once"
        order.append(n)
        threading.Event().wait(0.002)
        running.remove(n)

    for n in range(40):
        lane.put(DbJob(step, (n,)))
    workers = [threading.Thread(target=lane.drain, args=(lambda m: None,)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert order == list(range(40))
    lane.close()


def test_a_lane_gives_sqlites_heap_back_after_the_last_job_of_a_load(tmp_path, monkeypatch):
    """Once its queue runs dry (the last job of a load), not between jobs."""
    lane = Lane("seat", tmp_path / "l.db")
    events: list[str] = []
    monkeypatch.setattr(Store, "shrink_memory", lambda store: events.append("shrink"))
    for n in range(3):
        lane.put(DbJob(lambda store, n=n: events.append(f"job {n}")))
    assert lane.drain(lambda m: None) == 3
    assert events == ["job 0", "job 1", "job 2", "shrink"]
    assert lane.drain(lambda m: None) == 0            # nothing ran: nothing to give back
    assert events.count("shrink") == 1
    lane.close()


def test_a_rested_lane_closes_its_connection_after_what_was_asked_and_opens_again(tmp_path):
    """``Lane.rest``: the jobs already queued still run on the connection, then it is
    closed; a job asked for later (even before the lane ran dry) keeps or opens one."""
    lane = Lane("reports", tmp_path / "l.db")
    stores: list[Store] = []
    lane.put(DbJob(lambda store: stores.append(store)))
    assert lane.rest() is False                # a worker is due to drain: it closes
    assert lane.drain(lambda m: None) == 1
    assert len(stores) == 1 and not lane.is_open
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):   # closed for good
        stores[0].scalar("SELECT 1")
    assert lane.rest() is True                 # idle and closed: the worker only rests
    assert lane.drain(lambda m: None) == 0 and not lane.is_open
    lane.put(DbJob(lambda store: stores.append(store)))
    lane.drain(lambda m: None)
    assert lane.is_open and stores[1] is not stores[0]
    lane.rest()
    lane.put(DbJob(lambda store: stores.append(store)))   # used again before it ran dry
    lane.drain(lambda m: None)
    assert lane.is_open and stores[2] is stores[1]
    lane.close()
    assert lane.rest() is False and not lane.is_open


def test_closing_a_lane_writes_what_is_queued_then_the_last_step(tmp_path):
    path = tmp_path / "l.db"
    lane = Lane("seat", path)
    lane.put(DbJob(lambda store: store.db.execute(
        "CREATE TABLE IF NOT EXISTS t (v TEXT)")))
    lane.put(DbJob(lambda store: store.db.execute("INSERT INTO t VALUES ('notes')")))
    lane.close(last=lambda store: store.db.execute("INSERT INTO t VALUES ('signed out')"))
    with pytest.raises(RuntimeError):
        lane.put(DbJob(lambda store: None))
    with Store.open(path) as store:
        assert [r["v"] for r in store.all("SELECT v FROM t ORDER BY rowid")] == [
            "notes", "signed out"]


# -- in the app -----------------------------------------------------------------------------


async def test_database_work_ends_by_posting_a_typed_message_to_the_app(shift_db):
    app = _app(shift_db)
    got: list = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        original_post = app.post_message

        def spy(message):
            got.append(message)
            return original_post(message)

        app.post_message = spy  # type: ignore[method-assign]
        answers: list[int] = []
        app.db(lambda store: store.scalar("SELECT count(*) FROM customers"),
               on_done=answers.append)
        await settle(pilot)
        assert answers == [5]
        assert any(isinstance(m, DbDone) and m.result == 5 for m in got)
        # No thread is left waiting: the lane's worker ended with its queue.
        assert not [w for w in app.workers if w.group.startswith("db-")
                    and not w.is_finished]
        assert not [t for t in threading.enumerate() if t.name.startswith("carecall-db")]


async def test_a_failed_job_is_one_notice_and_the_screen_is_told_first(shift_db,
                                                                      notifications):
    notifications.expect_error("the disk is full")
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.clear_notifications()
        notifications.shown.clear()
        hooks: list[str] = []

        def boom(store):
            raise UserError("the disk is full")

        app.db(boom, on_error=lambda exc: hooks.append(str(exc)))
        await settle(pilot)
        assert hooks == ["the disk is full"]
        assert notifications.messages("error") == ["the disk is full"]
        assert [n.title for n in app._notifications] == ["Could not save or load"]

        # A screen that said it in place: no second notice.
        app.db(boom, on_error=lambda exc: True)
        # A poll that runs again at the next tick: no notice either.
        app.db(boom, quiet=True)
        await settle(pilot)
        assert notifications.messages("error") == ["the disk is full"]
        # A bug in the screen's on_done is the same kind of notice, not a crash.
        notifications.expect_error("ZeroDivisionError")
        app.db(lambda store: 0, on_done=lambda n: 1 / n)
        await settle(pilot)
        assert app.is_running
        assert any("ZeroDivisionError" in m for m in notifications.messages("error"))


async def test_a_wrap_up_that_fails_keeps_the_call_and_saves_on_the_next_enter(
        shift_db, monkeypatch, notifications):
    notifications.expect_error("database disk image is malformed")
    from calls.session import CallSession

    real = CallSession.wrap_up
    failures: list[str] = []

    def flaky(self, store, now, plan=None):
        if not failures:
            failures.append("once")
            raise OSError("database disk image is malformed")
        return real(self, store, now, plan)

    monkeypatch.setattr(CallSession, "wrap_up", flaky)
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        call = app.screen
        assert isinstance(call, CallScreen)
        customer = call.session.customer
        await press(pilot, "c", "y", "enter", "9")
        await press(pilot, "escape", "p")              # break off: partial
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot)
        # The failure is said once; the wrap-up stays as it was, nothing was written.
        assert isinstance(app.screen, WrapUpScreen)
        assert [m for m in notifications.messages("error") if "malformed" in m] == [
            "OSError: database disk image is malformed"]
        with Store.open(shift_db) as store:
            assert store.one("SELECT outcome, ended_at FROM calls WHERE customer_id = ?",
                             (customer.id,))["ended_at"] is None
        await press(pilot, "enter")                    # again: saved, the next customer
        await settle(pilot)
        assert not isinstance(app.screen, WrapUpScreen)
    with Store.open(shift_db) as store:
        row = store.one("SELECT outcome, ended_at FROM calls WHERE customer_id = ?",
                        (customer.id,))
        answers = store.all("SELECT key, value FROM answers WHERE call_id = ("
                            "SELECT id FROM calls WHERE customer_id = ?)", (customer.id,))
    assert row["outcome"] == "partial" and row["ended_at"] is not None
    assert {a["key"]: a["value"] for a in answers} == {"nps": "9"}


# -- the dashboard through make_app ---------------------------------------------------------


async def test_carecall_dashboard_is_the_same_app_opened_on_the_dashboard(shift_db):
    with Store.open(shift_db) as store:
        before = store.scalar("SELECT count(*) FROM seat_states")
    app = _app(shift_db, caller="sam", mode="dashboard", refresh_seconds=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert screen.loads == 1
        floor = screen.query_one("#floor", DataTable)
        assert str(floor.get_row_at(0)[0]) == "(nobody on the floor yet)"
        assert "updated 2026-03-10" in str(screen.query_one("#updated").render())
        # Its figures came through the reports lane of the one worker path.
        assert app.lanes["reports"]._store is not None
        await press(pilot, "ctrl+q")                   # no shift summary: it quits
        await settle(pilot)
    assert not app.is_running
    with Store.open(shift_db) as store:
        # A supervisor watching is not a seat on the floor.
        assert store.scalar("SELECT count(*) FROM seat_states") == before


async def test_a_shift_seat_is_on_the_floor_and_leaves_it_at_the_end(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.seat_state is not None and app.seat_state.state == "ready"
        await press(pilot, "ctrl+q")
        await press(pilot, "q")
        await settle(pilot)
    with Store.open(shift_db) as store:
        last = store.one("SELECT state, ended_at FROM seat_states WHERE caller = 'ann' "
                         "ORDER BY id DESC LIMIT 1")
    assert last["state"] == "ready" and last["ended_at"] is not None  # the seat closed


async def test_a_dashboard_load_that_ends_after_the_screen_closed_is_dropped(shift_db):
    """Leaving the dashboard while its figures load: no error about a screen gone."""
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        gate = threading.Event()
        screen = DashboardScreen(refresh_seconds=0)
        # Hold the reports lane until the screen is gone.
        app.db(lambda store: gate.wait(5), lane="reports")
        await app.push_screen(screen)
        await pilot.pause()
        assert screen._loading
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen) and not screen.is_attached
        gate.set()
        await settle(pilot)
        assert screen.loads == 0 and app.is_running


async def test_the_dashboards_connection_closes_with_the_dashboard(shift_db):
    """A seat that opened the dashboard does not keep its second connection all shift;
    the dashboard opened again reads through a new one and shows the same figures."""
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(DashboardScreen(refresh_seconds=0))
        await settle(pilot)
        first = screen_lines(app)
        assert app.lanes["reports"].is_open and app.screen.loads == 1
        await press(pilot, "escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert not app.lanes["reports"].is_open
        await app.push_screen(DashboardScreen(refresh_seconds=0))
        await settle(pilot)
        assert app.screen.loads == 1 and app.lanes["reports"].is_open
        assert screen_lines(app) == first


# -- how many prepared statements a lane's connection keeps ---------------------------


def _kept_statements(store: Store) -> int:
    """Prepared statements the connection holds now (SQLite's ``sqlite_stmt`` table),
    the counting statement itself left out (it is kept too: one of the cache's)."""
    return store.scalar("SELECT count(*) FROM sqlite_stmt WHERE sql NOT LIKE '%sqlite_stmt%'")


def _run_distinct_statements(store: Store, how_many: int) -> None:
    for n in range(how_many):
        store.scalar(f"SELECT {n} + count(*) FROM sqlite_master")


@pytest.mark.parametrize(("lane", "kept"), [("seat", 128), ("reports", 8), ("planner", 8)])
def test_a_lanes_connection_keeps_as_many_prepared_statements_as_the_lane_says(
        tmp_path, lane, kept):
    """The seat's lane keeps the statements its keys run again (~80); the dashboard's and
    the planner's, which run theirs once a refresh or once a start, keep few (a seat's
    memory: each is a few KB of SQLite's heap)."""
    from tui.database import STATEMENTS_KEPT

    assert STATEMENTS_KEPT[lane] == kept
    made = Lane(lane, tmp_path / "l.db")
    counted: list[int] = []

    def job(store):
        _run_distinct_statements(store, 200)
        counted.append(_kept_statements(store))

    made.put(DbJob(job))
    made.drain(lambda m: None)
    assert counted == [kept - 1]
    made.close()


def test_store_open_keeps_the_prepared_statements_it_is_told(tmp_path):
    with Store.open(tmp_path / "s.db", statements=3) as store:
        _run_distinct_statements(store, 20)
        assert _kept_statements(store) == 3 - 1
    with Store.open(tmp_path / "s.db") as store:      # Python's default
        _run_distinct_statements(store, 200)
        assert _kept_statements(store) == 128 - 1
