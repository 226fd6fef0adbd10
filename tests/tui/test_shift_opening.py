"""A shift's opening: the queue is read with the start's other reads (one job on the
seat's lane), shown as a refresh would show it, and what watches the shift (escalations,
callbacks due, the planner, the trial's notice) starts once it is on screen."""

from __future__ import annotations

from calls.policy import DEFAULT_POLICY
from calls.store import Store
from tests.support.tui import NOW, make_db, press, screen_lines, settle, wait_for
from tui import core
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens import start
from tui.screens.queue import PAGE, QueueScreen
from tui.widgets import escalations


def test_the_start_reads_the_same_queue_as_a_refresh(tmp_path):
    path = make_db(tmp_path / "shift.db")
    with Store.open(path) as store:
        opened = start.load_start(store, "ann", NOW, DEFAULT_POLICY, PAGE)
        plain = core.load_queue(store, "ann", NOW, DEFAULT_POLICY, PAGE)
        assert opened.customers == 5 and opened.unfinished == []
        assert opened.queue == plain and len(plain.entries) >= 2
        assert start.load_start(store, "ann").queue is None      # no page asked: not read
    with Store.open(tmp_path / "empty.db") as store:
        empty = start.load_start(store, "ann", NOW, DEFAULT_POLICY, PAGE)
        assert empty.customers == 0 and empty.queue is None


async def test_the_queue_is_read_once_and_first(tmp_path, monkeypatch):
    path = make_db(tmp_path / "shift.db")
    reads: list[str] = []
    plain_read, plain_check = core.load_queue, escalations.check_escalations

    def load_queue(*args, **kwargs):
        reads.append("queue")
        return plain_read(*args, **kwargs)

    def check_escalations(*args, **kwargs):
        reads.append("escalations")
        return plain_check(*args, **kwargs)

    monkeypatch.setattr(core, "load_queue", load_queue)
    monkeypatch.setattr(escalations, "check_escalations", check_escalations)
    app = make_app(path, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        # The seat's lane read the queue before the escalations' check, and only once:
        # the screen showing it did not read it again.
        assert reads == ["queue", "escalations"]
        assert app.callback_announcer._started and app.escalation_watcher._started
        assert any("one-person trial" in str(n.message) for n in app._notifications)
        shown = screen_lines(app)
        assert any("to call now" in line for line in shown)
        # Columns made for the terminal's width before the first layout: kept after it.
        table = screen.query_one("#queue-table")
        assert table.widths == screen._widths(screen._rows())
        first = [table.get_row_at(i) for i in range(table.row_count)]
        await press(pilot, "r")
        await settle(pilot)
        assert reads.count("queue") == 2
        assert [table.get_row_at(i) for i in range(table.row_count)] == first
        assert screen_lines(app) == shown


async def test_an_empty_database_opens_on_the_welcome_and_is_watched(tmp_path):
    path = tmp_path / "empty.db"
    Store.open(path).close()
    app = make_app(path, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen")
        await settle(pilot)
        assert app.callback_announcer._started and app.escalation_watcher._started



async def test_a_notice_replaced_under_the_resume_prompt_does_not_show_through(tmp_path):
    """A seat killed in a call and opened again: "Signed in here" is up on the queue when
    the resume prompt opens over it; the trial's tip does not replace it, and a notice that
    does (any later one) leaves nothing of it showing beside the new one."""
    from calls import floor
    from tests.tui.test_tui_calls import _take_next
    from tui.screens.resume import ResumeScreen

    path = make_db(tmp_path / "shift.db")
    app = make_app(path, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await _take_next(pilot)
        await press(pilot, "c", "y", "enter", "7")
    with Store.open(path) as store:      # the seat never signed off (its process was killed)
        floor.take_seat(store, "ann", token="killed", kind="terminal", now=NOW)
    app = make_app(path, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeScreen))
        await settle(pilot)
        shown = "\n".join(screen_lines(app))
        assert "Signed in here" in shown and "One-person trial" not in shown
        app.notify("Callback with Jane Doe in 5 minutes", title="Callback")
        await settle(pilot)
        shown = "\n".join(screen_lines(app))
        assert "Callback with Jane Doe" in shown
        assert "resume here" not in shown and "Signed in here" not in shown
        await press(pilot, "escape")                  # the prompt closed: the queue
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        shown = "\n".join(screen_lines(app))
        assert "Callback with Jane Doe" in shown and "Signed in here" not in shown


async def test_a_queue_the_start_could_not_read_is_read_by_the_queue_screen(tmp_path,
                                                                           monkeypatch):
    """The start's read of the queue failing is not "could not open the database": the
    shift opens on the queue screen, which reads the queue itself."""
    path = make_db(tmp_path / "shift.db")
    plain_read, failed = core.load_queue, []

    def load_queue(*args, **kwargs):
        if not failed:
            failed.append(True)
            raise RuntimeError("a moment's trouble")
        return plain_read(*args, **kwargs)

    monkeypatch.setattr(core, "load_queue", load_queue)
    app = make_app(path, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        await settle(pilot)
        shown = "\n".join(screen_lines(app))
        assert failed and "to call now" in shown and "Could not open" not in shown
