"""SVG snapshots of the shift app's main screens at 80x24 and a fixed clock.

Update after an intended change with ``pytest tests/tui/test_tui_snapshots.py --snapshot-update``
and look at the report before committing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.tui import NOW, make_db, settle, steady_cursors
from tui.app import make_app
from tui.clock import FixedClock

SIZE = (80, 24)
SCRIPT = Path(__file__).resolve().parents[1] / "data" / "tui_quarterly.toml"


@pytest.fixture
def app(tmp_path, monkeypatch):
    # The shift bar shows the caller's own clock: pin the machine's zone as well.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    # The seat's state follows the call on a timer and a database worker, so under load
    # the picture could catch it a step behind; floor states have Pilot tests of their
    # own (tests/tui/test_floor_tui.py). The pictures leave that segment out.
    from tui.widgets import shift_bar

    monkeypatch.setattr(shift_bar, "seat_text", lambda app, now: "")
    yield make_app(make_db(tmp_path / "snap.db"), "ann", script=str(SCRIPT),
                   clock=FixedClock(NOW))
    monkeypatch.delenv("TZ")
    time.tzset()


async def _keys(pilot, *keys):
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot, 3)
    # On a busy machine a screen's last refresh can lag its worker: settle longer before
    # the picture is taken, so the snapshot never catches a half-drawn screen.
    await settle(pilot, 10)
    # The call session moves the seat's state in each step; the shift bar shows it after
    # the step's worker: show the state the database has now, whenever that was.
    from calls import floor
    from calls.store import Store

    with Store.open(pilot.app.db_path) as store:
        state = floor.seat_now(store, pilot.app.caller)
    pilot.app.seat_state_changed(state)
    await settle(pilot, 2)
    # Notifications time out by the wall clock: on a slow run one is still up. The
    # pictures are of the screens; notifications have tests of their own.
    pilot.app.clear_notifications()
    steady_cursors(pilot.app)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.2)


def test_queue_screen(snap_compare, app):
    async def run_before(pilot):
        await _keys(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_call_screen_nps_question(snap_compare, app):
    async def run_before(pilot):
        await _keys(pilot, "n", "c", "y", "enter", "1")   # "1" waits: 1 or 10?

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_call_screen_detractor_branch(snap_compare, app):
    async def run_before(pilot):
        await _keys(pilot, "n", "c", "y", "enter", "4", "enter")   # 4, going well: skipped

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_wrap_up_screen(snap_compare, app):
    async def run_before(pilot):
        await _keys(pilot, "n", "c", "y", "enter", "9", "enter", "5", "y", "n",
                    "n", "n", "enter", "enter")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
