"""The planner's run at a shift's start has a lane of its own: the seat's first ``n``
does not wait for it, and ctrl+q while it runs ends the shift at once, nothing lost."""

from __future__ import annotations

import threading

import pytest

from tests.support.tui import NOW, make_db, settle
from tests.tui.test_tui_calls import _all
from tui.app import make_app
from tui.clock import FixedClock
from tui.database import PLANNER
from tui.screens.call import CallScreen
from tui.screens.queue import QueueScreen
from tui.screens.summary import ShiftSummaryScreen

WAIT = 20.0   # seconds a step may take on a busy machine before the test gives up


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


async def _until(pilot, test, what: str) -> None:
    """Pause until ``test()`` (the planner's worker stays busy: no ``settle``)."""
    for _ in range(int(WAIT / 0.02)):
        if test():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never: {what}")


async def test_n_takes_a_customer_while_the_planner_still_runs(shift_db, monkeypatch):
    from tui.screens import start

    running, release, returned = threading.Event(), threading.Event(), threading.Event()
    lanes: list[str] = []

    def slow_planner(store, now, policy, stop=None):
        running.set()
        release.wait(WAIT)           # the planner on a freshly imported list: seconds
        returned.set()
        return 0

    monkeypatch.setattr(start, "run_planner", slow_planner)
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            await _until(pilot, running.is_set, "the planner started")
            lanes.extend(name for name, lane in app.lanes.items() if lane.is_open)
            assert isinstance(app.screen, QueueScreen)
            await pilot.press("n")
            await _until(pilot, lambda: isinstance(app.screen, CallScreen),
                         "the call screen while the planner runs")
            assert not returned.is_set()
            ann = _all(shift_db, "SELECT customer_id FROM claims WHERE caller = 'ann'")
            assert [r["customer_id"] for r in ann] == [app.screen.session.customer.id]
        finally:
            release.set()
        await settle(pilot)
        # The planner's connection is closed once it has run (not kept all shift).
        assert PLANNER in lanes and not app.lanes[PLANNER].is_open
        await pilot.press("ctrl+q", "q")
        await settle(pilot)


async def test_ctrl_q_while_the_planner_runs_ends_the_shift_and_stops_it(shift_db,
                                                                         monkeypatch):
    from tui.screens import start

    running, seen = threading.Event(), []

    def long_planner(store, now, policy, stop=None):
        running.set()
        while not stop():            # between its transactions, as calls.planner.plan
            threading.Event().wait(0.01)
            if len(seen) > WAIT / 0.01:
                break
            seen.append(None)
        seen.append("stopped" if stop() else "ran out")
        return 0

    monkeypatch.setattr(start, "run_planner", long_planner)
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, running.is_set, "the planner started")
        await pilot.press("n")
        await _until(pilot, lambda: isinstance(app.screen, CallScreen), "the call screen")
        await pilot.press("ctrl+q")
        await _until(pilot, lambda: isinstance(app.screen, ShiftSummaryScreen), "the summary")
        await pilot.press("q")
        await _until(pilot, lambda: not app.is_running, "the app ended")
    assert seen[-1] == "stopped"
    assert app.return_code in (0, None)
    # The customer taken and never called went back; the seat signed out.
    assert _all(shift_db, "SELECT * FROM claims WHERE caller = 'ann'") == []
    assert _all(shift_db, "SELECT * FROM calls") == []
