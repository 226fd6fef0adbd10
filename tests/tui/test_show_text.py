"""``tui.widgets.text.show_text``: the same text is not put again (no repaint, no new
layout), a new one is; either way the widget shows what the plain ``update`` shows."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from tests.support.tui import screen_lines
from tui.widgets.text import show_text


class _One(App):
    def compose(self):
        yield Static("[b $error]Not recorded:[/] switch recording off", id="line")


async def test_the_same_text_is_not_put_again_and_a_new_one_is():
    app = _One()
    async with app.run_test(size=(40, 3)) as pilot:
        line = app.query_one("#line", Static)
        await pilot.pause()
        visual = line.visual
        assert show_text(line, "[b $error]Not recorded:[/] switch recording off") is False
        assert line.visual is visual                   # nothing made again
        assert show_text(line, "No more calls") is True
        await pilot.pause()
        assert "No more calls" in "\n".join(screen_lines(app))


async def test_a_text_kept_across_a_theme_change_has_the_new_colours():
    """The colours of the markup ($error) are the theme's at paint time: a kept text and
    the same text put again look the same after the theme changed."""
    text = "[b $error]Not recorded:[/] switch recording off"
    app = _One()
    async with app.run_test(size=(40, 3)) as pilot:
        line = app.query_one("#line", Static)
        await pilot.pause()
        dark = app.export_screenshot()
        app.theme = "textual-light"
        await pilot.pause()
        assert show_text(line, text) is False
        line.refresh()
        await pilot.pause()
        kept = app.export_screenshot()
        line.update(text)                              # the plain way
        await pilot.pause()
        assert app.export_screenshot() == kept != dark
