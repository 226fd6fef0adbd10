"""The config file in the app: a remapped key works (and the old one does not); the
theme the caller picks is there at the next start."""

from __future__ import annotations

import pytest

from calls.config import load_config
from calls.store import Store
from tests.support.tui import NOW, make_db, press, settle
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.queue import QueueScreen
from tui.screens.wrapup import WrapUpScreen


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _app(db, config_file):
    return make_app(db, "ann", clock=FixedClock(NOW), config=load_config(config_file))


async def test_a_keymap_file_remaps_keys(shift_db, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nqueue-take-next = "t"\ncall-no-answer = "u"\n')
    app = _app(shift_db, path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "n")                     # no longer "take next"
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "t")
        call = app.screen
        assert isinstance(call, CallScreen)
        # The screen says which key to press: the caller's.
        bar = str(call.query_one("#outcome-bar").render())
        assert "u No answer" in bar and "n No answer" not in bar
        await press(pilot, "n")                     # no longer "no answer"
        assert app.screen is call
        await press(pilot, "u")
        assert isinstance(app.screen, WrapUpScreen)
        session = call.session           # the screen shows the next customer after the save
        await press(pilot, "enter")
        await settle(pilot)
        call_id = session.call_id
    with Store.open(shift_db) as store:
        assert store.one("SELECT outcome FROM calls WHERE id = ?", (call_id,))["outcome"] == \
            "no_answer"


async def test_the_chosen_theme_is_remembered_across_starts(shift_db, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("# my settings\n[keymap]\n")
    app = _app(shift_db, path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme != "nord"
        app.theme = "nord"                          # what the palette's theme picker does
        await settle(pilot)
    assert load_config(path).ui.theme == "nord"
    assert path.read_text().startswith("# my settings\n[keymap]\n")

    again = _app(shift_db, path)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert again.theme == "nord"
        assert again.current_theme.name == "nord"
