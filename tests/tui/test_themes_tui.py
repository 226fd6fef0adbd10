"""Pilot: the owner confirms or changes a fix's suggested themes when closing it, and says
whether the cause was fixed; what the screen shows and what the database holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import Checkbox, SelectionList

from calls import followups as fu
from tests.support.followups import add_customer
from tests.support.tui import wait_for

app_module = pytest.importorskip("tui.app")


@pytest.fixture
def fix(store, now):
    cid = add_customer(store, "C1", "Ann Able", owner="olga", phone="+12125550101")
    return fu.add_followup(store, kind="fix_problem", customer_id=cid, owner="olga",
                           due_at=now + timedelta(days=1),
                           details="Die Lieferung kam zu spät", now=now)


async def _close_to_themes(pilot, app, note: str):
    from tui.screens.followups import FollowupsScreen

    await wait_for(pilot, lambda: type(app.screen).__name__ == "QueueScreen"
                   and app.focused is not None)
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, FollowupsScreen)
                   and app.screen.view is not None)
    await pilot.press("d")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "CloseNoteScreen")
    await pilot.press(*note)
    await pilot.press("enter")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "ThemesScreen")
    await pilot.pause(0.1)


async def test_owner_changes_the_themes_and_marks_the_root_cause(db_path, store, now, fix):
    app = app_module.make_app(db_path, "olga", clock=now + timedelta(hours=1))
    async with app.run_test(size=(80, 24)) as pilot:
        await _close_to_themes(pilot, app, "neuer Spediteur, Rechnung korrigiert")
        screen = app.screen
        picker = screen.query_one(SelectionList)
        # suggested from the problem and the fix note (German): delivery and billing ticked
        assert sorted(picker.selected) == ["billing", "delivery"]
        text = " ".join(str(w.render()) for w in screen.query(".themes-text"))
        assert "Die Lieferung kam zu spät" in text and "Rechnung korrigiert" in text
        # untick billing (second in the vocabulary order: delivery, product quality, billing)
        await pilot.press("down", "down", "space")
        assert picker.selected == ["delivery"]
        await pilot.press("r")
        assert screen.query_one(Checkbox).value is True
        await pilot.press("enter")
        await wait_for(pilot, lambda: fu.get_followup(store, fix.id).status == "done")
        await wait_for(pilot, lambda: store.scalar(
            "SELECT count(*) FROM theme_reviews WHERE followup_id = ?", (fix.id,)) == 1)
    assert store.all("SELECT theme FROM theme_tags WHERE followup_id = ? AND source = "
                     "'confirmed'", (fix.id,)) == [{"theme": "delivery"}]
    assert store.scalar("SELECT root_cause FROM theme_reviews WHERE followup_id = ?",
                        (fix.id,)) == 1


async def test_escape_keeps_the_suggestions_unconfirmed(db_path, store, now, fix):
    app = app_module.make_app(db_path, "olga", clock=now + timedelta(hours=1))
    async with app.run_test(size=(80, 24)) as pilot:
        await _close_to_themes(pilot, app, "neuer Spediteur")
        await pilot.press("escape")
        await wait_for(pilot, lambda: fu.get_followup(store, fix.id).status == "done")
        await wait_for(pilot, lambda: store.scalar(
            "SELECT count(*) FROM theme_tags WHERE followup_id = ?", (fix.id,)) > 0)
    assert store.all("SELECT theme, source FROM theme_tags WHERE followup_id = ?",
                     (fix.id,)) == [{"theme": "delivery", "source": "suggested"}]
    assert store.scalar("SELECT count(*) FROM theme_reviews") == 0
