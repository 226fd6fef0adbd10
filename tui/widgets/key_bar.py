"""The key bar: the screen's keys on the bottom line, drawn as one widget.

It shows what Textual's ``Footer`` shows, the same way (the bindings with ``show=True``
that apply now, one per action; a binding whose ``check_action`` says None dimmed, one
that says False left out; the command palette's key on the right), and a click on a key
presses it. Where the keys do not fit (80 columns), whole keys leave the bar, help, pause
and the way back last (:data:`KEPT`), instead of the line being cut. The ``Footer`` builds a widget per key and rebuilds them all whenever the
bindings may have changed (every focus change, every ``refresh_bindings``): about a
third of the time a caller waited for the next customer, and a few MB a screen. The
key bar keeps a list of :class:`KeyItem` and repaints one line only when that list
changes. ``tests/tui/test_key_bar.py`` holds it to the Footer's picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from tui.stack import shows

# The keys that stay on the bar when not all fit (at 80 columns): help (it lists every
# key that applies), pause, and each screen's way back (escape). The others leave it from
# the last one (the app's "End shift" first: it is ^q everywhere); they still work and
# the help and the command palette list them.
KEPT = frozenset({"help-question", "pause"})


@dataclass(frozen=True)
class KeyItem:
    """One key on the bar."""

    key: str            # what a click presses
    display: str        # how the key is shown ("^n", "↑", "/")
    description: str
    enabled: bool
    tooltip: str = ""
    keep: bool = False  # kept when room is short (see KEPT)


def shown_keys(screen: Screen) -> tuple[tuple[KeyItem, ...], KeyItem | None]:
    """The keys the bar shows for ``screen`` now, and the command palette's key (or None),
    chosen as Textual's Footer chooses them."""
    app = screen.app
    active = screen.active_bindings
    items: list[KeyItem] = []
    actions: set[str] = set()
    for _node, binding, enabled, tooltip in active.values():
        if not binding.show or binding.action in actions:
            continue
        actions.add(binding.action)
        items.append(KeyItem(binding.key, app.get_key_display(binding), binding.description,
                             enabled, tooltip,
                             keep=binding.id in KEPT or binding.key == "escape"))
    palette = None
    if app.ENABLE_COMMAND_PALETTE:
        found = active.get(app.COMMAND_PALETTE_BINDING)
        if found is not None:
            _node, binding, enabled, tooltip = found
            palette = KeyItem(binding.key, app.get_key_display(binding), binding.description,
                              enabled, binding.tooltip or binding.description)
    return tuple(items), palette


class KeyBar(Widget, can_focus=False):
    """The bottom line of a screen: its keys (styles in ``widgets/key_bar.tcss``)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--key-disabled",
        "key-bar--description-disabled",
        "key-bar--hover",
        "key-bar--edge",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.items: tuple[KeyItem, ...] = ()
        self.palette: KeyItem | None = None
        self._spans: list[tuple[int, int, KeyItem]] = []
        self._hover: KeyItem | None = None

    def on_mount(self) -> None:
        # The screen says when its bindings may have changed (after its first layout, and
        # after each refresh_bindings or focus change), as it tells the Footer. A step
        # often says so several times in one turn (a focus change, a screen's own
        # refresh_bindings, a resume: 4-6 times at a call's connect); the keys are worked
        # out once, after the last of them (a signal is handled at the next opportunity
        # anyway, so the bar shows the same keys in the same frame).
        self._asked = False
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_may_change,
                                                      immediate=True)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_may_change(self, screen: Screen) -> None:
        if not self._asked:
            self._asked = True
            self.call_next(self._bindings_changed, screen)

    def _bindings_changed(self, screen: Screen) -> None:
        self._asked = False
        if not self.app.app_focus or screen is not self.screen:
            return  # as the Footer: keys stay as they were while the app has no focus
        if not shows(screen):
            # Nobody sees this bar now (a screen being covered or popped, a kept call
            # screen loaded under its wrap-up): shown again, a screen is resumed, which
            # asks again.
            return
        items, palette = shown_keys(screen)
        if (items, palette) != (self.items, self.palette):
            self.items, self.palette = items, palette
            self.refresh()

    # -- drawing ------------------------------------------------------------------------

    def _item_segments(self, item: KeyItem, compact: bool = False) -> list[Segment]:
        disabled = "" if item.enabled else "-disabled"
        key_style = self.get_component_rich_style(f"key-bar--key{disabled}")
        text_style = self.get_component_rich_style(f"key-bar--description{disabled}")
        if item is self._hover:
            hover = Style(bgcolor=self.get_component_rich_style("key-bar--hover").bgcolor)
            key_style, text_style = key_style + hover, text_style + hover
        if compact:  # the palette's key, as the Footer draws it
            key, description = item.display, f" {item.description}"
        else:
            key, description = f" {item.display} ", f"{item.description} "
        return [Segment(key, key_style), Segment(description, text_style)]

    def render_line(self, y: int) -> Strip:
        """The one line of keys (Textual's line API: the segments are drawn as they are,
        so the empty part of the bar is background only, as in the Footer)."""
        width = self.size.width
        blank = Style(bgcolor=self.rich_style.bgcolor)
        if y:
            return Strip.blank(width, blank)
        spans: list[tuple[int, int, KeyItem]] = []
        segments: list[Segment] = []
        x = 0
        # The palette's key on the right: "▏^p palette ".
        right_width = (3 + cell_len(self.palette.display) + cell_len(self.palette.description)
                       if self.palette is not None else 0)
        for item in self._fitting(width - right_width):
            parts = self._item_segments(item)
            length = sum(cell_len(part.text) for part in parts)
            spans.append((x, x + length, item))
            segments += parts
            x += length
        line = Strip(segments, x)
        if self.palette is not None:
            edge = Segment("▏", self.get_component_rich_style("key-bar--edge"))
            right = Strip([edge, *self._item_segments(self.palette, compact=True),
                           Segment(" ", blank)])
            room = max(width - right.cell_length, 0)
            line = line.crop_extend(0, room, blank)
            spans = [(a, min(b, room), i) for a, b, i in spans if a < room]
            spans.append((room + 1, room + right.cell_length - 1, self.palette))
            line = Strip.join([line, right])
        self._spans = spans
        return line.crop_extend(0, width, blank)

    def _fitting(self, room: int) -> tuple[KeyItem, ...]:
        """The keys to draw in ``room`` cells: when they do not all fit, keys not in
        :data:`KEPT` are left out from the last one until the rest fit (Textual's Footer
        would cut the line, and with it help and pause: the app's keys come last); what is
        left out is still pressed by its key and listed by help and the palette."""
        items = list(self.items)

        def width() -> int:
            return sum(cell_len(i.display) + cell_len(i.description) + 3 for i in items)

        while width() > room:
            drop = next((i for i in reversed(items) if not i.keep), None)
            if drop is None:
                break
            items.remove(drop)
        return tuple(items)

    # -- the mouse ----------------------------------------------------------------------

    def _item_at(self, x: int) -> KeyItem | None:
        return next((item for start, end, item in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self._item_at(event.x)
        if item is not self._hover:
            self._hover = item
            self.tooltip = (item.tooltip or item.description) if item is not None else None
            self.refresh()

    def on_leave(self, _event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        item = self._item_at(event.x)
        if item is None:
            return
        event.stop()
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()
