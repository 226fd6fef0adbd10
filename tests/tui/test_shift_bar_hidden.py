"""A screen nobody sees does no work (issue 18: idle CPU per seat): its shift bar stops,
and the queue under a call does not reload itself.

The queue, the call screen and the wrap-up are kept all shift, each with its shift bar;
only the bar of the screen on show redraws every second. A covered bar catches up the
moment its screen shows again (not a second later)."""

from __future__ import annotations

from tests.support.queue import count_calls
from tests.support.tui import NOW, press, screen_lines, settle, take_next
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.queue import QueueScreen
from tui.screens.wrapup import WrapUpScreen
from tui.widgets.shift_bar import ShiftBar


def _bar(screen) -> ShiftBar:
    return screen.query_one(ShiftBar)


async def test_a_covered_screens_shift_bar_stops_and_catches_up_when_shown(shift_db,
                                                                          monkeypatch):
    drawn: list[ShiftBar] = []
    real = ShiftBar.update_bar

    def update_bar(self) -> None:
        drawn.append(self)
        real(self)

    monkeypatch.setattr(ShiftBar, "update_bar", update_bar)
    clock = FixedClock(NOW)
    app = make_app(shift_db, "ann", clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen) and _bar(queue).ticking
        call = await take_next(pilot)
        assert _bar(call).ticking and not _bar(queue).ticking

        # More than a second with the call on top: the queue's bar is not drawn once.
        drawn.clear()
        await pilot.pause(1.3)
        assert _bar(queue) not in drawn

        # A call to its wrap-up and back: the wrap-up's bar runs only while it shows.
        await press(pilot, "c", "y", "enter", "9", "escape", "p")
        wrapup = app.screen
        assert isinstance(wrapup, WrapUpScreen)
        assert _bar(wrapup).ticking and not _bar(call).ticking
        await press(pilot, "escape")
        assert app.screen is call and _bar(call).ticking and not _bar(wrapup).ticking

        # Minutes pass in the call; back on the queue its bar says so at once.
        clock.advance(minutes=7)
        await press(pilot, "escape", "p")           # partial: the wrap-up again
        assert isinstance(app.screen, WrapUpScreen)
        monkeypatch.setattr(call, "wants_next", lambda: False)   # back to the queue
        drawn.clear()
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is queue and _bar(queue).ticking
        assert _bar(queue) in drawn
        assert not _bar(call).ticking and not _bar(wrapup).ticking
        assert " 7m " in screen_lines(app)[0]     # time on shift, drawn as it showed


async def test_the_queue_under_a_call_does_not_reload_itself(shift_db, monkeypatch):
    """The queue reloads every half minute while the caller looks at it; under a call it
    waits (Textual counts the screen right under a full screen as current)."""
    from tui import core

    loads = count_calls(monkeypatch, core, "load_queue")
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        await take_next(pilot)
        loads.clear()
        queue._tick()                     # the half-minute tick, during the call
        await settle(pilot)
        assert loads == []
        await press(pilot, "s")           # skip: back on the queue (which reloads)
        await settle(pilot)
        assert app.screen is queue
        loads.clear()
        queue._tick()
        await settle(pilot)
        assert loads == [1]
