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


# -- in place: the screen laid out again only when the text can change the widget's size --

class _Box(App):
    CSS = "#fixed { width: 24; } #auto { width: auto; }"

    def compose(self):
        yield Static("A 12 · B 3\nnot reached: 40", id="fixed")
        yield Static("below", id="below")
        yield Static("short", id="auto")


TEXTS = {
    "figures changed, same lines": "A 13 · B 3\nnot reached: 39",
    "a line more": "A 13 · B 3\nC 4\nnot reached: 39",
    "a line less": "A 13 · B 3",
    "a line that wraps at 24": "A 13 · B 3 · C 4 · D 5 · E 6\nnot reached: 39",
    "markup": "[b]A 13[/b] · B 3\nnot reached: [b]39[/b]",
}


async def _box(selector: str, text: str, in_place: bool) -> tuple[str, bool]:
    app = _Box()
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        widget = app.query_one(selector, Static)
        if in_place:
            show_text(widget, text, in_place=True)
        else:
            widget.update(text)
        laid_out = widget._layout_required
        await pilot.pause()
        return app.export_screenshot(), laid_out


async def test_in_place_shows_what_the_plain_update_shows():
    for name, text in TEXTS.items():
        kept, _ = await _box("#fixed", text, True)
        assert kept == (await _box("#fixed", text, False))[0], name
    kept, _ = await _box("#auto", "a longer text", True)
    assert kept == (await _box("#auto", "a longer text", False))[0]


async def test_in_place_lays_out_only_when_the_size_can_change():
    assert (await _box("#fixed", TEXTS["figures changed, same lines"], True))[1] is False
    assert (await _box("#fixed", TEXTS["markup"], True))[1] is False
    for name in ("a line more", "a line less", "a line that wraps at 24"):
        assert (await _box("#fixed", TEXTS[name], True))[1] is True, name
    assert (await _box("#auto", "a longer text", True))[1] is True   # width follows text
    assert (await _box("#auto", "tiny", True))[1] is True
