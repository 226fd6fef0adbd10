"""The key bar (tui/widgets/key_bar.py) against Textual's Footer: the same picture for the
same bindings, keys that follow ``check_action``, and a click presses the key."""

from __future__ import annotations

import html
import re
from typing import ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from tui.widgets.key_bar import KeyBar, KeyItem

KEY_BAR_CSS = "../../tui/widgets/key_bar.tcss"


class Keys(App):
    """A screen's worth of bindings: shown, dimmed (None), hidden (False), two keys for one
    action, a binding not shown, a priority one, and a focused widget's own."""

    CSS_PATH = KEY_BAR_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "take", "Next"),
        Binding("enter", "take", "Take"),           # the same action: shown once
        Binding("e", "explain", "Explain"),
        Binding("d", "dimmed", "Dimmed"),
        Binding("h", "hidden", "Hidden"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("ctrl+f", "find", "Find", priority=True),
        Binding("up", "back", "Back", key_display="↑"),
    ]

    def __init__(self, bar: bool, extra: int = 0, palette: bool = True) -> None:
        super().__init__()
        self.bar = bar
        self.hidden_shown = False
        self.pressed: list[str] = []
        self.ENABLE_COMMAND_PALETTE = palette
        for i in range(extra):
            self.bind(f"f{i + 1}", f"extra({i})", description=f"Extra key {i}")

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield Input(placeholder="typing here")
        yield KeyBar() if self.bar else Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "dimmed":
            return None
        if action == "hidden":
            return self.hidden_shown
        return True

    def action_take(self) -> None:
        self.pressed.append("take")

    def action_explain(self) -> None:
        self.pressed.append("explain")

    def action_dimmed(self) -> None:
        self.pressed.append("dimmed")


async def picture(bar: bool, size=(80, 24), focus_input: bool = False, **kwargs) -> str:
    app = Keys(bar, **kwargs)
    async with app.run_test(size=size) as pilot:
        if focus_input:
            app.query_one(Input).focus()
        else:
            app.set_focus(None)
        await pilot.pause()
        await pilot.pause()
        return cells(app.export_screenshot())


CELL = 12.2  # the width of a cell in Textual's SVG screenshots


def cells(svg: str) -> dict:
    """What a screenshot shows, cell by cell: each cell's background, and its character
    with the style it is drawn in. (The SVG itself differs where the same cells come in
    other runs of text, and in a hash that takes in which widget a cell belongs to.)"""
    rules = dict(re.findall(r"\.(terminal-\d+-r\d+) \{ ([^}]*) \}", svg))
    grid: dict = {}
    for fill, x, y, width in re.findall(
            r'<rect fill="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', svg):
        for i in range(round(float(width) / CELL)):
            grid["bg", y, round(float(x) / CELL) + i] = fill
    for cls, x, y, text in re.findall(
            r'<text class="([^"]+)" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        for i, char in enumerate(html.unescape(text)):
            grid["fg", y, round(float(x) / CELL) + i] = (rules.get(cls, cls), char)
    return grid


@pytest.mark.parametrize("case", [
    {},
    {"extra": 12, "size": (300, 10)},
    {"palette": False},
    {"focus_input": True},                     # the Input's own bindings join in
])
async def test_the_same_picture_as_the_footer(case):
    assert await picture(True, **case) == await picture(False, **case)


async def test_keys_that_do_not_fit_leave_the_bar_whole_from_the_last():
    """Where Textual's Footer cuts the line (and so the app's keys, which come last), the
    key bar leaves out whole keys from the last one, the way back and help and pause
    last of all; they still work."""
    from tests.support.tui import screen_lines

    app = Keys(True)
    app.bind("escape", "leave", description="Back")
    async with app.run_test(size=(40, 10)) as pilot:
        app.set_focus(None)
        await pilot.pause()
        # 28 cells left of the palette: n Next (8) and esc Back (10) of the 56 wanted.
        assert screen_lines(app)[-1] == " n Next  esc Back" + " " * 11 + "▏^p palette"
        await pilot.press("e")
        assert app.pressed == ["explain"]


async def test_keys_follow_check_action():
    app = Keys(True)
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_focus(None)
        await pilot.pause()
        bar = app.query_one(KeyBar)
        shown = {item.description: item.enabled for item in bar.items}
        assert shown == {"Next": True, "Explain": True, "Dimmed": False, "Find": True,
                         "Back": True}
        assert bar.palette == KeyItem("ctrl+p", "^p", "palette", True,
                                      "Open the command palette")
        app.hidden_shown = True
        app.refresh_bindings()
        await pilot.pause()
        assert "Hidden" in [item.description for item in bar.items]
        assert "Hidden" in html.unescape(app.export_screenshot())


async def test_a_click_presses_the_key_and_a_dimmed_key_does_nothing():
    app = Keys(True)
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_focus(None)
        await pilot.pause()
        # " n Next " starts the bar; " e Explain " follows; " d Dimmed " after it.
        await pilot.click(KeyBar, offset=(1, 0))
        await pilot.click(KeyBar, offset=(10, 0))
        await pilot.click(KeyBar, offset=(21, 0))
        await pilot.pause()
        assert app.pressed == ["take", "explain"]


async def test_hover_shows_the_tooltip():
    app = Keys(True)
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_focus(None)
        await pilot.pause()
        await pilot.hover(KeyBar, offset=(10, 0))
        await pilot.pause()
        bar = app.query_one(KeyBar)
        assert bar.tooltip == "Explain"
        await pilot.hover(Static, offset=(0, 0))
        await pilot.pause()
        assert bar.tooltip is None


async def test_the_queue_keeps_pause_help_and_end_shift_at_80_columns(shift_db):
    """The queue's own keys take the room first in Textual's order; at 80 columns the last
    of them (Follow-ups) leaves the bar so that the app's keys fit: it is still its key,
    and listed by help and the command palette."""
    from tests.support.tui import NOW, press, screen_lines, settle
    from tui.app import make_app
    from tui.clock import FixedClock
    from tui.screens.followups import FollowupsScreen

    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = screen_lines(app)[-1]
        assert bar == (" ⏎ Take  n Next  / Find  a Callbacks  f Follow-ups  p Pause  ? Help "
                       "▏^p palette"), bar
        await press(pilot, "f")
        assert isinstance(app.screen, FollowupsScreen)
        bar = screen_lines(app)[-1]
        assert "esc Back" in bar and "p Pause  ? Help" in bar, bar
    # Wide enough, every key is on the bar.
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(pilot)
        bar = screen_lines(app)[-1]
        assert "^q End shift" in bar and "p Pause" in bar and "? Help" in bar, bar
