"""Keys on the call screen: typed in one burst, they land in the order they were typed."""

from __future__ import annotations

import pytest
from textual import events

from calls.store import Store
from tests.support.tui import _KEY_NAMES, NOW, make_db, press, settle
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.wrapup import WrapUpScreen


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _burst(app, *parts: str) -> None:
    """Post every key to the app at once, as a terminal delivers a burst (fast typing,
    SSH): no key waits for the one before it to be handled."""
    for part in parts:
        if len(part) > 1 and part in ("enter", "up", "down", "escape", "backspace"):
            app.post_message(events.Key(part, "\r" if part == "enter" else None))
            continue
        for ch in part:
            app.post_message(events.Key(_KEY_NAMES.get(ch, ch), ch))


async def test_a_burst_of_keys_lands_in_typing_order(shift_db):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        call = app.screen
        assert isinstance(call, CallScreen)
        # Connect, opening, NPS 3 (a detractor), two typed answers, the problem area,
        # CSAT 2, three yes/no, the optional last question skipped: all in one burst.
        _burst(app, "c", "y", "enter", "3", "friendly staff", "enter", "faster delivery",
               "enter", "1", "2", "y", "n", "n", "enter")
        await settle(pilot, 10)
        assert call.phase == "done"
        call_id = call.session.call_id
        _burst(app, "enter")
        await settle(pilot)
        assert isinstance(app.screen, WrapUpScreen)
    with Store.open(shift_db) as store:
        answers = {r["key"]: r["value"] for r in store.all(
            "SELECT key, value FROM answers WHERE call_id = ?", (call_id,))}
    assert answers == {
        "nps": "3", "going_well": '"friendly staff"', "improve": '"faster delivery"',
        "problem_area": '"delivery"', "last_order_csat": "2", "contact_ok": "true",
        "need": "false", "send_info": "false", "anything_else": "null",
    }, answers
