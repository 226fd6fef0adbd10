"""Pilot: at wrap-up the caller sees the themes suggested for the open answers, confirms or
changes them with t, and the database holds what the caller chose (confirmed wins)."""

from __future__ import annotations

import pytest
from textual.widgets import SelectionList, Static

from calls.store import Store
from tests.support.tui import (
    NOW,
    make_db,
    press,
    read_question,
    screen_lines,
    settle,
    type_text,
)
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.queue import QueueScreen
from tui.screens.wrapup import WrapUpScreen
from tui.widgets.themes import ThemesScreen


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _all(db, sql, params=()):
    with Store.open(db) as store:
        return store.all(sql, params)


async def _detractor_to_wrap_up(pilot):
    await settle(pilot)
    assert isinstance(pilot.app.screen, QueueScreen)
    await press(pilot, "n")
    call = pilot.app.screen
    assert isinstance(call, CallScreen)
    await press(pilot, "c", "y", "enter", "3")
    await type_text(pilot, "friendly staff")
    await press(pilot, "enter")
    await type_text(pilot, "faster delivery, the invoice was wrong")
    await press(pilot, "enter")
    await read_question(pilot)
    await press(pilot, "1", "2", "y", "n", "n", "enter")
    assert call.phase == "done"
    await press(pilot, "enter")
    assert isinstance(pilot.app.screen, WrapUpScreen)
    return call.session


def _body(app) -> str:
    return str(app.screen.query_one("#wrapup-body", Static).render())


async def test_caller_changes_the_suggested_themes_at_wrap_up(shift_db):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        session = await _detractor_to_wrap_up(pilot)
        body = _body(app)
        assert "Themes (t: confirm or change)" in body
        # and t is on the key bar at 80 columns (the trial found it left out for room)
        assert "t Themes" in screen_lines(app)[-1]
        # The questions' words and the themes' labels: never a key (issue 15).
        assert "What are we doing well for you?: Staff (suggested)" in body
        assert "You gave us 3. What could we do better to e…: Delivery, Billing " \
               "(suggested)" in body
        assert "going_well" not in body and "improve:" not in body
        await press(pilot, "t")
        assert isinstance(app.screen, ThemesScreen)
        first, second = app.screen.query(SelectionList)
        assert first.selected == ["staff"] and sorted(second.selected) == ["billing", "delivery"]
        # the caller unticks billing on the second answer (delivery, product quality, billing)
        await press(pilot, "tab", "down", "down", "space")
        assert app.focused is second and second.selected == ["delivery"]
        await press(pilot, "enter")
        assert isinstance(app.screen, WrapUpScreen)
        assert "What could we do better to e…: Delivery (confirmed)" in _body(app)
        await press(pilot, "enter")
        await settle(pilot)
        call_id = session.call_id
    tags = _all(shift_db, "SELECT answer_key, theme, source FROM theme_tags WHERE call_id = ? "
                "ORDER BY answer_key, source, theme", (call_id,))
    assert tags == [
        {"answer_key": "going_well", "theme": "staff", "source": "confirmed"},
        {"answer_key": "going_well", "theme": "staff", "source": "suggested"},
        {"answer_key": "improve", "theme": "delivery", "source": "confirmed"},
        {"answer_key": "improve", "theme": "billing", "source": "suggested"},
        {"answer_key": "improve", "theme": "delivery", "source": "suggested"},
    ]
    reviews = _all(shift_db, "SELECT answer_key, reviewed_by FROM theme_reviews "
                   "WHERE call_id = ? ORDER BY answer_key", (call_id,))
    assert reviews == [{"answer_key": "going_well", "reviewed_by": "ann"},
                       {"answer_key": "improve", "reviewed_by": "ann"}]


async def test_saving_without_t_keeps_the_suggestions_unconfirmed(shift_db):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        session = await _detractor_to_wrap_up(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        call_id = session.call_id
    assert _all(shift_db, "SELECT DISTINCT source FROM theme_tags WHERE call_id = ?",
                (call_id,)) == [{"source": "suggested"}]
    assert _all(shift_db, "SELECT * FROM theme_reviews WHERE call_id = ?", (call_id,)) == []
